package hotfix

import (
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name         string
		prevSHA, sha string
		known        knownPatch
		want         action
		replaced     bool
		reason       string
	}{
		{"new file, new patch", "", "a", unknownID, admitOpen, false, "the everyday drop"},
		{"touched", "a", "a", appliedNow, ignoreTouched, false, "mtime changed, bytes did not: nothing to do"},
		{"touched, refused before", "a", "a", unknownID, ignoreTouched, false, "a refused file is not looked at again until its bytes change"},
		{"rewritten in place", "a", "b", unknownID, admitOpen, true, "the old patch goes first, then the new bytes are admitted"},
		{"same ID, other bytes", "", "b", otherBytes, refuseIDClash, false, "a patch ID names one build; a second plugin.Open of the same path fails"},
		{"open failed earlier", "", "a", failedOpen, refuseFailedOpen, false, "a failed plugin.Open poisons later loads of the same plugin"},
		{"same patch under another name", "", "a", appliedNow, ignoreDuplicate, false, "applied once; the second name keeps it applied"},
		{"re-drop after a revert", "", "a", loadedNotApplied, admitReapply, false, "plugins never unload: re-apply the loaded copy, after every check again"},
		{"re-drop over another file", "x", "a", loadedNotApplied, admitReapply, true, "the old file's patch goes first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			act, replaced := decide(tt.prevSHA, tt.sha, tt.known)
			if act != tt.want || replaced != tt.replaced {
				t.Errorf("decide = %v, %v; want %v, %v (%s)", act, replaced, tt.want, tt.replaced, tt.reason)
			}
		})
	}
}

func TestKnow(t *testing.T) {
	loaded := &patchState{sha: "a", loaded: nil}
	if k := know(nil, "a"); k != unknownID {
		t.Errorf("nil: %v", k)
	}
	if k := know(&patchState{sha: "b"}, "a"); k != otherBytes {
		t.Errorf("other bytes: %v", k)
	}
	if k := know(loaded, "a"); k != failedOpen {
		t.Errorf("never opened: %v", k)
	}
	opened := &patchState{sha: "a", loaded: &loader.Loaded{}}
	if k := know(opened, "a"); k != loadedNotApplied {
		t.Errorf("loaded, not applied: %v", k)
	}
	opened.applied = true
	if k := know(opened, "a"); k != appliedNow {
		t.Errorf("applied: %v", k)
	}
}
