package patchbuild

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// checkEscapes compares, for every replaced function of a rebuilt package,
// the escape analysis of each parameter in the release and in the patch:
// the release's callers were compiled for the release's, and may have put
// on their stack what the new code would keep. The fingerprint adopted
// from the release (adopt.go) no longer catches it, so a difference is
// refused, naming the parameter.
func (p *Plan) checkEscapes(ctx context.Context, opt Options, root, tmp string) error {
	var lines []string
	for _, rp := range p.rebuilt {
		if len(rp.bparams) == 0 {
			continue
		}
		before, err := escapeDiagnostics(ctx, opt, root, tmp, rp.path, false)
		if err != nil {
			return err
		}
		after, err := escapeDiagnostics(ctx, opt, root, tmp, rp.path, true)
		if err != nil {
			return err
		}
		b, a := byParam(before, rp.bparams), byParam(after, rp.fparams)
		for _, k := range unionKeys(b, a) {
			if b[k] != a[k] {
				sym, param, _ := strings.Cut(k, " ")
				lines = append(lines, escapeLine(rp.path, sym, param, b[k], a[k]))
			}
		}
	}
	if len(lines) > 0 {
		return fmt.Errorf("%w: escape analysis changed:\n%s", ErrRefused, strings.Join(lines, "\n"))
	}
	return nil
}

// byParam keys the diagnostics of the parameters in params ("file:line:col
// name" -> symbol) by "symbol name"; a parameter without one maps to "".
func byParam(diags map[string]string, params map[string]string) map[string]string {
	base := map[string]string{}
	for k, v := range diags {
		pos, name, _ := strings.Cut(k, " ")
		base[filepath.Base(pos)+" "+name] = v
	}
	out := map[string]string{}
	for k, sym := range params {
		_, name, _ := strings.Cut(k, " ")
		out[sym+" "+name] = base[k]
	}
	return out
}
