package stmts

import "database/sql"

type stmtHolder struct {
	insert *sql.Stmt
}

var cachedStmt *sql.Stmt

// transferredOnSomePaths returns the statement on one path and drops it on
// another: reported, but without a fix.
func transferredOnSomePaths(db *sql.DB, keep bool) (*sql.Stmt, error) {
	stmt, err := db.Prepare("SELECT 1") // want "stmt-not-closed"
	if err != nil {
		return nil, err
	}
	if keep {
		return stmt, nil
	}
	return nil, nil
}

// storedOnSomePaths stores the statement only when keep is set: reported,
// no fix.
func (h *stmtHolder) storedOnSomePaths(db *sql.DB, keep bool) error {
	stmt, err := db.Prepare("INSERT INTO t DEFAULT VALUES") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	if keep {
		h.insert = stmt
	}
	return nil
}

// returned hands the statement to the caller.
func returned(db *sql.DB) (*sql.Stmt, error) {
	stmt, err := db.Prepare("SELECT 1")
	if err != nil {
		return nil, err
	}
	return stmt, nil
}

// returnedDirectly returns the Prepare results unchanged.
func returnedDirectly(tx *sql.Tx) (*sql.Stmt, error) {
	return tx.Prepare("SELECT 1")
}

// storedInField keeps the statement in a struct field.
func (h *stmtHolder) storedInField(db *sql.DB) error {
	stmt, err := db.Prepare("INSERT INTO t DEFAULT VALUES")
	if err != nil {
		return err
	}
	h.insert = stmt
	return nil
}

// storedInGlobal keeps the statement in a package-level variable.
func storedInGlobal(db *sql.DB) error {
	stmt, err := db.Prepare("SELECT 1")
	if err != nil {
		return err
	}
	cachedStmt = stmt
	return nil
}

// storedInMap keeps the statement in a caller-owned cache.
func storedInMap(db *sql.DB, cache map[string]*sql.Stmt, q string) error {
	stmt, err := db.Prepare(q)
	if err != nil {
		return err
	}
	cache[q] = stmt
	return nil
}

// returnedInStruct hands the statement to the caller inside a holder.
func returnedInStruct(db *sql.DB) (*stmtHolder, error) {
	stmt, err := db.Prepare("INSERT INTO t DEFAULT VALUES")
	if err != nil {
		return nil, err
	}
	return &stmtHolder{insert: stmt}, nil
}

// passedToClosingHelper: execAndClose closes its parameter.
func passedToClosingHelper(db *sql.DB) error {
	stmt, err := db.Prepare("DELETE FROM t")
	if err != nil {
		return err
	}
	return execAndClose(stmt)
}

func execAndClose(s *sql.Stmt) error {
	_, err := s.Exec()
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// passedToUnknownFunc: use is unknown and may take ownership.
func passedToUnknownFunc(db *sql.DB, use func(*sql.Stmt)) error {
	stmt, err := db.Prepare("SELECT 1")
	if err != nil {
		return err
	}
	use(stmt)
	return nil
}

// closedByGoroutine hands the statement to a goroutine that closes it.
func closedByGoroutine(db *sql.DB, done chan<- error) error {
	stmt, err := db.Prepare("DELETE FROM t")
	if err != nil {
		return err
	}
	go func() {
		defer stmt.Close()
		_, err := stmt.Exec()
		done <- err
	}()
	return nil
}
