package hotfix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/ledger"
)

// TestStartAfterAnotherInstance starts an agent on ledgers an earlier
// process left: issue 22's restart and bad-ledger cases. Each failed on the
// agent that keyed instances by PID and refused to start on a bad file.
func TestStartAfterAnotherInstance(t *testing.T) {
	t.Setenv("HOTFIX_POLICY", "")
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	tests := []struct {
		name   string
		ledger string
		check  func(t *testing.T, a *Agent, state string)
	}{{
		// A container's service is PID 1 at every start: the same PID,
		// another process. Its "applied" describes code that is gone.
		name:   "applied by the same PID",
		ledger: fmt.Sprintf(`{"format": 1, "entries": [{"id": "p1", "file": "p1.so", "state": "applied", "pid": %d, "updated_at": %q}]}`, os.Getpid(), stamp),
		check: func(t *testing.T, a *Agent, state string) {
			es, err := ledger.Read(state)
			if err != nil || len(es) != 1 || es[0].State != ledger.Reverted {
				t.Errorf("ledger after start: %+v, %v; want p1 reverted", es, err)
			}
		},
	}, {
		// What the agent before file_bytes wrote for "a\xff.so" and
		// "a\xfe.so": one name twice, a duplicate key.
		name:   "duplicate key",
		ledger: `{"format": 1, "entries": [{"file": "a\ufffd.so", "sha256": "11", "state": "refused"}, {"file": "a\ufffd.so", "sha256": "11", "state": "refused"}]}`,
		check:  checkAside(ledger.ErrCorrupt),
	}, {
		name:   "not JSON",
		ledger: "\x00\x00\x00",
		check:  checkAside(ledger.ErrCorrupt),
	}, {
		name:   "a newer format",
		ledger: `{"format": 9, "entries": []}`,
		check:  checkAside(ledger.ErrUnsupportedFormat),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			state := filepath.Join(root, "state")
			mkdir(t, state)
			mkdir(t, filepath.Join(root, "patches"))
			writeFile(t, filepath.Join(state, "ledger.json"), tt.ledger)
			writeFile(t, filepath.Join(root, "hotfix.yaml"), policyText(root, 5))
			a := startAgent(t, filepath.Join(root, "hotfix.yaml"))
			tt.check(t, a, state)
		})
	}
}

// checkAside: the agent started, the bad file is kept beside the new
// ledger, and the ledger works.
func checkAside(want error) func(t *testing.T, a *Agent, state string) {
	return func(t *testing.T, a *Agent, state string) {
		aside, _ := filepath.Glob(filepath.Join(state, "ledger.json.bad-*"))
		if len(aside) != 1 {
			t.Errorf("bad ledger moved to %q, want one ledger.json.bad-TIME", aside)
		}
		if err := a.ledger.Record(ledger.Entry{ID: "p", File: "p.so", State: ledger.Applied}); err != nil {
			t.Errorf("Record after start: %v", err)
		}
		if _, err := ledger.Read(state); err != nil {
			t.Errorf("Read after start: %v", err)
		}
		if !errors.Is(a.ledger.Aside, want) {
			t.Errorf("Aside = %v, want %v", a.ledger.Aside, want)
		}
	}
}

// TestFileKeySeesReplacement: a different patch of the same size put in
// place with the old mtime, by rename or in place, is a new version of the
// file. Size and mtime alone called it the same file.
func TestFileKeySeesReplacement(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fix.so")
	writeFile(t, path, "patch one")
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	before, mtime := fileKeyOf(st), st.ModTime()
	time.Sleep(10 * time.Millisecond) // the clock must move for ctime to
	for _, how := range []string{"rename", "in place"} {
		switch how {
		case "rename":
			writeFile(t, path+".new", "patch two")
			if err := os.Chtimes(path+".new", mtime, mtime); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(path+".new", path); err != nil {
				t.Fatal(err)
			}
		case "in place":
			writeFile(t, path, "patch 3!!")
			if err := os.Chtimes(path, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		st, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != 9 || !st.ModTime().Equal(mtime) {
			t.Fatalf("%s: size %d, mtime %v: the test must keep both", how, st.Size(), st.ModTime())
		}
		if after := fileKeyOf(st); after == before {
			t.Errorf("%s: fileKey %+v unchanged: the agent would keep the old bytes", how, after)
		}
		before = fileKeyOf(st)
		time.Sleep(10 * time.Millisecond)
	}
}
