// Package hotfix lets a running Go service take bug fixes without a
// restart. The service calls Start from main; from then on the agent watches
// the patch directory named in hotfix.yaml, checks every patch file that
// appears against the policy and this exact binary, loads it with the
// plugin package and redirects the fixed functions to their new code while
// the world is stopped. Deleting the file reverts the fix. A ledger in the
// state directory records what is applied, across restarts.
//
// The directory is the desired state and the ledger the actual state: the
// agent reconciles the two at start-up and on every change, on one
// goroutine, one patch at a time.
package hotfix
