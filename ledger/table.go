package ledger

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable prints entries as `hotfix status` does, one line each; the
// agent's status handler answers text/plain with the same table.
func WriteTable(w io.Writer, entries []Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tVERSION\tFILE\tFUNCTIONS\tUPDATED\tREASON")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", e.State, e.Version, e.File, len(e.Targets), e.UpdatedAt.Local().Format(time.DateTime), e.Reason)
	}
	return tw.Flush()
}
