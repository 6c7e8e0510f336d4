package ledger

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gohotfix/hotfix/internal/printable"
)

// WriteTable prints entries as `hotfix status` does, one line each; the
// agent's status handler answers text/plain with the same table. File
// names come from the patch directory and versions and reasons from patch
// files: every string cell goes through printable.String, so that no
// control byte reaches the terminal and no tab or newline moves a column.
func WriteTable(w io.Writer, entries []Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tVERSION\tFILE\tFUNCTIONS\tUPDATED\tREASON")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", printable.String(string(e.State)), printable.String(e.Version),
			printable.String(e.File), len(e.Targets), e.UpdatedAt.Local().Format(time.DateTime), printable.String(e.Reason))
	}
	return tw.Flush()
}
