// Package forgetclose ports the shapes of lance6716/forgetclose's testdata. The
// upstream suite configures it with -type database/sql.Rows and a custom Closer
// type; the custom-Closer shapes are ported with standard io.Closer resources.
// A value of a checked type that is not closed is reported where it is obtained.
package forgetclose

import (
	"context"
	"database/sql"
)

var (
	cx context.Context
	pg *sql.DB
)

// nextOnly advances once and never closes.
func nextOnly() {
	cur, _ := pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	cur.Next()
}

// closedDirectly closes straight away.
func closedDirectly() {
	cur, _ := pg.Query("SELECT label FROM tags")
	cur.Close()
}

// someOfFive opens five cursors and closes three of them.
func someOfFive() {
	a, _ := pg.Query("SELECT label FROM tags")
	b, _ := pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	a.Close()
	c, _ := pg.Query("SELECT label FROM tags")
	d, _ := pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	e, _ := pg.Query("SELECT label FROM tags")
	e.Close()
	c.Close()
	b.Next()
	d.Next()
}

// overwrittenBeforeClose reassigns the variable; the first cursor is lost.
func overwrittenBeforeClose() {
	cur, _ := pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	cur, _ = pg.Query("SELECT label FROM tags")
	cur.Close()
}

// closedOnlyWhenEven closes on one branch of an if.
func closedOnlyWhenEven() {
	cur, _ := pg.Query("SELECT n FROM counters") // want "rows-not-closed"
	var n int
	cur.Scan(&n)
	if n%2 == 0 {
		cur.Close()
	}
}

// closedAfterErrChecks closes on every path that has rows.
func closedAfterErrChecks() {
	cur, err := pg.Query("SELECT label FROM tags")
	if err != nil {
		return
	}
	cur.Close()

	cur, err = pg.Query("SELECT label FROM tags")
	if err == nil {
		cur.Close()
	}
}

// discardedCursor keeps only the error.
func discardedCursor() {
	_, err := pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	if err != nil {
		return
	}
}

// loopReturnsEarly closes the first cursor, but the second returns from its loop.
func loopReturnsEarly() {
	cur, err := pg.Query("SELECT label FROM tags")
	if err != nil {
		return
	}
	for cur.Next() {
		var s string
		cur.Scan(&s)
	}
	cur.Close()

	cur, _ = pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	for cur.Next() {
		var s string
		cur.Scan(&s)
		if s == "" {
			return
		}
	}
	cur.Close()
}

// deferredThenReassigned defers the first close; the second cursor is lost.
func deferredThenReassigned() {
	cur, err := pg.Query("SELECT label FROM tags")
	if err != nil {
		return
	}
	defer cur.Close()

	cur, err = pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	if err != nil {
		return
	}
}

// deferredLiteralCloses closes in a deferred literal.
func deferredLiteralCloses() {
	cur, _ := pg.Query("SELECT label FROM tags")
	defer func() {
		cur.Close()
	}()
}

// deferredLiteralOnlyAdvances defers a literal that does not close.
func deferredLiteralOnlyAdvances() {
	cur, _ := pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	defer func() {
		cur.Next()
	}()
}

// deferredNext defers something other than Close.
func deferredNext() {
	cur, _ := pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	defer cur.Next()
}

// fallbackQuery returns a fresh query on error, the first cursor otherwise.
func fallbackQuery() (*sql.Rows, error) {
	cur, err := pg.Query("SELECT label FROM tags")
	if err != nil {
		return pg.Query("SELECT label FROM tags_backup")
	}
	cur.Next()
	return cur, nil
}

func runCloser(fn func() error) {
	fn()
}

// closeMethodValue passes the Close method value to a deferred helper.
func closeMethodValue() {
	cur, _ := pg.Query("SELECT label FROM tags")
	defer runCloser(cur.Close)
}

func consumeAndClose(r *sql.Rows) {
	for r.Next() {
		var s string
		r.Scan(&s)
	}
	r.Close()
}

func consumeOnly(r *sql.Rows) {
	for r.Next() {
		var s string
		r.Scan(&s)
	}
}

// viaHelpers gives one cursor to a closing helper and one to a reading helper.
func viaHelpers() {
	cur, _ := pg.Query("SELECT label FROM tags")
	consumeAndClose(cur)

	cur, _ = pg.Query("SELECT label FROM tags") // want "rows-not-closed"
	consumeOnly(cur)
}

// produceCursor returns rows to its caller.
func produceCursor() *sql.Rows {
	cur, _ := pg.Query("SELECT label FROM tags")
	return cur
}

// producedCursors closes the first produced cursor only.
func producedCursors() {
	cur := produceCursor()
	cur.Close()
	cur = produceCursor() // want "rows-not-closed"
	produceCursor()       // want "rows-not-closed"
}

type cursorBox struct {
	cur *sql.Rows
}

// closedThroughField stores the cursor in a struct and closes through the field.
func closedThroughField() {
	cur, _ := pg.Query("SELECT label FROM tags")
	box := cursorBox{cur: cur}
	box.cur.Close()
}

// contextCursorLost uses QueryContext and forgets to close.
func contextCursorLost() int {
	cur, err := pg.QueryContext(cx, "SELECT label FROM tags") // want "rows-not-closed"
	if err != nil {
		return 0
	}
	n := 0
	for cur.Next() {
		n++
		if n > 10 {
			break
		}
	}
	return n
}
