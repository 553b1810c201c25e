// Command backend is the upstream that leakysvc's /proxy calls.
//
// It prints "listening HOST:PORT" as its first line on stdout once it
// accepts connections, so it can be started on port 0.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (port 0 picks a free port)")
	size := flag.Int("size", 8<<10, "size in bytes of the /data body")
	flag.Parse()
	log.SetPrefix("backend: ")

	body := bytes.Repeat([]byte("0123456789abcdef"), *size/16+1)[:*size]
	mux := http.NewServeMux()
	mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(os.Stdout, "listening %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
