package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// CanonicalJSON encodes v as the audit log stores a detail: the JSON that
// encoding/json writes for it, decoded and written again so that every
// object's keys are sorted (by their UTF-8 bytes) whatever v was (a
// struct, a map), with no insignificant white space, numbers kept as
// written, and every control character, including DEL and the C1 range
// U+0080–U+009F, escaped as \uXXXX, so that no detail can drive a
// terminal it is shown on. nil encodes as {}.
//
// (RFC 8785's JSON Canonicalization Scheme sorts keys by UTF-16 units and
// rewrites numbers; the audit log needs only one fixed form of its own,
// since the hash covers the stored text, so no dependency is taken for it.)
func CanonicalJSON(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return canonicalize(raw)
}

// canonicalize rewrites a JSON text in canonical form.
func canonicalize(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not one JSON value")
	}
	out, err := json.Marshal(tree) // maps: keys sorted
	if err != nil {
		return nil, err
	}
	return escapeControls(out), nil
}

// escapeControls escapes DEL and the C1 controls, which encoding/json
// leaves as they are. Outside strings JSON holds only ASCII, so every such
// rune is inside a string, where \u00XX means the same.
func escapeControls(b []byte) []byte {
	if !bytes.ContainsFunc(b, isC1) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if isC1(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

func isC1(r rune) bool { return r >= 0x7f && r <= 0x9f }
