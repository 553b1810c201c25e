// rehab-client: the compile server's client for one intercepted compile, without Python.
//
// The sh launcher (launcher/toolexec-rehab, speculate) runs it as
//
//	rehab-client CACHE_DIR LAUNCHER_DIR ACK_FILE TOOL ARGS...
//
// with REHAB_SPEC=<pid of the launcher's speculative compile>. It does what the Python
// client (toolexec_rehab/toolexec/client.py) does for such a compile, and nothing more:
// it sends the same request to the same compile server and relays the answer. Python's
// start-up (~6 ms of CPU) is what it saves, on every compile.
//
// It asks only when it is sure to reach the server the Python client would reach. The
// pointer file CACHE_DIR/native.ptr, written by the Python client (toolexec/native.py),
// must be ours, of this client's version and this launcher, and give what Python's socket
// name is made of (protocol.code_key) that this program cannot see for itself: the
// interpreter's path and version, our package's directory, sys.path. The rest it computes
// as Python does - the credentials, the runtime dir, the stat of each of our .py files -
// so the socket it connects to is the one Python would name now. The interpreter's files
// (the binary, libpython, pyvenv.cfg, the console script) must be the very files they were
// (device, inode, size, mtime, ctime), and the PYTHON* and locale variables the same.
//
// Exit 215 means "not answered: ask Python", with nothing printed and the speculative
// compile untouched; 216 the same after it was stopped. Just before it relays an answer
// (output, an exit status, an exec), it creates ACK_FILE: the launcher believes no exit
// status without it (a Go runtime's fatal error exits 2, as a compile error does).
//
// Built by the compile server with the user's own Go toolchain (native.py); standard
// library only, the Go 1.18 language. `rehab-client -version` prints the version.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/adler32"
	"hash/crc32"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"
	"unsafe"
)

// version is set at build time (-X main.version=...): the digest of this source, which
// the pointer file names too.
var version = "dev"

const (
	specRC        = 213 // the launcher's speculative compile is the answer
	notAnswered   = 215
	notAnsweredKd = 216 // not answered, and the speculative compile was stopped
	maxMsg        = 64 << 20
)

var errProto = errors.New("protocol")

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-version" {
		os.Stdout.WriteString(version + "\n")
		return
	}
	killed := false
	defer func() {
		if recover() != nil {
			exitNotAnswered(killed)
		}
	}()
	if len(os.Args) < 5 {
		os.Exit(notAnswered)
	}
	os.Exit(run(os.Args[1], os.Args[2], os.Args[3], os.Args[4:], &killed))
}

func exitNotAnswered(killed bool) {
	if killed {
		os.Exit(notAnsweredKd)
	}
	os.Exit(notAnswered)
}

func run(cacheDir, launcher, ack string, argv []string, killed *bool) int {
	spec, err := strconv.Atoi(os.Getenv("REHAB_SPEC"))
	if err != nil || spec <= 0 {
		return notAnswered
	}
	if v, set := os.LookupEnv("REHAB_SERVER"); set {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "", "1", "true", "yes", "on":
		default:
			return notAnswered // Python reads it (and says what is wrong with a bad value)
		}
	}
	env, ok := environ()
	if !ok {
		return notAnswered
	}
	p, ok := readPointer(cacheDir, launcher, env)
	if !ok {
		return notAnswered
	}
	cwd, err := syscall.Getwd()
	if err != nil {
		return notAnswered
	}
	// text as Python decodes it: UTF-8 (with surrogateescape) is what we send; under another
	// file-system encoding only ASCII reads the same
	texts := append([]string{cwd}, argv...)
	for k, v := range env {
		texts = append(texts, k, v)
	}
	for _, s := range texts {
		if !utf8.ValidString(s) || (!p.utf8 && !ascii(s)) {
			return notAnswered
		}
	}
	fd, ok := connect(p.sock)
	if !ok {
		return notAnswered
	}
	defer syscall.Close(fd)
	umask := syscall.Umask(0o022)
	syscall.Umask(umask)

	delete(env, "REHAB_SPEC")
	for k, v := range p.added { // what Python adds to its own environment (PEP 538's LC_CTYPE)
		env[k] = v
	}
	var req bytes.Buffer
	req.WriteByte('{')
	putStr(&req, "argv")
	putList(&req, argv)
	putStr(&req, "cwd")
	putStr(&req, cwd)
	putStr(&req, "env")
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	req.WriteByte('{')
	for _, k := range keys {
		putStr(&req, k)
		putStr(&req, env[k])
	}
	req.WriteByte('0')
	putStr(&req, "spec")
	req.WriteByte('T')
	putStr(&req, "cli")
	req.WriteByte('F')
	putStr(&req, "umask")
	putInt(&req, umask)
	req.WriteByte('0')
	if sendMsg(fd, req.Bytes()) != nil {
		return notAnswered
	}

	var rep map[string]interface{}
	for {
		msg, err := recvMsg(fd)
		if err != nil {
			exitNotAnswered(*killed)
		}
		if k, has := msg["kill"]; has {
			if k != true || *killed {
				exitNotAnswered(*killed)
			}
			killSibling(spec)
			*killed = true
			var ok bytes.Buffer
			ok.WriteByte('{')
			putStr(&ok, "ok")
			ok.WriteByte('T')
			ok.WriteByte('0')
			if sendMsg(fd, ok.Bytes()) != nil {
				exitNotAnswered(true)
			}
			continue
		}
		rep = msg
		break
	}
	syscall.Close(fd)
	return answer(rep, argv, spec, ack, p.added, killed)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// answer relays the server's reply as client.run does.
func answer(rep map[string]interface{}, argv []string, spec int, ack string, added map[string]string,
	killed *bool) int {
	if truthy(rep["fallback"]) {
		exitNotAnswered(*killed)
	}
	out, ok1 := bytesOr(rep, "out")
	errb, ok2 := bytesOr(rep, "err")
	if !ok1 || !ok2 {
		exitNotAnswered(*killed)
	}
	var newArgv []string
	if truthy(rep["exec"]) {
		l, ok := rep["exec"].([]interface{})
		if !ok || len(l) == 0 {
			exitNotAnswered(*killed)
		}
		for _, x := range l {
			s, ok := x.(string)
			if !ok || strings.IndexByte(s, 0) >= 0 {
				exitNotAnswered(*killed)
			}
			newArgv = append(newArgv, s)
		}
	}
	rc := 0
	if newArgv == nil {
		if v, has := rep["rc"]; has {
			n, ok := asInt(v)
			if !ok {
				exitNotAnswered(*killed)
			}
			rc = n
		}
		switch rc & 0xff {
		case notAnswered, notAnsweredKd, 126, 127, specRC:
			exitNotAnswered(*killed) // a status the launcher reads otherwise: Python says it
		}
	}
	// the answer is given from here on: the launcher believes our exit status
	afd, err := syscall.Open(ack, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		exitNotAnswered(*killed)
	}
	syscall.Close(afd)
	if trace := os.Getenv("REHAB_SERVER_TRACE"); trace != "" {
		traceServed(trace, rep["parsed"])
	}
	if len(out) > 0 {
		os.Stdout.Write(out)
	}
	if len(errb) > 0 {
		os.Stderr.Write(errb)
	}
	if newArgv != nil {
		if !*killed && equal(newArgv, argv) {
			return specRC
		}
		if !*killed {
			killSibling(spec)
			*killed = true
		}
		env := []string{}
		for _, kv := range os.Environ() {
			name := kv
			if i := strings.IndexByte(kv, '='); i >= 0 {
				name = kv[:i]
			}
			if _, over := added[name]; name != "REHAB_SPEC" && !over {
				env = append(env, kv)
			}
		}
		for k, v := range added {
			env = append(env, k+"="+v)
		}
		syscall.Exec(newArgv[0], newArgv, env)
		os.Stderr.WriteString("toolexec-rehab: cannot run " + newArgv[0] + "\n")
		return 1 // (as Python's execv would fail: the compile fails)
	}
	if !*killed {
		killSibling(spec)
	}
	return rc
}

func traceServed(path string, parsed interface{}) {
	imp := os.Getenv("TOOLEXEC_IMPORTPATH")
	if imp == "" {
		imp = "?"
	}
	p := "None"
	if n, ok := asInt(parsed); ok {
		p = strconv.Itoa(n)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return
	}
	f.WriteString("served " + imp + " parsed=" + p + " client=native\n")
	f.Close()
}

// environ: the environment as a map, or false when a name is empty or given twice (which
// of the two Python would keep is not ours to guess).
func environ() (map[string]string, bool) {
	env := map[string]string{}
	for _, kv := range syscall.Environ() {
		i := strings.IndexByte(kv, '=')
		if i < 0 {
			continue
		}
		if _, dup := env[kv[:i]]; dup || i == 0 {
			return nil, false
		}
		env[kv[:i]] = kv[i+1:]
	}
	return env, true
}

type ptr struct {
	sock  string
	utf8  bool              // Python's file-system encoding is UTF-8 (surrogateescape)
	added map[string]string // variables Python adds to its environment
}

// readPointer: the socket Python would name now, from CACHE_DIR/native.ptr and what this
// process sees, when every line of the pointer holds.
func readPointer(cacheDir, launcher string, env map[string]string) (ptr, bool) {
	var p ptr
	euid := os.Geteuid()
	var st syscall.Stat_t
	if !strings.HasPrefix(cacheDir, "/") || syscall.Lstat(cacheDir, &st) != nil ||
		st.Mode&syscall.S_IFMT != syscall.S_IFDIR || int(st.Uid) != euid || st.Mode&0o022 != 0 {
		return p, false
	}
	fd, err := syscall.Open(cacheDir+"/native.ptr", syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return p, false
	}
	var pst syscall.Stat_t
	if syscall.Fstat(fd, &pst) != nil || pst.Mode&syscall.S_IFMT != syscall.S_IFREG || int(pst.Uid) != euid ||
		pst.Mode&0o077 != 0 || pst.Size > 1<<20 {
		syscall.Close(fd)
		return p, false
	}
	data := make([]byte, pst.Size+1)
	n, err := syscall.Read(fd, data)
	syscall.Close(fd)
	if err != nil || int64(n) != pst.Size || n == 0 || data[n-1] != '\n' {
		return p, false
	}
	var key []string // protocol.code_key's parts
	seen := map[byte]int{}
	p.added = map[string]string{}
	pyvars, lcvars := 0, 0
	for name := range env {
		if strings.HasPrefix(name, "PYTHON") {
			pyvars++
		}
	}
	for _, line := range strings.Split(string(data[:n-1]), "\n") {
		if len(line) < 2 || line[1] != ' ' {
			return p, false
		}
		kind, rest := line[0], line[2:]
		seen[kind]++
		switch kind {
		case 'V':
			if rest != version || version == "dev" {
				return p, false
			}
		case 'K':
			if rest != launcher {
				return p, false
			}
		case 'Q': // sys.executable, sys.version, our package's directory, sys.path (in hex)
			b, err := hex.DecodeString(rest)
			if err != nil {
				return p, false
			}
			key = append(key, string(b))
		case 'P':
			if rest != strconv.Itoa(pyvars) {
				return p, false
			}
		case 'E', 'W': // a PYTHON* variable; a locale variable ("NAME" alone: unset)
			name, val, set := rest, "", false
			if i := strings.IndexByte(rest, '='); i >= 0 {
				name, val, set = rest[:i], rest[i+1:], true
			}
			if kind == 'E' && (!set || !strings.HasPrefix(name, "PYTHON")) {
				return p, false
			}
			if kind == 'W' {
				lcvars++
			}
			if v, ok := env[name]; ok != set || v != val {
				return p, false
			}
		case 'Z':
			i := strings.IndexByte(rest, '=')
			if i <= 0 {
				return p, false
			}
			p.added[rest[:i]] = rest[i+1:]
		case 'U':
			p.utf8 = rest == "utf-8:surrogateescape"
		case 'F': // DEV INO SIZE MTIME_NS CTIME_NS PATH
			f := strings.SplitN(rest, " ", 6)
			var fst syscall.Stat_t
			if len(f) != 6 || syscall.Stat(f[5], &fst) != nil || f[0] != strconv.FormatUint(uint64(fst.Dev), 10) ||
				f[1] != strconv.FormatUint(uint64(fst.Ino), 10) || f[2] != strconv.FormatInt(fst.Size, 10) ||
				f[3] != nsec(fst.Mtim) || f[4] != nsec(fst.Ctim) {
				return p, false
			}
		default:
			return p, false
		}
	}
	if seen['V'] != 1 || seen['K'] != 1 || seen['P'] != 1 || seen['U'] != 1 || seen['F'] == 0 || len(key) != 4 ||
		lcvars != 3 {
		return p, false
	}
	rt := runtimeDir()
	if !privateDir(rt) {
		return p, false
	}
	k, ok := codeKey(append(key, credentials()), key[2])
	if !ok {
		return p, false
	}
	p.sock = rt + "/srv-" + k + ".sock"
	return p, len(p.sock) < 100 // (Python reaches a longer one through /proc/self/fd: left to it)
}

func nsec(t syscall.Timespec) string {
	return strconv.FormatInt(int64(t.Sec)*1000000000+int64(t.Nsec), 10)
}

// codeKey: protocol.code_key from its first parts and our package's directory: each .py
// file's name, mtime and size, walked as os.walk walks (top-down, directories sorted,
// __pycache__ left out, symbolic links to directories not entered).
func codeKey(parts []string, pkg string) (string, bool) {
	if !walk(pkg, &parts) {
		return "", false
	}
	blob := []byte(strings.Join(parts, "\x00"))
	return hex8(crc32.ChecksumIEEE(blob)) + hex8(adler32.Checksum(blob)), true
}

func hex8(v uint32) string {
	s := strconv.FormatUint(uint64(v), 16)
	return strings.Repeat("0", 8-len(s)) + s
}

func walk(dir string, parts *[]string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return false
	}
	sort.Strings(names)
	var dirs []string
	for _, n := range names {
		if !utf8.ValidString(n) {
			return false // (sorted otherwise by Python)
		}
		var st syscall.Stat_t
		err := syscall.Stat(dir+"/"+n, &st)
		if err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			if n != "__pycache__" {
				dirs = append(dirs, n)
			}
			continue
		}
		if strings.HasSuffix(n, ".py") {
			if err != nil {
				return false // (code_key's os.stat raises)
			}
			*parts = append(*parts, n+":"+nsec(st.Mtim)+":"+strconv.FormatInt(st.Size, 10))
		}
	}
	for _, d := range dirs {
		var lst syscall.Stat_t
		if syscall.Lstat(dir+"/"+d, &lst) != nil {
			return false
		}
		if lst.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			continue
		}
		if !walk(dir+"/"+d, parts) {
			return false
		}
	}
	return true
}

// runtimeDir: where the server's socket lives, as protocol._runtime_dir names it.
func runtimeDir() string {
	rt := os.Getenv("XDG_RUNTIME_DIR")
	var st syscall.Stat_t
	if strings.HasPrefix(rt, "/") && syscall.Stat(rt, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		if strings.HasSuffix(rt, "/") {
			return rt + "toolexec-rehab"
		}
		return rt + "/toolexec-rehab"
	}
	return "/tmp/toolexec-rehab-" + strconv.Itoa(os.Getuid())
}

func privateDir(d string) bool {
	var st syscall.Stat_t
	return syscall.Lstat(d, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFDIR &&
		int(st.Uid) == os.Getuid() && st.Mode&0o077 == 0
}

// credentials: protocol._credentials, character for character.
func credentials() string {
	groups, err := syscall.Getgroups()
	if err != nil {
		return ""
	}
	sort.Ints(groups)
	g := make([]string, len(groups))
	for i, x := range groups {
		g[i] = strconv.Itoa(x)
	}
	var caps []string
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "Cap") || strings.HasPrefix(line, "NoNewPrivs") ||
				strings.HasPrefix(line, "Seccomp:") {
				caps = append(caps, strings.TrimSpace(line))
			}
		}
	}
	return strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Geteuid()) + ":" + strconv.Itoa(os.Getgid()) + ":" +
		strconv.Itoa(os.Getegid()) + ":[" + strings.Join(g, ", ") + "]:" + strings.Join(caps, ";")
}

// connect: a connection to the socket whose other end runs as our uid and gid
// (protocol.peer_is_us).
func connect(path string) (int, bool) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, false
	}
	if syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}) != nil {
		syscall.Close(fd)
		return -1, false
	}
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil || int(cred.Uid) != os.Geteuid() || int(cred.Gid) != os.Getegid() {
		syscall.Close(fd)
		return -1, false
	}
	return fd, true
}

// ---- the wire: a 4-byte big-endian length, then Python's marshal (protocol.send_msg)

// putHead: a marshal type code and its 4-byte little-endian count (or int value)
func putHead(b *bytes.Buffer, code byte, n uint32) {
	b.WriteByte(code)
	var w [4]byte
	binary.LittleEndian.PutUint32(w[:], n)
	b.Write(w[:])
}

func putStr(b *bytes.Buffer, s string) {
	putHead(b, 'u', uint32(len(s)))
	b.WriteString(s)
}

func putInt(b *bytes.Buffer, v int) {
	putHead(b, 'i', uint32(int32(v)))
}

func putList(b *bytes.Buffer, l []string) {
	putHead(b, '[', uint32(len(l)))
	for _, s := range l {
		putStr(b, s)
	}
}

func sendMsg(fd int, data []byte) error {
	msg := make([]byte, 4, 4+len(data))
	binary.BigEndian.PutUint32(msg, uint32(len(data)))
	msg = append(msg, data...)
	for len(msg) > 0 {
		n, err := syscall.Write(fd, msg)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		msg = msg[n:]
	}
	return nil
}

func readFull(fd int, buf []byte) error {
	for len(buf) > 0 {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errProto
		}
		buf = buf[n:]
	}
	return nil
}

func recvMsg(fd int) (map[string]interface{}, error) {
	var head [4]byte
	if err := readFull(fd, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > maxMsg {
		return nil, errProto
	}
	data := make([]byte, n)
	if err := readFull(fd, data); err != nil {
		return nil, err
	}
	d := &decoder{data: data}
	v := d.value()
	m, ok := v.(map[string]interface{})
	if d.err != nil || !ok || d.pos != len(data) {
		return nil, errProto
	}
	return m, nil
}

// decoder reads the subset of marshal (format 4) that the server's replies use: dicts
// with str keys, str, bytes, int, bool, None, lists and tuples, and back-references.
type decoder struct {
	data []byte
	pos  int
	refs []interface{}
	err  error
}

type null struct{}

func (d *decoder) fail() interface{} {
	if d.err == nil {
		d.err = errProto
	}
	return nil
}

func (d *decoder) take(n int) []byte {
	if n < 0 || d.pos+n > len(d.data) {
		d.fail()
		return nil
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b
}

func (d *decoder) u32() int {
	b := d.take(4)
	if b == nil {
		return -1
	}
	v := binary.LittleEndian.Uint32(b)
	if v > maxMsg {
		d.fail()
		return -1
	}
	return int(v)
}

func (d *decoder) value() interface{} {
	if d.err != nil {
		return nil
	}
	b := d.take(1)
	if b == nil {
		return nil
	}
	code, ref := b[0]&0x7f, b[0]&0x80 != 0
	slot := -1
	if ref {
		slot = len(d.refs)
		d.refs = append(d.refs, nil)
	}
	var v interface{}
	switch code {
	case '0':
		v = null{}
	case 'N':
		v = nil
	case 'T':
		v = true
	case 'F':
		v = false
	case 'i':
		raw := d.take(4)
		if raw == nil {
			return nil
		}
		v = int(int32(binary.LittleEndian.Uint32(raw)))
	case 'l':
		v = d.long()
	case 's', 'u', 't', 'a', 'A':
		n := d.u32()
		raw := d.take(n)
		if raw == nil {
			return nil
		}
		if code == 's' {
			v = append([]byte(nil), raw...)
		} else {
			if !utf8.Valid(raw) {
				return d.fail()
			}
			v = string(raw)
		}
	case 'z', 'Z':
		nb := d.take(1)
		if nb == nil {
			return nil
		}
		raw := d.take(int(nb[0]))
		if raw == nil {
			return nil
		}
		v = string(raw)
	case '[', '(', ')':
		n := 0
		if code == ')' {
			nb := d.take(1)
			if nb == nil {
				return nil
			}
			n = int(nb[0])
		} else {
			n = d.u32()
		}
		if n < 0 || n > len(d.data)-d.pos {
			return d.fail() // (each item takes a byte at least)
		}
		l := make([]interface{}, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			l = append(l, d.value())
		}
		v = l
	case '{':
		m := map[string]interface{}{}
		if slot >= 0 {
			d.refs[slot] = m
		}
		for d.err == nil {
			k := d.value()
			if _, end := k.(null); end {
				break
			}
			ks, ok := k.(string)
			if !ok {
				return d.fail()
			}
			m[ks] = d.value()
		}
		v = m
	case 'r':
		i := d.u32()
		if i < 0 || i >= len(d.refs) || d.refs[i] == nil {
			return d.fail()
		}
		return d.refs[i]
	default:
		return d.fail()
	}
	if _, isNull := v.(null); isNull && (ref || code != '0') {
		return d.fail()
	}
	if slot >= 0 {
		d.refs[slot] = v
	}
	return v
}

// long: marshal's TYPE_LONG (a signed count of 15-bit digits), as an int when it fits.
func (d *decoder) long() interface{} {
	raw := d.take(4)
	if raw == nil {
		return nil
	}
	n := int(int32(binary.LittleEndian.Uint32(raw)))
	neg := n < 0
	if neg {
		n = -n
	}
	if n > 4 {
		return d.fail()
	}
	v := 0
	for i := 0; i < n; i++ {
		dg := d.take(2)
		if dg == nil {
			return nil
		}
		v |= int(binary.LittleEndian.Uint16(dg)) << (15 * i)
	}
	if neg {
		v = -v
	}
	return v
}

func truthy(v interface{}) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case string:
		return x != ""
	case []byte:
		return len(x) > 0
	case []interface{}:
		return len(x) > 0
	case map[string]interface{}:
		return len(x) > 0
	}
	return true
}

func asInt(v interface{}) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func bytesOr(rep map[string]interface{}, key string) ([]byte, bool) {
	v, has := rep[key]
	if !has {
		return nil, true
	}
	b, ok := v.([]byte)
	return b, ok
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ---- stopping the launcher's speculative compile (runner.kill_sibling)

const (
	sysPidfdOpen       = 434
	sysPidfdSendSignal = 424
)

// killSibling stops the launcher's compile and waits until it is gone. It is our sibling:
// signalled only while its parent is our parent (once finished, the launcher's shell may
// have reaped it and its pid could be reused), pinned with a pidfd first.
func killSibling(pid int) {
	pfd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	fd := int(pfd)
	if e != 0 {
		fd = -1
	} else {
		defer syscall.Close(fd)
	}
	if ppid, _ := procStat(pid); ppid != os.Getppid() {
		return
	}
	if fd >= 0 {
		if _, _, e := syscall.Syscall6(sysPidfdSendSignal, uintptr(fd), uintptr(syscall.SIGKILL), 0, 0, 0, 0); e == 0 {
			type pollfd struct {
				fd      int32
				events  int16
				revents int16
			}
			// readable once it has exited; a signal to us (EINTR) does not end the wait
			var now syscall.Timeval
			syscall.Gettimeofday(&now)
			end := now.Sec + 30
			for {
				p := pollfd{fd: int32(fd), events: 0x1}
				ts := syscall.Timespec{Sec: end - now.Sec}
				_, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1,
					uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
				syscall.Gettimeofday(&now)
				if e != syscall.EINTR || now.Sec >= end {
					return
				}
			}
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 30000; i++ {
		ppid, state := procStat(pid)
		if ppid != os.Getppid() || state == "Z" || state == "X" || state == "" {
			return
		}
		ts := syscall.Timespec{Nsec: 1000000}
		syscall.Nanosleep(&ts, nil)
	}
}

// procStat: the parent and state of a process, from /proc/PID/stat (0, "" when gone).
func procStat(pid int) (int, string) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 > len(data) {
		return 0, ""
	}
	f := strings.Fields(string(data[i+2:]))
	if len(f) < 2 {
		return 0, ""
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid, f[0]
}
