package main

// No-patch shapes around *os.File. Each opener hands the file (or a reader
// built on it) to someone who uses it after the opener returned; the run
// function is that someone and reports what it got.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// shape: scanner-returned

func openLines(path string) (*bufio.Scanner, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return bufio.NewScanner(f), nil
}

func runScannerReturned(dir string) string {
	sc, err := openLines(writeFile(dir, "lines.txt", "alpha\nbeta\ngamma\n"))
	if err != nil {
		return "open: " + err.Error()
	}
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	return fmt.Sprintf("lines=%q err=%v", got, sc.Err())
}

// shape: csv-returned

func openTable(path string) (*csv.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	return r, nil
}

func runCSVReturned(dir string) string {
	r, err := openTable(writeFile(dir, "t.csv", "name,qty\napple,3\npear,5\n"))
	if err != nil {
		return "open: " + err.Error()
	}
	recs, err := r.ReadAll()
	return fmt.Sprintf("records=%q err=%v", recs, err)
}

// shape: tar-returned

func openArchive(path string) (*tar.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return tar.NewReader(f), nil
}

func runTarReturned(dir string) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := "inside the archive\n"
	if err := tw.WriteHeader(&tar.Header{Name: "note.txt", Mode: 0o600, Size: int64(len(body))}); err != nil {
		return "tar: " + err.Error()
	}
	if _, err := tw.Write([]byte(body)); err != nil {
		return "tar: " + err.Error()
	}
	if err := tw.Close(); err != nil {
		return "tar: " + err.Error()
	}
	tr, err := openArchive(writeFile(dir, "a.tar", buf.String()))
	if err != nil {
		return "open: " + err.Error()
	}
	hdr, err := tr.Next()
	if err != nil {
		return "next: " + err.Error()
	}
	b, err := io.ReadAll(tr)
	return fmt.Sprintf("entry=%s body=%q err=%v", hdr.Name, b, err)
}

// shape: multireader-returned

func withBanner(path string) (io.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return io.MultiReader(strings.NewReader("banner|"), f), nil
}

func runMultiReaderReturned(dir string) string {
	r, err := withBanner(writeFile(dir, "m.txt", "payload"))
	if err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(r)
	return fmt.Sprintf("read=%q err=%v", b, err)
}

// shape: limitreader-returned

func firstBytes(path string, n int64) (io.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return io.LimitReader(f, n), nil
}

func runLimitReaderReturned(dir string) string {
	r, err := firstBytes(writeFile(dir, "l.txt", "0123456789"), 6)
	if err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(r)
	return fmt.Sprintf("read=%q err=%v", b, err)
}

// shape: bufio-over-limit-returned

func boundedLines(path string) (*bufio.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return bufio.NewReader(io.LimitReader(f, 12)), nil
}

func runBufioOverLimitReturned(dir string) string {
	br, err := boundedLines(writeFile(dir, "b.txt", "first\nsecond\nthird\n"))
	if err != nil {
		return "open: " + err.Error()
	}
	a, errA := br.ReadString('\n')
	b, errB := br.ReadString('\n')
	return fmt.Sprintf("a=%q/%v b=%q/%v", a, errA, b, errB)
}

// shape: alias-returned

func openAlias(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	g := f
	return g, nil
}

func runAliasReturned(dir string) string {
	f, err := openAlias(writeFile(dir, "x.txt", "aliased"))
	if err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(f)
	cerr := f.Close()
	return fmt.Sprintf("read=%q err=%v close=%v", b, err, cerr)
}

// shape: reader-iface-returned

func openReader(path string) (io.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader = f
	return r, nil
}

func runReaderIfaceReturned(dir string) string {
	r, err := openReader(writeFile(dir, "r.txt", "through io.Reader"))
	if err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(r)
	return fmt.Sprintf("read=%q err=%v", b, err)
}

// shape: readcloser-iface-returned

func openReadCloser(path string) (rc io.ReadCloser, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rc = f
	return rc, nil
}

func runReadCloserIfaceReturned(dir string) string {
	rc, err := openReadCloser(writeFile(dir, "rc.txt", "through io.ReadCloser"))
	if err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(rc)
	cerr := rc.Close()
	return fmt.Sprintf("read=%q err=%v close=%v", b, err, cerr)
}

// shape: struct-field

type journal struct {
	file *os.File
}

func (j *journal) open(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	j.file = f
	return nil
}

func runStructField(dir string) string {
	var j journal
	if err := j.open(writeFile(dir, "j.txt", "kept in a field")); err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(j.file)
	cerr := j.file.Close()
	return fmt.Sprintf("read=%q err=%v close=%v", b, err, cerr)
}

// shape: embedded-in-struct

type tailer struct {
	*os.File
	label string
}

func openTailer(path string) (*tailer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &tailer{File: f, label: "tail"}, nil
}

func runEmbeddedInStruct(dir string) string {
	t, err := openTailer(writeFile(dir, "t.txt", "embedded file"))
	if err != nil {
		return "open: " + err.Error()
	}
	buf := make([]byte, 8)
	n, err := t.Read(buf)
	cerr := t.Close()
	return fmt.Sprintf("%s read=%q err=%v close=%v", t.label, buf[:n], err, cerr)
}

// shape: closure-reads-later

func deferredRead(path string) (func() (string, error), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return func() (string, error) {
		b, err := io.ReadAll(f)
		return string(b), err
	}, nil
}

func runClosureReadsLater(dir string) string {
	read, err := deferredRead(writeFile(dir, "c.txt", "read by a closure"))
	if err != nil {
		return "open: " + err.Error()
	}
	s, err := read()
	return fmt.Sprintf("read=%q err=%v", s, err)
}

// shape: goroutine-over-channel

// handOff opens the file and sends it to a goroutine, which reads it only
// once start is closed (after handOff returned).
func handOff(path string, start <-chan struct{}, out chan<- string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	files := make(chan *os.File)
	go func() {
		g := <-files
		<-start
		b, err := io.ReadAll(g)
		cerr := g.Close()
		out <- fmt.Sprintf("read=%q err=%v close=%v", b, err, cerr)
	}()
	files <- f
	return nil
}

func runGoroutineOverChannel(dir string) string {
	start := make(chan struct{})
	out := make(chan string, 1)
	if err := handOff(writeFile(dir, "g.txt", "read on another goroutine"), start, out); err != nil {
		return "open: " + err.Error()
	}
	close(start)
	return <-out
}

// shape: global-var

var currentLog *os.File

func openCurrentLog(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	currentLog = f
	return nil
}

func runGlobalVar(dir string) string {
	if err := openCurrentLog(writeFile(dir, "log.txt", "in a global")); err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(currentLog)
	cerr := currentLog.Close()
	return fmt.Sprintf("read=%q err=%v close=%v", b, err, cerr)
}

// shape: global-registry

var registry = struct {
	sync.Mutex
	files map[string]*os.File
}{files: map[string]*os.File{}}

func register(key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	registry.Lock()
	registry.files[key] = f
	registry.Unlock()
	return nil
}

func runGlobalRegistry(dir string) string {
	if err := register("cfg", writeFile(dir, "cfg.txt", "registered")); err != nil {
		return "open: " + err.Error()
	}
	registry.Lock()
	f := registry.files["cfg"]
	delete(registry.files, "cfg")
	registry.Unlock()
	b, err := io.ReadAll(f)
	cerr := f.Close()
	return fmt.Sprintf("read=%q err=%v close=%v", b, err, cerr)
}

// shape: map-store

func openInto(m map[string]*os.File, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	m[key] = f
	return nil
}

func runMapStore(dir string) string {
	m := map[string]*os.File{}
	if err := openInto(m, "k", writeFile(dir, "k.txt", "stored in a map")); err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(m["k"])
	cerr := m["k"].Close()
	return fmt.Sprintf("read=%q err=%v close=%v", b, err, cerr)
}

// shape: append-to-slice

func openAll(paths []string) ([]*os.File, error) {
	var files []*os.File
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			for _, g := range files {
				g.Close()
			}
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func runAppendToSlice(dir string) string {
	files, err := openAll([]string{writeFile(dir, "1.txt", "one"), writeFile(dir, "2.txt", "two")})
	if err != nil {
		return "open: " + err.Error()
	}
	var parts []string
	for _, f := range files {
		b, err := io.ReadAll(f)
		parts = append(parts, fmt.Sprintf("%q/%v/%v", b, err, f.Close()))
	}
	return strings.Join(parts, " ")
}

// shape: select-send

func offer(path string, ch chan<- *os.File, quit <-chan struct{}) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	select {
	case ch <- f:
		return nil
	case <-quit:
		f.Close()
		return errors.New("quit")
	}
}

func runSelectSend(dir string) string {
	ch := make(chan *os.File, 1)
	quit := make(chan struct{})
	if err := offer(writeFile(dir, "s.txt", "sent in a select"), ch, quit); err != nil {
		return "offer: " + err.Error()
	}
	f := <-ch
	b, err := io.ReadAll(f)
	cerr := f.Close()
	return fmt.Sprintf("read=%q err=%v close=%v", b, err, cerr)
}

// shape: panic-recover

// openChecked returns the file positioned after its 4-byte magic; a file
// with a bad magic makes checkMagic panic, and the recover closes it.
func openChecked(path string) (f *os.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			if f != nil {
				f.Close()
			}
			f, err = nil, fmt.Errorf("recovered: %v", r)
		}
	}()
	f, err = os.Open(path)
	if err != nil {
		return nil, err
	}
	checkMagic(f)
	return f, nil
}

func checkMagic(r io.Reader) {
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "BHV1" {
		panic(fmt.Sprintf("bad magic %q", magic))
	}
}

func runPanicRecover(dir string) string {
	good, err := openChecked(writeFile(dir, "good.bin", "BHV1rest of the file"))
	if err != nil {
		return "good: " + err.Error()
	}
	b, rerr := io.ReadAll(good)
	cerr := good.Close()
	_, badErr := openChecked(writeFile(dir, "bad.bin", "XXXXtrailer"))
	return fmt.Sprintf("good=%q/%v/%v bad=%v", b, rerr, cerr, badErr)
}

// shape: defer-in-loop

func concatAll(paths []string) (string, error) {
	var sb strings.Builder
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if _, err := io.Copy(&sb, f); err != nil {
			return "", err
		}
	}
	return sb.String(), nil
}

func runDeferInLoop(dir string) string {
	s, err := concatAll([]string{writeFile(dir, "a", "A-"), writeFile(dir, "b", "B-"), writeFile(dir, "c", "C")})
	return fmt.Sprintf("read=%q err=%v", s, err)
}

// shape: waitgroup-goroutines

// parallelSections starts one goroutine per section of the file; they read
// only when the returned wait func opens the gate, and wait closes the file.
func parallelSections(path string, parts int) (wait func() (string, error), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	size := st.Size() / int64(parts)
	gate := make(chan struct{})
	results := make([]string, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := 0; i < parts; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			buf := make([]byte, size)
			n, err := f.ReadAt(buf, int64(i)*size)
			results[i], errs[i] = string(buf[:n]), err
		}(i)
	}
	return func() (string, error) {
		close(gate)
		wg.Wait()
		return strings.Join(results, "|"), errors.Join(errors.Join(errs...), f.Close())
	}, nil
}

func runWaitGroupGoroutines(dir string) string {
	wait, err := parallelSections(writeFile(dir, "w.txt", "aaaabbbbcccc"), 3)
	if err != nil {
		return "open: " + err.Error()
	}
	s, err := wait()
	return fmt.Sprintf("sections=%q err=%v", s, err)
}

// shape: cleanup-func-returned

func openWithCleanup(path string) (*bufio.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return bufio.NewReader(f), func() error { return f.Close() }, nil
}

func runCleanupFuncReturned(dir string) string {
	r, cleanup, err := openWithCleanup(writeFile(dir, "cl.txt", "head line\nnext\n"))
	if err != nil {
		return "open: " + err.Error()
	}
	line, rerr := r.ReadString('\n')
	return fmt.Sprintf("line=%q err=%v cleanup=%v", line, rerr, cleanup())
}

// shape: writer-type-assertion

// openSink returns the created file as an io.Writer; the caller writes to it
// and closes it through a type assertion to io.Closer.
func openSink(path string) (io.Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	var w io.Writer = f
	if _, err := io.WriteString(w, "header\n"); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func runWriterTypeAssertion(dir string) string {
	path := dir + "/sink.txt"
	w, err := openSink(path)
	if err != nil {
		return "open: " + err.Error()
	}
	_, werr := fmt.Fprintf(w, "entry %d\n", 1)
	var cerr error = errors.New("not a Closer")
	if c, ok := w.(io.Closer); ok {
		cerr = c.Close()
	}
	b, rerr := os.ReadFile(path)
	return fmt.Sprintf("write=%v close=%v content=%q/%v", werr, cerr, b, rerr)
}

// shape: closed-in-helper

func checksum(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer closeQuietly(f)
	b, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	return sum, nil
}

func closeQuietly(c io.Closer) {
	_ = c.Close()
}

func runClosedInHelper(dir string) string {
	sum, err := checksum(writeFile(dir, "sum.txt", "abc"))
	return fmt.Sprintf("sum=%d err=%v", sum, err)
}
