package errwrap

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	"rehabtest/errwrap/dep"
)

type config struct {
	Name string
	Port int
}

// readConfig returns the ReadFile and Unmarshal errors unwrapped.
func readConfig(p string) (*config, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err // want "error-wrap"
	}
	var c config
	err = json.Unmarshal(b, &c)
	if err != nil {
		return nil, err // want "error-wrap"
	}
	return &c, nil
}

// parsePort returns a single error result.
func parsePort(s string) error {
	_, err := strconv.Atoi(s)
	if err != nil {
		return err // want "error-wrap"
	}
	return nil
}

// ifInit assigns err in the if statement's init.
func ifInit(p string) error {
	if err := os.Remove(p); err != nil {
		return err // want "error-wrap"
	}
	return nil
}

// threeResults returns the error as the last of three results.
func threeResults(p string) (int64, string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 0, "", err // want "error-wrap"
	}
	return st.Size(), st.Name(), nil
}

// chainedMethod gets err from a chain of std methods.
func chainedMethod(db *sql.DB, id int) (string, error) {
	var name string
	if err := db.QueryRow("SELECT name FROM t WHERE id = ?", id).Scan(&name); err != nil {
		return "", err // want "error-wrap"
	}
	return name, nil
}

// afterLogging: other statements before the return.
func afterLogging(name string) ([]byte, error) {
	out, err := exec.Command(name).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "command failed")
		return nil, err // want "error-wrap"
	}
	return out, nil
}

// copyAll: err from a std method on a parameter.
func copyAll(dst io.Writer, src io.Reader) (int64, error) {
	n, err := io.Copy(dst, src)
	if err != nil {
		return n, err // want "error-wrap"
	}
	return n, nil
}

type server struct {
	db *sql.DB
}

// ping: methods are named Type.Method (pointer receiver).
func (s *server) ping() error {
	err := s.db.Ping()
	if err != nil {
		return err // want "error-wrap"
	}
	return nil
}

// load: methods are named Type.Method (value receiver).
func (s server) load(p string) (*config, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err // want "error-wrap"
	}
	defer f.Close()
	var c config
	if err := json.NewDecoder(f).Decode(&c); err != nil {
		return nil, err // want "error-wrap"
	}
	return &c, nil
}

// otherModulePackage: err from a non-std package of this module.
func otherModulePackage(name string) error {
	err := dep.Check(name)
	if err != nil {
		return err // want "error-wrap"
	}
	return nil
}

// inSwitch: the return sits in a switch case.
func inSwitch(p string, mode int) error {
	_, err := os.Lstat(p)
	switch {
	case err != nil && mode > 0:
		return err // want "error-wrap"
	case err != nil:
		return nil
	}
	return nil
}
