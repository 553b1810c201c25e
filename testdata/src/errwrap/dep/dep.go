// Package dep is a non-std dependency of package errwrap.
package dep

import "errors"

// Check fails for an empty name.
func Check(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	return nil
}
