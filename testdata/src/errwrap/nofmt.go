package errwrap

import (
	"encoding/json"
	"os"
	"strconv"
)

// withoutFmtImport: this file does not import fmt. Reported: the fix (a source
// suggestion; a build never applies error-wrap) adds the import.
func withoutFmtImport(p string) (map[string]int, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err // want "error-wrap"
	}
	m := map[string]int{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err // want "error-wrap"
	}
	return m, nil
}

// atoiWithoutFmt: single error result, no fmt import.
func atoiWithoutFmt(s string) error {
	if _, err := strconv.Atoi(s); err != nil {
		return err // want "error-wrap"
	}
	return nil
}
