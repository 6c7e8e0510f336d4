// Command unsafepoints prints, as JSON, what loader.Self reads of a few
// functions of its own: entry, size and async-safe offsets. TestUnsafePointFacts
// builds it (go test strips the binaries it runs, so the test binary has no
// symbol table to read) and checks the facts the patcher relies on.
package main

import (
	"encoding/json"
	"os"
	"reflect"

	"github.com/gohotfix/hotfix/loader"
)

//go:noinline
func leafAdd(a, b int) int { return a*3 + b }

//go:nosplit
//go:noinline
func nosplitAdd(a, b int) int { return a*3 + b }

//go:noinline
func framed(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s + len(make([]byte, xs[0]))
}

type result struct {
	loader.FuncInfo
	Runtime uintptr // the entry the runtime reports
	Err     string
}

func main() {
	bin, err := loader.Self()
	if err != nil {
		panic(err)
	}
	out := map[string]result{}
	for name, fn := range map[string]any{"leafAdd": leafAdd, "nosplitAdd": nosplitAdd, "framed": framed} {
		fi, err := bin.FuncInfo("main." + name)
		r := result{FuncInfo: fi, Runtime: reflect.ValueOf(fn).Pointer()}
		if err != nil {
			r.Err = err.Error()
		}
		out[name] = r
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
