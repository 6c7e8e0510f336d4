package prologue

import (
	"strings"
	"testing"
)

func safe(n int) []bool {
	s := make([]bool, n)
	for i := range s {
		s[i] = true
	}
	return s
}

func unsafeAll(n int) []bool { return make([]bool, n) }

// pad appends the INT3 padding the linker puts after a function.
func pad(code ...byte) []byte { return append(code, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC) }

func TestPlanFor(t *testing.T) {
	tests := []struct {
		name      string
		code      []byte
		asyncSafe []bool
		want      Plan   // when err is ""
		err       string // substring of the refusal
		reason    string
	}{
		{"small-frame stack check", pad(0x49, 0x3b, 0x66, 0x10, 0x76, 0x27, 0x55), safe(7), Plan{Shape: "small-frame stack check"}, "",
			"obj6.go marks the check unsafe"},
		{"6-byte first instruction", pad(0x48, 0x3d, 0x10, 0x27, 0, 0, 0xc3), safe(7), Plan{Shape: "no stack check, first instruction CMP RAX, 0x2710 (6 bytes) covers the jump"}, "",
			"no boundary inside the jump"},
		{"short first instruction", pad(0x48, 0x01, 0xd8, 0xc3), safe(4), Plan{Shape: "no stack check, first instruction ADD RAX, RBX (3 of 5 bytes)", Guard: true, Lo: 1, Hi: 4}, "",
			"a goroutine may be parked at +3; the window ends with the function"},
		{"nosplit", pad(0x48, 0x01, 0xd8, 0xc3), unsafeAll(4), Plan{Shape: "4-byte function, padding after it"}, "",
			"every instruction unsafe: no goroutine parked inside"},
		{"nosplit, longer", pad(0x48, 0x0f, 0xaf, 0xc3, 0x48, 0xff, 0xc0, 0xc3), unsafeAll(8), Plan{Shape: "no async safe point in the first 5 bytes (nosplit)"}, "",
			"every instruction unsafe"},
		{"loop at the entry", pad(0x90, 0x8b, 0x08, 0x85, 0xc9, 0x74, 0xf9, 0xc3), safe(8), Plan{Shape: "leaf that loops back to its entry", Guard: true, Lo: 0, Hi: 8}, "",
			"a goroutine still in the loop would jump back onto the jump"},
		{"loop at the entry, nosplit", pad(0x90, 0x8b, 0x08, 0x85, 0xc9, 0x74, 0xf9, 0xc3), unsafeAll(8), Plan{Shape: "no async safe point, loops back to its entry"}, "",
			"no goroutine can be stopped inside it"},
		{"loop into the jump, with a call", pad(0x48, 0x01, 0xd8, 0xe8, 0, 0, 0, 0, 0xeb, 0xf6, 0xc3), safe(11), Plan{}, "calls other functions",
			"a goroutine inside it may be parked at any depth"},
		{"call returns inside the jump", pad(0xff, 0xd0, 0xc3), safe(3), Plan{}, "a call returns inside",
			"a return address would point into the jump"},
		{"code after a tiny function", []byte{0xc3, 0x90, 0x90, 0x90, 0x90, 0x90}, safe(1), Plan{}, "not padding",
			"the jump would overwrite the next function"},
		{"undecodable", pad(0x48, 0x01, 0xd8, 0x0f, 0x04, 0xc3), safe(6), Plan{}, "decode",
			"never guess at code we cannot read"},
		{"no table", pad(0xc3), nil, Plan{}, "no unsafe-point table", "the size comes with the table"},
		{"code shorter than the function", []byte{0x48, 0x01, 0xd8, 0xc3, 0xcc}, safe(8), Plan{}, "5 bytes of code for a function of 8 bytes", "never decode past what was read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planAmd64(Func{Code: tt.code, AsyncSafe: tt.asyncSafe})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Check = %+v, %v; want an error with %q (%s)", got, err, tt.err, tt.reason)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Check = %+v, %v\nwant %+v (%s)", got, err, tt.want, tt.reason)
			}
		})
	}
}

// FuzzPlanFor: code read from a binary named by `hotfix verify -binary` goes
// through Check; no bytes may make it panic, and a plan's window lies in
// the function.
func FuzzPlanFor(f *testing.F) {
	f.Add(pad(0x90, 0x8b, 0x08, 0x85, 0xc9, 0x74, 0xf9, 0xc3), uint8(8), uint8(0xff))
	f.Add(pad(0x48, 0x01, 0xd8, 0xc3), uint8(4), uint8(0))
	f.Add(pad(0x49, 0x3b, 0x66, 0x10, 0x76, 0x27, 0x55), uint8(7), uint8(0x0f))
	f.Fuzz(func(t *testing.T, code []byte, size, safeBits uint8) {
		as := make([]bool, int(size))
		for i := range as {
			as[i] = safeBits&(1<<(i%8)) != 0
		}
		plan, err := planAmd64(Func{Code: code, AsyncSafe: as})
		if err == nil && plan.Guard && (plan.Lo < 0 || plan.Hi > max(len(as), amd64JumpLen) || plan.Lo >= plan.Hi) {
			t.Fatalf("window [%d, %d) of a %d-byte function", plan.Lo, plan.Hi, len(as))
		}
	})
}
