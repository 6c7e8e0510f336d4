package hotfix

import (
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strings"

	"github.com/gohotfix/hotfix/ledger"
)

// StatusReport is what the status handler answers in JSON.
type StatusReport struct {
	PID       int           `json:"pid"`
	BuildID   string        `json:"build_id"`
	GoVersion string        `json:"go_version"`
	Patches   []PatchStatus `json:"patches"`
}

// Handler returns a read-only HTTP handler that reports the patches of
// this process: JSON (StatusReport) by default, and the `hotfix status`
// table to a client that accepts text/plain and not JSON. Methods other
// than GET and HEAD get 405. Mount it on an admin listener, never on a
// public one: it names the functions that were vulnerable.
func (a *Agent) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "hotfix status is read-only", http.StatusMethodNotAllowed)
			return
		}
		patches := a.Status()
		w.Header().Set("Cache-Control", "no-store")
		if wantsText(r.Header.Values("Accept")) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			ledger.WriteTable(w, statusRows(patches))
			return
		}
		rep := StatusReport{PID: os.Getpid(), GoVersion: runtime.Version(), Patches: patches}
		if a.self != nil {
			rep.BuildID = a.self.BuildID()
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	})
}

// wantsText tells a client that asks for the table (curl -H 'Accept:
// text/plain') from one that takes anything (curl's */*) or JSON.
func wantsText(accept []string) bool {
	all := strings.Join(accept, ",")
	return strings.Contains(all, "text/plain") && !strings.Contains(all, "application/json")
}

func statusRows(ps []PatchStatus) []ledger.Entry {
	rows := make([]ledger.Entry, 0, len(ps))
	for _, p := range ps {
		reason := p.Reason
		if p.Revoked != "" {
			// The table has no column for it, and an applied patch has no
			// other reason: this is the line an operator must not miss.
			reason = strings.TrimSuffix("signer revoked: "+p.Revoked+"; "+reason, "; ")
		}
		rows = append(rows, ledger.Entry{ID: p.ID, Version: p.Version, File: p.File, SHA256: p.SHA256, Targets: p.Functions,
			State: p.State, Reason: reason, AppliedAt: p.AppliedAt, UpdatedAt: p.UpdatedAt})
	}
	return rows
}
