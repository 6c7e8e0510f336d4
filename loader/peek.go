package loader

import (
	"bytes"
	"encoding/json"
)

// PeekManifest reads only the trailer and manifest of a patch file, for
// ordering patches at start-up without reading whole files. Nothing it
// returns is verified: every decision is made on what ReadFile returns.
func PeekManifest(path string) (Manifest, error) {
	var m Manifest
	f, err := openNoBlock(path, true) // a FIFO at start-up must not block the agent
	if err != nil {
		return m, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return m, err
	}
	if st.Size() < footerLen {
		return m, errorf(ErrFormat, "%d bytes is too short for a patch", st.Size())
	}
	var fb [footerLen]byte
	if _, err := f.ReadAt(fb[:], st.Size()-footerLen); err != nil {
		return m, err
	}
	ft, err := parseFooter(fb[:], st.Size())
	if err != nil {
		return m, err
	}
	js := make([]byte, ft.manLen)
	if _, err := f.ReadAt(js, ft.elfLen); err != nil {
		return m, err
	}
	if err := json.NewDecoder(bytes.NewReader(js)).Decode(&m); err != nil {
		return m, errorf(ErrFormat, "manifest: %v", err)
	}
	return m, nil
}
