package mixed

import (
	"database/sql"
	"net/http"
)

// handlerClosureLeaks: the acquisition is inside a func literal; the defer
// belongs to the func literal.
func handlerClosureLeaks(db *sql.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.QueryContext(r.Context(), "SELECT 1") // want "rows-not-closed"
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for rows.Next() { // want "rows-err-not-checked"
		}
		w.WriteHeader(http.StatusOK)
	}
}

// handlerClosureClosed is fine.
func handlerClosureClosed(db *sql.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.QueryContext(r.Context(), "SELECT 1")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		w.WriteHeader(http.StatusOK)
	}
}

// resultFullyDiscarded drops every result of the call: the source fix calls Exec (a build closes
// the rows right after the call).
func resultFullyDiscarded(db *sql.DB) {
	db.Query("DELETE FROM t") // want "rows-not-closed" "unchecked-error"
}
