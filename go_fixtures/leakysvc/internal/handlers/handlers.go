// Package handlers holds the HTTP handlers of leakysvc.
//
// Three of them leak a resource the way production code often does: the
// error is checked, the happy path forgets Close. Each leaking acquisition
// carries a trailing "LEAK(<rule>)" comment that the integration tests use
// to locate it; do not remove those markers.
package handlers

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"time"
)

// Server carries the dependencies the handlers need.
type Server struct {
	db       *sql.DB
	client   *http.Client
	backend  string
	datafile string
}

// New returns a Server. backend is a base URL such as http://127.0.0.1:8081.
func New(db *sql.DB, backend, datafile string) *Server {
	return &Server{
		db: db,
		client: &http.Client{
			// No Client.Timeout: it would tear leaked bodies down after a
			// while and hide the leak. Only bound the wait for headers.
			Transport: &http.Transport{ResponseHeaderTimeout: 5 * time.Second},
		},
		backend:  backend,
		datafile: datafile,
	}
}

// Routes registers every handler on a new mux.
func (s *Server) Routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/users", s.FirstUser)
	mux.HandleFunc("/users/all", s.AllUsers)
	mux.HandleFunc("/proxy", s.Proxy)
	mux.HandleFunc("/file", s.FileHead)
	mux.HandleFunc("/debug/stats", s.Stats)
	return mux
}

// poolExhausted reports whether every allowed connection is checked out.
// Handlers shed load with 503 instead of queueing behind a full pool.
func (s *Server) poolExhausted() bool {
	st := s.db.Stats()
	return st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections
}

// FirstUser writes the first user. It reads one row and returns, and never
// closes rows, so the connection stays checked out of the pool.
func (s *Server) FirstUser(w http.ResponseWriter, r *http.Request) {
	if s.poolExhausted() {
		http.Error(w, "database pool exhausted", http.StatusServiceUnavailable)
		return
	}
	// Keep the request's values but let the query outlive a client that
	// hangs up (database/sql would otherwise close rows on cancellation).
	ctx := context.WithoutCancel(r.Context())
	rows, err := s.db.QueryContext(ctx, "SELECT id, name FROM users ORDER BY id") // LEAK(rows-not-closed)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	var id int
	var name string
	if rows.Next() {
		if err := rows.Scan(&id, &name); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	fmt.Fprintf(w, "%d %s\n", id, name)
}

// AllUsers is the correct version: it closes rows and checks rows.Err.
func (s *Server) AllUsers(w http.ResponseWriter, r *http.Request) {
	if s.poolExhausted() {
		http.Error(w, "database pool exhausted", http.StatusServiceUnavailable)
		return
	}
	rows, err := s.db.QueryContext(r.Context(), "SELECT id, name FROM users ORDER BY id")
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d %s\n", id, name)
	}
	if err := rows.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// Proxy fetches the backend's /data and relays its first bytes. The body is
// never closed, so each call strands a connection and its two goroutines.
func (s *Server) Proxy(w http.ResponseWriter, r *http.Request) {
	resp, err := s.client.Get(s.backend + "/data") // LEAK(body-not-closed)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	head := make([]byte, 16)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(head[:n])
}

// FileHead writes the first bytes of the data file. The file is never
// closed; its descriptor stays open until a garbage collection finalizes it.
func (s *Server) FileHead(w http.ResponseWriter, r *http.Request) {
	f, err := os.Open(s.datafile) // LEAK(file-not-closed)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	head := make([]byte, 64)
	n, err := f.Read(head)
	if err != nil && err != io.EOF {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(head[:n])
}

// StatsReport is the body of /debug/stats.
type StatsReport struct {
	DBInUse    int `json:"db_in_use"`
	DBOpen     int `json:"db_open"`
	Goroutines int `json:"goroutines"`
	OpenFDs    int `json:"open_fds"`
}

// Stats reports pool, goroutine and descriptor counts. It must not force a
// garbage collection: that would close leaked *os.File values.
func (s *Server) Stats(w http.ResponseWriter, r *http.Request) {
	st := s.db.Stats()
	rep := StatsReport{
		DBInUse:    st.InUse,
		DBOpen:     st.OpenConnections,
		Goroutines: runtime.NumGoroutine(),
		OpenFDs:    countFDs(),
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rep)
}

// countFDs returns the number of open descriptors, or -1 off Linux.
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
