package hotfix

// A complete, readable patch file arrives; what the agent does with it
// depends only on what it knew of that file and of that patch ID. decide is
// that choice, pure, so that it is table-tested (decide_test.go); ready
// carries it out.

// knownPatch is what this process knows of a patch ID.
type knownPatch int

const (
	unknownID        knownPatch = iota // never seen
	otherBytes                         // loaded from different bytes under the same ID
	failedOpen                         // seen, and plugin.Open failed: never opened twice
	appliedNow                         // loaded and applied
	loadedNotApplied                   // loaded, not applied (reverted, or refused on a re-drop)
)

// action is what ready does with the file.
type action int

const (
	ignoreTouched    action = iota // the same bytes under the same name: a touch
	refuseIDClash                  // another build reuses a loaded patch's ID
	refuseFailedOpen               // a plugin is opened at most once
	ignoreDuplicate                // the same patch under another name, applied already
	admitReapply                   // every check again, then re-apply the loaded copy
	admitOpen                      // every check, then open and apply
)

// decide chooses what to do with a file whose bytes hash to sha: prevSHA is
// what the same name held before ("" if nothing), known what this process
// knows of the manifest's patch ID. replaced says the file was rewritten in
// place: the patch it held goes first.
func decide(prevSHA, sha string, known knownPatch) (act action, replaced bool) {
	if prevSHA == sha {
		return ignoreTouched, false
	}
	replaced = prevSHA != ""
	switch known {
	case otherBytes:
		return refuseIDClash, replaced
	case failedOpen:
		return refuseFailedOpen, replaced
	case appliedNow:
		return ignoreDuplicate, replaced
	case loadedNotApplied:
		return admitReapply, replaced
	}
	return admitOpen, replaced
}

// know classifies what the agent holds for a patch ID against the bytes
// just read.
func know(ps *patchState, sha string) knownPatch {
	switch {
	case ps == nil:
		return unknownID
	case ps.sha != sha:
		return otherBytes
	case ps.loaded == nil:
		return failedOpen
	case ps.applied:
		return appliedNow
	}
	return loadedNotApplied
}
