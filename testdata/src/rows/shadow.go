package rows

import "database/sql"

// fakeDB, fakeRows and fakeOpener stand in for unknown third-party types.
type fakeDB struct{}

type fakeRows struct{}

type fakeOpener struct{}

func (fakeDB) Query(q string, args ...any) (*fakeRows, error) { return &fakeRows{}, nil }

func (*fakeRows) Next() bool { return false }

func (*fakeRows) Close() error { return nil }

func (fakeOpener) Open(driver, dsn string) (fakeDB, error) { return fakeDB{}, nil }

// shadowedSQLPackage: the local named sql hides database/sql.
func shadowedSQLPackage() error {
	sql := fakeOpener{}
	db, err := sql.Open("postgres", "dsn")
	if err != nil {
		return err
	}
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	_ = rows.Next()
	return nil
}

// shadowedDBVar: the *sql.DB parameter is shadowed by a fake in an inner scope.
func shadowedDBVar(db *sql.DB, useFake bool) error {
	if useFake {
		db := fakeDB{}
		rows, err := db.Query("SELECT 1")
		if err != nil {
			return err
		}
		_ = rows.Next()
	}
	return db.Ping()
}

// unknownReceiverType: the receiver is not a database/sql type.
func unknownReceiverType(db fakeDB) bool {
	rows, _ := db.Query("SELECT 1")
	return rows.Next()
}
