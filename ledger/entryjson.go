package ledger

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// A file name is bytes, not text: encoding/json writes invalid UTF-8 as
// U+FFFD, so "a\xff.so" and "a\xfe.so" would read back as one name (and
// one duplicated key). Such a name is also written exactly, base64, in
// file_bytes; readers prefer it, and older readers still see a name.

// plainEntry has Entry's fields without its methods.
type plainEntry Entry

type entryJSON struct {
	plainEntry
	FileBytes []byte `json:"file_bytes,omitempty"`
}

// FileBytes returns a file name's bytes when the name is not UTF-8, for
// the file_bytes of JSON output (the ledger's, `hotfix status -json`, the
// status handler's), and nil otherwise.
func FileBytes(name string) []byte {
	if utf8.ValidString(name) {
		return nil
	}
	return []byte(name)
}

// MarshalJSON writes e with its file name exact.
func (e Entry) MarshalJSON() ([]byte, error) {
	v := entryJSON{plainEntry: plainEntry(e), FileBytes: FileBytes(e.File)}
	if v.FileBytes != nil {
		v.File = strings.ToValidUTF8(e.File, "\uFFFD")
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads an entry written by MarshalJSON.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var v entryJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*e = Entry(v.plainEntry)
	if v.FileBytes != nil {
		e.File = string(v.FileBytes)
	}
	return nil
}
