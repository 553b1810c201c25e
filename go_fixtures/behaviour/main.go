// Command behaviour runs resource-handling shapes, one function each, and
// prints one deterministic line per shape: "NN name: observation".
//
// Two kinds of shape:
//   - no-patch: the resource legitimately outlives the function, or is
//     already released. The line shows what the program did with it after the
//     function returned; closing or cancelling it at function exit would change
//     the line. A build through toolexec-rehab must print the same line.
//   - leak: the line ends with a counter ("open=N", "live=N", "pinned=N",
//     "goroutines=N", "panics=N") measured after the function returned. Built plainly it is
//     non-zero; a build that fixes the leak prints zero and otherwise the same.
//
// Each shape's code starts at a "// shape: NAME" comment and runs to the next
// one (or the end of the file). A "// patch: RULE" comment sits on the line
// above each statement that a correct build patch fixes. Nothing outside the
// shapes may be patched.
//
// Garbage collection is switched off: an *os.File that nobody references is
// then closed by an explicit Close only, never by its finalizer, so the open
// descriptor counts do not depend on when the collector runs.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"example.com/behaviour/internal/novet"
)

type shape struct {
	name string
	run  func(dir string) string
}

var shapes = []shape{
	// no-patch: files
	{"scanner-returned", runScannerReturned},
	{"csv-returned", runCSVReturned},
	{"tar-returned", runTarReturned},
	{"multireader-returned", runMultiReaderReturned},
	{"limitreader-returned", runLimitReaderReturned},
	{"bufio-over-limit-returned", runBufioOverLimitReturned},
	{"alias-returned", runAliasReturned},
	{"reader-iface-returned", runReaderIfaceReturned},
	{"readcloser-iface-returned", runReadCloserIfaceReturned},
	{"struct-field", runStructField},
	{"embedded-in-struct", runEmbeddedInStruct},
	{"closure-reads-later", runClosureReadsLater},
	{"goroutine-over-channel", runGoroutineOverChannel},
	{"global-var", runGlobalVar},
	{"global-registry", runGlobalRegistry},
	{"map-store", runMapStore},
	{"append-to-slice", runAppendToSlice},
	{"select-send", runSelectSend},
	{"panic-recover", runPanicRecover},
	{"defer-in-loop", runDeferInLoop},
	{"waitgroup-goroutines", runWaitGroupGoroutines},
	{"cleanup-func-returned", runCleanupFuncReturned},
	{"writer-type-assertion", runWriterTypeAssertion},
	{"closed-in-helper", runClosedInHelper},
	{"gzip-returned", runGzipReturned},
	{"tee-returned", runTeeReturned},
	{"section-reader-returned", runSectionReaderReturned},
	{"method-value-returned", runMethodValueReturned},
	{"own-constructor-returned", runOwnConstructorReturned},
	{"cleanup-registered", runCleanupRegistered},
	// no-patch: HTTP response bodies
	{"response-returned", runResponseReturned},
	{"body-bufio-returned", runBodyBufioReturned},
	{"body-closed-on-error-branches", runBodyClosedOnErrorBranches},
	{"body-closed-by-deferred-arg", runBodyClosedByDeferredArg},
	{"deferred-flush-in-loop", runDeferredFlushInLoop},
	{"deferred-before-acquisition", runDeferredBeforeAcquisition},
	{"decoder-over-body-returned", runDecoderOverBodyReturned},
	// no-patch: database/sql
	{"rows-closure-later", runRowsClosureLater},
	{"rows-deferred-join", runRowsDeferredJoin},
	{"stmt-in-field", runStmtInField},
	{"rows-in-struct-returned", runRowsInStructReturned},
	{"rows-over-channel", runRowsOverChannel},
	// no-patch: contexts
	{"ctx-returned-cancel-discarded", novet.RunCtxReturnedCancelDiscarded},
	{"derived-ctx-returned-cancel-discarded", novet.RunDerivedCtxReturnedCancelDiscarded},
	{"ctx-and-cancel-returned", runCtxAndCancelReturned},
	{"derived-ctx-returned", runDerivedCtxReturned},
	{"cancel-in-field", runCancelInField},
	{"ctx-used-by-goroutine", runCtxUsedByGoroutine},
	// no-patch: from a review (values handed out or wrapped, kept by someone else)
	{"tx-wrapper-ended-by-method", runTxWrapperEndedByMethod},
	{"tx-wrapper-committed", runTxWrapperCommitted},
	{"newfile-stdout", runNewFileStdout},
	{"ticker-getter-func-value", runTickerGetterFuncValue},
	{"ticker-getter-interface", runTickerGetterInterface},
	{"ticker-getter-promoted", runTickerGetterPromoted},
	{"ticker-channel-returned", runTickerChannelReturned},
	{"zip-entries-returned", runZipEntriesReturned},
	{"zip-reader-returned", runZipReaderReturned},
	{"fd-returned", runFdReturned},
	{"tls-netconn", runTLSNetConn},
	{"defer-before-check-partial-result", runDeferBeforeCheckPartialResult},
	{"guarded-close", runGuardedClose},
	// leaks: database/sql
	{"rows-first-value", runRowsFirstValue},
	{"rows-discarded", runRowsDiscarded},
	{"body-discarded", runBodyDiscarded},
	{"rows-early-return", runRowsEarlyReturn},
	{"rows-pin-single-conn", runRowsPinSingleConn},
	{"rows-from-stmt", runRowsFromStmt},
	{"stmt-not-closed", runStmtNotClosed},
	{"stmt-preparecontext-not-closed", runStmtPrepareContextNotClosed},
	{"rows-defer-before-check", runRowsDeferBeforeCheck},
	// leaks: files
	{"file-read-header", runFileReadHeader},
	{"file-create-write", runFileCreateWrite},
	{"file-openfile-append", runFileOpenFileAppend},
	{"file-branch-leak", runFileBranchLeak},
	{"file-loop-leak", runFileLoopLeak},
	{"file-loop-early-return", runFileLoopEarlyReturn},
	{"file-createtemp", runFileCreateTemp},
	// leaks: HTTP response bodies
	{"body-first-line", runBodyFirstLine},
	{"body-status-only", runBodyStatusOnly},
	{"body-json-first-value", runBodyJSONFirstValue},
	{"body-branch-leak", runBodyBranchLeak},
	{"body-post-header", runBodyPostHeader},
	{"body-defer-before-check", novet.RunBodyDeferBeforeCheck},
	// leaks: contexts
	{"cancel-lost-on-branch", novet.RunCancelLostOnBranch},
	{"cancel-discarded", novet.RunCancelDiscarded},
	{"deadline-discarded", novet.RunDeadlineDiscarded},
	{"cancel-watcher-goroutine", novet.RunCancelWatcherGoroutine},
}

var port = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

func main() {
	debug.SetGCPercent(-1)
	tmp, err := os.MkdirTemp("", "behaviour-")
	if err != nil {
		fmt.Println("setup:", err)
		os.Exit(1)
	}
	root, err := filepath.EvalSymlinks(tmp)
	if err != nil {
		fmt.Println("setup:", err)
		os.Exit(1)
	}
	for i, s := range shapes {
		dir := filepath.Join(root, fmt.Sprintf("%02d", i+1))
		if err := os.Mkdir(dir, 0o700); err != nil {
			fmt.Println("setup:", err)
			os.Exit(1)
		}
		res := runOne(s, dir)
		res = strings.ReplaceAll(res, root, "$TMP")
		res = port.ReplaceAllString(res, "127.0.0.1:PORT")
		fmt.Printf("%02d %s: %s\n", i+1, s.name, res)
	}
	os.RemoveAll(root)
}

// runOne runs a shape on a goroutine of its own so that a shape that blocks or
// panics (which a wrong patch may cause) costs its own line only.
func runOne(s shape, dir string) string {
	done := make(chan string, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Sprintf("PANIC %v", r)
			}
		}()
		done <- s.run(dir)
	}()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		return "TIMEOUT"
	}
}

// writeFile creates dir/name with content and returns its path.
func writeFile(dir, name, content string) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		panic(err)
	}
	return p
}
