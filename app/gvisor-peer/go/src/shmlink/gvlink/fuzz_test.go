// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

package gvlink

// Go's native fuzzing of what a hostile DPDK side can send a gVisor stack
// through gvlink: any control message (FuzzParseCtl), any answer to the offer
// of a listening stack (FuzzListenAnswer), and any offer, with any files, to a
// stack that dials (FuzzDialOffer). Whatever comes, gvlink must return within
// its timeouts, without panicking, and leave no FD open. The meson test
// gvisor-go-fuzz runs each for a bounded time; go vet checks this file.

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The smallest queues the handshake takes: iterations stay cheap.
const fuzzData, fuzzPipe = 1 << 16, 1 << 12

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// sendRaw sends @b as one record with the FDs @fds.
func sendRaw(sock int, b []byte, fds []int) {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	// The other side may have given up already: that is its right.
	unix.Sendmsg(sock, b, oob, nil, unix.MSG_NOSIGNAL)
}

func devNulls(t *testing.T, n int) []int {
	var fds []int
	for i := 0; i < n; i++ {
		fd, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	return fds
}

// connectFast connects to the socket Listen makes, retrying every 100 us
// (connect() retries every 200 ms: the socket is bound before it listens).
func connectFast(t *testing.T, path string) int {
	for end := time.Now().Add(ctlTimeout); ; {
		sock, err := connect(path, time.Nanosecond)
		if err == nil {
			return sock
		}
		if time.Now().After(end) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// result is what Listen or Dial returned.
type result struct {
	l   *Link
	err error
}

// finish waits (bounded) for @done, closes our end @sock, closes the link if
// there is one and checks that the FDs are back to @before.
func finish(t *testing.T, done chan result, sock, before int) result {
	var r result
	select {
	case r = <-done:
	case <-time.After(3 * ctlTimeout):
		t.Fatalf("no return within %v", 3*ctlTimeout)
	}
	unix.Close(sock)
	if r.l != nil {
		r.l.Close()
	}
	if after := countFDs(t); after != before {
		t.Fatalf("%d FDs open before, %d after (%v)", before, after, r.err)
	}
	return r
}

func FuzzParseCtl(f *testing.F) {
	f.Add((&ctlMsg{typ: msgOffer, nbQP: 1, mtu: 1500, bufferSize: 2048, offloads: 3}).marshal())
	f.Add((&ctlMsg{typ: msgAccept, role: 1, nbQP: 1, flags: flagRawIP}).marshal())
	f.Add((&ctlMsg{typ: msgReject, reason: reasonBusy, text: "busy"}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseCtl(b)
		if err != nil {
			return
		}
		// What parses says the same once written again (the 1.1 extension and
		// a REJECT's text are what marshal adds or keeps by type).
		m2, err := parseCtl(m.marshal())
		if err != nil {
			t.Fatalf("%+v does not parse again: %v", m, err)
		}
		m.minor, m2.minor = 0, 0
		if extended(m.typ) {
			m.text = ""
		}
		if m != m2 {
			t.Fatalf("parsed %+v, then %+v", m, m2)
		}
	})
}

func FuzzListenAnswer(f *testing.F) {
	f.Add((&ctlMsg{typ: msgAccept, role: uint8(RoleServer), nbQP: 1}).marshal(), uint8(0), false)
	f.Add((&ctlMsg{typ: msgAccept, role: uint8(RoleServer), nbQP: 1, offloads: 3}).marshal(),
		uint8(2), false)
	f.Add((&ctlMsg{typ: msgReject, reason: reasonBusy, text: "busy"}).marshal(), uint8(1), false)
	f.Add([]byte{}, uint8(0), true)
	dir, n := f.TempDir(), 0
	f.Fuzz(func(t *testing.T, answer []byte, stray uint8, hangUp bool) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("l%d", n))
		before := countFDs(t)
		done := make(chan result, 1)
		go func() {
			l, err := Listen(Config{Socket: path, Timeout: ctlTimeout, DataSize: fuzzData,
				PipeSize: fuzzPipe})
			done <- result{l, err}
		}()
		sock := connectFast(t, path)
		offer, fds, err := recvCtl(sock)
		closeFDs(fds)
		if err != nil || offer.typ != msgOffer || len(fds) != fdsPerQP {
			t.Fatalf("no offer: %+v, %d FDs, %v", offer, len(fds), err)
		}
		if !hangUp {
			strays := devNulls(t, int(stray%4))
			sendRaw(sock, answer, strays)
			closeFDs(strays)
		} else {
			unix.Shutdown(sock, unix.SHUT_RDWR)
		}
		r := finish(t, done, sock, before)
		if m, err := parseCtl(answer); r.err == nil && (hangUp || err != nil || m.typ != msgAccept) {
			t.Fatalf("attached on answer %x", answer)
		}
	})
}

// offerFiles makes the FDs of an offer from @sizes: one per byte (at most 12),
// an eventfd where the byte is 0xff, else a sealed memfd of one of a few sizes.
func offerFiles(t *testing.T, sizes []byte) []int {
	table := []int64{0, 3, 24, 4096, fuzzPipe, fuzzData, 1 << 20}
	var fds []int
	for i, s := range sizes {
		if i == 12 {
			break
		}
		if s == 0xff {
			fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			fds = append(fds, fd)
			continue
		}
		fd, err := unix.MemfdCreate("fuzz", unix.MFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
		if err := unix.Ftruncate(fd, table[int(s)%len(table)]); err != nil {
			t.Fatal(err)
		}
	}
	return fds
}

func FuzzDialOffer(f *testing.F) {
	good := []byte{5, 0xff, 4, 4, 3, 5, 0xff, 4, 4, 3}
	f.Add((&ctlMsg{typ: msgOffer, nbQP: 1, mtu: 1500, bufferSize: 2048}).marshal(), good)
	f.Add((&ctlMsg{typ: msgOffer, nbQP: 1, mtu: 9000, bufferSize: 1 << 17, offloads: 1}).marshal(),
		good)
	f.Add((&ctlMsg{typ: msgOffer, nbQP: 1, bufferSize: 2048}).marshal(), []byte{1, 2, 3})
	dir, n := f.TempDir(), 0
	f.Fuzz(func(t *testing.T, offer, sizes []byte) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("d%d", n))
		ls, err := listen(path)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(ls)
		before := countFDs(t)
		done := make(chan result, 1)
		go func() {
			// The client role only: gVisor's server endpoint keeps its receive
			// goroutine and eventfd after Close (see Link.Close). One handshake:
			// Dial would try again after one the listener left unfinished.
			cfg := Config{Socket: path, Timeout: ctlTimeout, Role: RoleClient}
			cfg.defaults()
			l, err := dialOnce(&cfg, ctlTimeout)
			done <- result{l, err}
		}()
		sock, _, err := unix.Accept4(ls, unix.SOCK_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		files := offerFiles(t, sizes)
		sendRaw(sock, offer, files)
		closeFDs(files)
		r := finish(t, done, sock, before)
		if m, err := parseCtl(offer); r.err == nil && (err != nil || m.typ != msgOffer ||
			len(files) != fdsPerQP) {
			t.Fatalf("attached on offer %x with %d files", offer, len(files))
		}
	})
}
