package items

import (
	"encoding/base64"
	"strings"
)

// cursorPrefix versions the cursor format so that it can change without
// misreading old cursors.
const cursorPrefix = "c1:"

// EncodeCursor returns the opaque list cursor that resumes a listing after
// the item with the given id (keyset pagination on id).
func EncodeCursor(afterID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + afterID))
}

// DecodeCursor returns the id a cursor resumes after. A cursor that this
// service did not make is an EINVALID error.
func DecodeCursor(cursor string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(raw), cursorPrefix) {
		return "", Errorf(EINVALID, "The cursor is not one this service returned.")
	}
	id := string(raw[len(cursorPrefix):])
	if ValidateID(id) != nil {
		return "", Errorf(EINVALID, "The cursor is not one this service returned.")
	}
	return id, nil
}
