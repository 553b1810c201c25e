package errwrap

import (
	"encoding/json"
	"os"
	"strconv"
)

// withoutFmtImport: this file does not import fmt, so nothing is reported.
func withoutFmtImport(p string) (map[string]int, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	m := map[string]int{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// atoiWithoutFmt: single error result, no fmt import.
func atoiWithoutFmt(s string) error {
	if _, err := strconv.Atoi(s); err != nil {
		return err
	}
	return nil
}
