// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// HTTP/1.1 between the stack and the kernel's own programs (curl, python3 -m
// http.server): Go's net/http over gonet connections of the stack.

func gbits(n int64, d time.Duration) float64 { return float64(n) * 8 / d.Seconds() / 1e9 }

// ---- http-get ----

// getRequest is a checked http-get command line.
type getRequest struct {
	url    string
	sha256 string // expected body hash, lower-case hex; "": any
	size   int64  // expected body length; -1: any
	wait   time.Duration
}

// httpGetArgs checks an http-get command line, before anything is attached.
func httpGetArgs(fs *flag.FlagSet, sum, size string, wait time.Duration) getRequest {
	if fs.NArg() != 1 {
		die(2, "usage: http-get [-sha256 HEX] [-n BYTES] [-W D] URL")
	}
	r := getRequest{url: fs.Arg(0), sha256: strings.ToLower(sum), size: -1, wait: wait}
	// The stack has no resolver: the host must be an address.
	u, err := url.Parse(r.url)
	if err != nil || u.Scheme != "http" || net.ParseIP(u.Hostname()) == nil {
		die(2, "http-get: bad URL %q: want http://IP[:PORT]/PATH (an IPv6 address in brackets)", r.url)
	}
	if b, err := hex.DecodeString(sum); sum != "" && (err != nil || len(b) != sha256.Size) {
		die(2, "http-get: bad -sha256 %q: want %d hex digits", sum, 2*sha256.Size)
	}
	if size != "" {
		n, err := parseSize(size)
		if err != nil {
			die(2, "http-get: -n: %v", err)
		}
		r.size = n
	}
	if wait <= 0 {
		die(2, "http-get: -W must be positive")
	}
	return r
}

// dialError marks a connection the stack could not open: a set-up error
// (exit 2), as for tcp-send, rather than a failed check.
type dialError struct{ error }

func (e dialError) Unwrap() error { return e.error }

// stackClient returns an HTTP/1.1 client whose connections are TCP
// connections of @s, one per request.
func stackClient(s *stack.Stack) *http.Client {
	tr := &http.Transport{
		// No Proxy: the environment's proxy is the host's, not the stack's.
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			to, err := parseHostPort(addr)
			if err != nil {
				return nil, err
			}
			c, err := gonet.DialContextTCP(ctx, s, to, netProto(to.Addr))
			if err != nil {
				return nil, dialError{err}
			}
			return c, nil
		},
		DisableKeepAlives: true,
		// The body as sent, not gunzipped: its length and hash are the check.
		DisableCompression: true,
	}
	return &http.Client{
		Transport: tr,
		// A redirect is an answer other than 200, not something to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// httpGet fetches r.url through the stack, streaming the body through
// SHA-256, and prints one result line; it returns 1 if a check failed.
func httpGet(s *stack.Stack, r getRequest) int {
	ctx, cancel := context.WithTimeout(context.Background(), r.wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		die(2, "http-get: %v", err)
	}
	start := time.Now()
	resp, err := stackClient(s).Do(req)
	if err != nil {
		var de dialError
		if errors.As(err, &de) && ctx.Err() == nil {
			die(2, "http-get: %v", err)
		}
		return getFailed(ctx, r, err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, resp.Body, make([]byte, chunkLen))
	d := time.Since(start)
	sum := hex.EncodeToString(h.Sum(nil))
	fmt.Printf("http-get: %d bytes in %.3f s, %.3f Gbit/s, sha256 %s\n", n, d.Seconds(), gbits(n, d), sum)
	switch {
	case resp.StatusCode != http.StatusOK:
		return getFailed(ctx, r, fmt.Errorf("status %q, not 200", resp.Status))
	case err != nil:
		return getFailed(ctx, r, fmt.Errorf("reading the body: %v", err))
	case r.size >= 0 && n != r.size:
		return getFailed(ctx, r, fmt.Errorf("%d bytes, not %d", n, r.size))
	case r.sha256 != "" && sum != r.sha256:
		return getFailed(ctx, r, fmt.Errorf("sha256 %s, not %s", sum, r.sha256))
	}
	return 0
}

// getFailed says on stderr why a GET failed, the deadline first: once it
// passed, every error is its consequence.
func getFailed(ctx context.Context, r getRequest, err error) int {
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("the transfer took longer than -W %v: %v", r.wait, err)
	}
	fmt.Fprintf(os.Stderr, "http-get %s: %v\n", r.url, err)
	return 1
}

// ---- serve -http ----

// httpServe serves GET /pattern/N on @port, for each network protocol the
// stack has addresses of, as serve's other servers, and returns.
func httpServe(s *stack.Stack, port uint16) {
	srv := &http.Server{Handler: http.HandlerFunc(servePattern)}
	for _, p := range protocols(s) {
		go srv.Serve(listenTCP(s, p, port))
	}
	fmt.Printf("serve: HTTP/1.1 on port %d: GET /pattern/N answers N bytes of the test pattern\n", port)
}

// servePattern answers GET /pattern/N with N bytes of the pattern, anything
// else with 404.
func servePattern(w http.ResponseWriter, r *http.Request) {
	n, ok := patternSize(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	if r.Method == http.MethodHead {
		return
	}
	d, status := timedSend(w, n)
	fmt.Printf("http: GET %s: %d bytes to %s in %.3f s: %.1f Mbit/s, %s\n",
		r.URL.Path, n, r.RemoteAddr, d.Seconds(), mbits(n, d), status)
}

// patternSize returns N of GET (or HEAD) /pattern/N, N as parseSize reads it.
func patternSize(r *http.Request) (int64, bool) {
	size := strings.TrimPrefix(r.URL.Path, "/pattern/")
	if r.Method != http.MethodGet && r.Method != http.MethodHead || size == r.URL.Path {
		return 0, false
	}
	n, err := parseSize(size)
	return n, err == nil
}
