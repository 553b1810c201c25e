package main

// No-patch shapes from a review: programs on which an earlier engine made a
// wrong build patch. The value a function gets is not its own to release (a
// wrapper of the module's own ends it, the caller or another value keeps
// using it), or a deferred release is already where it must be. Each line
// shows what such a patch would change: a rollback noted that never ran, a
// descriptor closed under the process, a ticker that stopped ticking.

import (
	"archive/zip"
	"bytes"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"example.com/behaviour/internal/probe"
)

// ticks reports whether c delivers two ticks within a second. A stopped
// ticker delivers at most one, the tick it may have buffered before it
// stopped.
func ticks(c <-chan time.Time) string {
	deadline := time.After(time.Second)
	for i := 0; i < 2; i++ {
		select {
		case <-c:
		case <-deadline:
			return "STOPPED"
		}
	}
	return "ticking"
}

// writeZip writes a zip archive holding one entry and returns its path.
func writeZip(dir, name, entry, content string) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(entry)
	if err != nil {
		panic(err)
	}
	io.WriteString(w, content)
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return writeFile(dir, name, buf.String())
}

// shape: tx-wrapper-ended-by-method

// auditedTx is a transaction type of the module's own: it embeds *sql.Tx and
// its Rollback logs the rollback before doing it. A rollback added by a build
// patch would go through it and log a rollback that never happened.
type auditedTx struct {
	*sql.Tx
	log *strings.Builder
}

func (t *auditedTx) Rollback() error {
	fmt.Fprint(t.log, "rolled back;")
	return t.Tx.Rollback()
}

// refuse ends the transaction by rolling it back and hands err on.
func (t *auditedTx) refuse(err error) error {
	_ = t.Rollback()
	return err
}

func beginAudited(db *sql.DB, log *strings.Builder) (*auditedTx, error) {
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	return &auditedTx{Tx: tx, log: log}, nil
}

// transfer ends its transaction on every path: by refuse or by Commit.
func transfer(db *sql.DB, log *strings.Builder, allowed bool) error {
	tx, err := beginAudited(db, log)
	if err != nil {
		return err
	}
	if !allowed {
		return tx.refuse(errors.New("refused"))
	}
	return tx.Commit()
}

func runTxWrapperEndedByMethod(dir string) string {
	db, counts := openDB(dir)
	var log strings.Builder
	errAllowed := transfer(db, &log, true)
	logAllowed := log.String()
	errRefused := transfer(db, &log, false)
	return fmt.Sprintf("allowed=%v log=%q refused=%v log=%q commits=%d rollbacks=%d unfinished=%d",
		errAllowed, logAllowed, errRefused, log.String(), counts.Commits.Load(), counts.Rollbacks.Load(), counts.Txs.Load())
}

// shape: tx-wrapper-committed

// journalTx embeds *sql.Tx; its Rollback journals the rollback.
type journalTx struct {
	*sql.Tx
	journal *[]string
}

func (t *journalTx) Rollback() error {
	*t.journal = append(*t.journal, "ROLLBACK")
	return t.Tx.Rollback()
}

func beginJournaled(db *sql.DB, journal *[]string) (*journalTx, error) {
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	return &journalTx{Tx: tx, journal: journal}, nil
}

// store commits on success. On failure it leaves the transaction open: a real
// leak, but the only release a patch could add is the type's own Rollback,
// whose journal entry would then also follow every Commit.
func store(db *sql.DB, journal *[]string, ok bool) error {
	tx, err := beginJournaled(db, journal)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("not stored")
	}
	return tx.Commit()
}

func runTxWrapperCommitted(dir string) string {
	db, counts := openDB(dir)
	var journal []string
	errOK := store(db, &journal, true)
	errFail := store(db, &journal, false)
	return fmt.Sprintf("ok=%v fail=%v journal=%q commits=%d rollbacks=%d unfinished=%d",
		errOK, errFail, journal, counts.Commits.Load(), counts.Rollbacks.Load(), counts.Txs.Load())
}

// shape: newfile-stdout

// announce writes a line to the process's standard output through an
// *os.File of its own made from descriptor 1, which it must not close: the
// process writes to descriptor 1 after it returned.
func announce(msg string) error {
	out := os.NewFile(1, "/dev/stdout")
	_, err := fmt.Fprintln(out, msg)
	return err
}

func runNewFileStdout(dir string) string {
	// Descriptor 1 points at a file while announce runs, so that its lines
	// are captured; then it is restored for the rest of the program.
	capture, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		return "create: " + err.Error()
	}
	saved, err := syscall.Dup(1)
	if err != nil {
		return "dup: " + err.Error()
	}
	if err := syscall.Dup3(int(capture.Fd()), 1, 0); err != nil {
		return "redirect: " + err.Error()
	}
	errs := []error{announce("first"), announce("second")}
	restored := syscall.Dup3(saved, 1, 0)
	syscall.Close(saved)
	capture.Close()
	b, err := os.ReadFile(filepath.Join(dir, "stdout"))
	return fmt.Sprintf("errs=%v restored=%v captured=%q err=%v", errs, restored, b, err)
}

// shape: ticker-getter-func-value

// metronome keeps a ticker and hands it out to whoever asks; it stops the
// ticker itself when it is done.
type metronome struct{ t *time.Ticker }

func (m *metronome) ticker() *time.Ticker { return m.t }

// awaitBeat waits for one tick of the ticker get hands out.
func awaitBeat(get func() *time.Ticker) {
	t := get()
	<-t.C
}

func runTickerGetterFuncValue(string) string {
	m := &metronome{t: time.NewTicker(10 * time.Millisecond)}
	defer m.t.Stop()
	awaitBeat(m.ticker)
	return "after one beat: " + ticks(m.t.C)
}

// shape: ticker-getter-interface

type beatSource interface{ Ticker() *time.Ticker }

// pacer keeps a ticker and hands it out through an interface method.
type pacer struct{ t *time.Ticker }

func (p *pacer) Ticker() *time.Ticker { return p.t }

func awaitBeatFrom(s beatSource) {
	t := s.Ticker()
	<-t.C
}

func runTickerGetterInterface(string) string {
	p := &pacer{t: time.NewTicker(10 * time.Millisecond)}
	defer p.t.Stop()
	awaitBeatFrom(p)
	return "after one beat: " + ticks(p.t.C)
}

// shape: ticker-getter-promoted

// clockwork keeps a ticker; band embeds it and so has its getter.
type clockwork struct{ t *time.Ticker }

func (c *clockwork) current() *time.Ticker { return c.t }

type band struct {
	*clockwork
	name string
}

func awaitBandBeat(b band) {
	t := b.current()
	<-t.C
}

func runTickerGetterPromoted(string) string {
	b := band{clockwork: &clockwork{t: time.NewTicker(10 * time.Millisecond)}, name: "brass"}
	defer b.t.Stop()
	awaitBandBeat(b)
	return b.name + " after one beat: " + ticks(b.t.C)
}

// shape: ticker-channel-returned

// heartbeat starts a ticker and returns its channel only. The ticker is never
// stopped (a real leak), but stopping it when heartbeat returns would hand
// the caller a channel that never delivers.
func heartbeat(every time.Duration) <-chan time.Time {
	t := time.NewTicker(every)
	return t.C
}

func runTickerChannelReturned(string) string {
	return "heartbeat: " + ticks(heartbeat(10*time.Millisecond))
}

// shape: zip-entries-returned

// zipEntries opens an archive and returns its entries, which read from the
// archive's file: it stays open as long as the entries are used.
func zipEntries(path string) ([]*zip.File, error) {
	r, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	return r.File, nil
}

func runZipEntriesReturned(dir string) string {
	files, err := zipEntries(writeZip(dir, "e.zip", "greeting.txt", "hello from the archive"))
	if err != nil {
		return "open: " + err.Error()
	}
	held := probe.OpenFiles(dir)
	rc, err := files[0].Open()
	if err != nil {
		return fmt.Sprintf("entries=%d held=%d open entry: %v", len(files), held, err)
	}
	b, err := io.ReadAll(rc)
	return fmt.Sprintf("entries=%d held=%d %s=%q err=%v", len(files), held, files[0].Name, b, err)
}

// shape: zip-reader-returned

// archiveOf opens an archive and returns the reader inside its ReadCloser,
// which reads from the archive's file.
func archiveOf(path string) (*zip.Reader, error) {
	r, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	return &r.Reader, nil
}

func runZipReaderReturned(dir string) string {
	zr, err := archiveOf(writeZip(dir, "r.zip", "note.txt", "a note inside"))
	if err != nil {
		return "open: " + err.Error()
	}
	rc, err := zr.Open("note.txt")
	if err != nil {
		return "open entry: " + err.Error()
	}
	b, err := io.ReadAll(rc)
	return fmt.Sprintf("files=%d note=%q err=%v", len(zr.File), b, err)
}

// shape: fd-returned

// rawDescriptor opens path and hands out its descriptor number: the caller
// reads through it and closes it.
func rawDescriptor(path string) (uintptr, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	return f.Fd(), nil
}

func runFdReturned(dir string) string {
	fd, err := rawDescriptor(writeFile(dir, "raw.txt", "raw bytes"))
	if err != nil {
		return "open: " + err.Error()
	}
	buf := make([]byte, 32)
	n, rerr := syscall.Read(int(fd), buf)
	cerr := syscall.Close(int(fd))
	return fmt.Sprintf("read=%q err=%v close=%v", buf[:max(n, 0)], rerr, cerr)
}

// shape: tls-netconn

// dialTLS returns a TLS client over a new TCP connection; the TLS connection
// owns the TCP one.
func dialTLS(addr string) (*tls.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return tls.Client(c, &tls.Config{InsecureSkipVerify: true}), nil
}

// peerNetwork looks at the connection under an established TLS connection,
// which goes on using it.
func peerNetwork(tc *tls.Conn) string {
	raw := tc.NetConn()
	return raw.RemoteAddr().Network()
}

func runTLSNetConn(string) string {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "over tls")
	}))
	defer srv.Close()
	tc, err := dialTLS(srv.Listener.Addr().String())
	if err != nil {
		return "dial: " + err.Error()
	}
	defer tc.Close()
	if err := tc.Handshake(); err != nil {
		return "handshake: " + err.Error()
	}
	network := peerNetwork(tc)
	_, werr := io.WriteString(tc, "GET / HTTP/1.0\r\nHost: behaviour\r\n\r\n")
	b, rerr := io.ReadAll(tc)
	status, _, _ := strings.Cut(string(b), "\r\n")
	return fmt.Sprintf("peer=%s write=%v status=%q body=%v err=%v",
		network, werr, status, strings.HasSuffix(string(b), "over tls"), rerr)
}

// shape: defer-before-check-partial-result

// batch is a resource of the module's own; Close records its name.
type batch struct {
	name   string
	closed *[]string
}

func (b *batch) Close() error {
	*b.closed = append(*b.closed, b.name)
	return nil
}

var errShortBatch = errors.New("short batch")

// openBatch returns the batch with its error too: a short batch is still a
// batch, and still has to be closed.
func openBatch(name string, short bool, closed *[]string) (*batch, error) {
	b := &batch{name: name, closed: closed}
	if short {
		return b, errShortBatch
	}
	return b, nil
}

// useBatch defers Close before it checks the error, as it must: moving the
// defer below the check would skip the Close on the error path.
func useBatch(name string, short bool, closed *[]string) (string, error) {
	b, err := openBatch(name, short, closed)
	defer b.Close()
	if err != nil {
		return "", err
	}
	return "used " + b.name, nil
}

func runDeferBeforeCheckPartialResult(string) string {
	var closed []string
	full, errFull := useBatch("full", false, &closed)
	short, errShort := useBatch("short", true, &closed)
	return fmt.Sprintf("full=%q/%v short=%q/%v closed=%q", full, errFull, short, errShort, closed)
}

// shape: guarded-close

// A release behind a nil check of the value is a release on every path (where the
// check fails there is nothing to release; issue 16, item 13). An earlier engine added
// a second Close after the error check.

func headGuarded(path string) (string, error) {
	f, err := os.Open(path)
	if f != nil {
		defer f.Close()
	}
	if err != nil {
		return "", err
	}
	b := make([]byte, 3)
	n, err := f.Read(b)
	return string(b[:n]), err
}

func runGuardedClose(dir string) string {
	s, err := headGuarded(writeFile(dir, "guarded.txt", "abcdef"))
	_, err2 := headGuarded(filepath.Join(dir, "missing.txt"))
	return fmt.Sprintf("head=%q err=%v missing=%v", s, err, err2 != nil)
}
