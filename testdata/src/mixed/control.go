package mixed

import (
	"context"
	"database/sql"
	"net/http"
	"os"
)

// switchCaseReturnLeaks: case 0 returns without closing.
func switchCaseReturnLeaks(db *sql.DB, mode int) (int, error) {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return 0, err
	}
	switch mode {
	case 0:
		return 0, nil
	case 1:
		rows.Close()
		return 1, nil
	default:
		rows.Close()
	}
	return 2, nil
}

// switchAllCasesClose closes in every case and after the switch.
func switchAllCasesClose(db *sql.DB, mode int) (int, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0, err
	}
	switch mode {
	case 0:
		rows.Close()
		return 0, nil
	case 1:
		_ = rows.Close()
		return 1, nil
	}
	rows.Close()
	return 2, nil
}

// switchWithoutDefaultLeaks: when no case matches the file leaks.
func switchWithoutDefaultLeaks(p string, kind string) error {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return err
	}
	switch kind {
	case "a":
		return f.Close()
	case "b":
		f.Close()
		return nil
	}
	return nil
}

// switchWithDefaultClosed: every case, including default, closes.
func switchWithDefaultClosed(p string, kind string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	switch kind {
	case "a":
		return f.Close()
	default:
		f.Close()
	}
	return nil
}

// selectLeaks: the ctx.Done case returns without closing.
func selectLeaks(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
	}
	return rows.Close()
}

// selectAllClose closes on every select case.
func selectAllClose(ctx context.Context, u string, ready <-chan struct{}) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		resp.Body.Close()
		return ctx.Err()
	case <-ready:
	}
	return resp.Body.Close()
}

// nestedIfLeaks: the innermost return leaks.
func nestedIfLeaks(db *sql.DB, a, b bool) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	if a {
		if b {
			return nil
		}
		rows.Close()
		return nil
	}
	return rows.Close()
}

// nestedIfAllClose closes on every nested path.
func nestedIfAllClose(p string, a, b bool) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	if a {
		if b {
			f.Close()
			return nil
		}
		return f.Close()
	}
	f.Close()
	return nil
}

// acquiredInsideIf acquires in a nested block (not a loop): fix rule 1.
func acquiredInsideIf(db *sql.DB, enabled bool) error {
	if enabled {
		rows, err := db.Query("SELECT 1") // want "rows-not-closed"
		if err != nil {
			return err
		}
		for rows.Next() { // want "rows-err-not-checked"
		}
	}
	return nil
}

// acquiredInSwitchCase acquires inside a case clause: fix rule 1.
func acquiredInSwitchCase(u string, mode int) (int, error) {
	switch mode {
	case 1:
		resp, err := http.Head(u) // want "body-not-closed"
		if err != nil {
			return 0, err
		}
		return resp.StatusCode, nil
	default:
		return 0, nil
	}
}

// selectInLoopLeaks: acquisition inside a for loop with a select: no fix.
func selectInLoopLeaks(ctx context.Context, u string, tick <-chan struct{}) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			resp, err := http.Get(u) // want "body-not-closed"
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return nil
			}
			resp.Body.Close()
		}
	}
}
