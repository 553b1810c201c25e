package uncheckederr

import "database/sql"

type store struct {
	db *sql.DB
}

func save(v string) error {
	if v == "" {
		return errNoValue
	}
	return nil
}

func (s *store) flush() (int, error) {
	return 0, s.db.Ping()
}

func (s store) reset() error { return nil }

func pair() (error, int) { return nil, 0 }

func count() int { return 0 }

func logIt(string) {}

type sentinel string

func (e sentinel) Error() string { return string(e) }

const errNoValue = sentinel("no value")

// localFunc drops the error of a same-package function.
func localFunc() {
	save("x") // want "unchecked-error"
}

// localMethods drop errors of same-package methods (pointer and value
// receivers).
func localMethods(s *store) {
	s.flush() // want "unchecked-error"
	s.reset() // want "unchecked-error"
}

// localNoError: same-package calls without an error as last result.
func localNoError() {
	pair()
	count()
	logIt("x")
}

// localChecked handles every error.
func localChecked(s *store) error {
	if err := save("y"); err != nil {
		return err
	}
	if _, err := s.flush(); err != nil {
		return err
	}
	_ = s.reset()
	return nil
}
