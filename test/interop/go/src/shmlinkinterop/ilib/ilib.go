// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

// Package ilib holds what the Go interop peers share with the C tests: the
// deterministic generator both sides use to agree on message sizes and bytes
// without talking (test/interop/interop_common.c implements the same
// functions), plus small helpers for shared mappings and polling.
package ilib

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Rng is splitmix64: tiny, and trivially identical in C and Go.
type Rng struct {
	S uint64
}

// Next returns the next 64-bit value.
func (r *Rng) Next() uint64 {
	r.S += 0x9e3779b97f4a7c15
	z := r.S
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Below returns a value in [0, n) (n > 0); the bias is irrelevant here.
func (r *Rng) Below(n uint64) uint64 {
	return r.Next() % n
}

// MsgRng is the generator of message seq of a run seeded with seed.
func MsgRng(seed, seq uint64) Rng {
	return Rng{S: seed ^ (seq * 0xd1b54a32d192ed03)}
}

// pipeCaps biases pipe payload sizes toward small ones, so that a run moves
// many messages, while one draw in eight may use the whole ring.
var pipeCaps = [8]uint64{16, 16, 16, 16, 128, 128, 1024, ^uint64(0)}

// PipeMsgSize draws the payload size of message seq from r (a MsgRng), in
// [0, maxPayload].
func PipeMsgSize(r *Rng, maxPayload uint64) uint64 {
	v := r.Next()
	c := pipeCaps[v&7]
	if c > maxPayload {
		c = maxPayload
	}
	return (v >> 8) % (c + 1)
}

// frameCaps spreads frame lengths over tiny, MTU-sized and jumbo frames.
var frameCaps = [8]uint64{64, 64, 256, 1500, 1500, 3000, ^uint64(0), ^uint64(0)}

// FrameL3Len draws the L3 length of frame seq from r (a MsgRng), in
// [minLen, maxLen].
func FrameL3Len(r *Rng, minLen, maxLen uint64) uint64 {
	v := r.Next()
	c := frameCaps[v&7]
	if c > maxLen {
		c = maxLen
	}
	if c < minLen {
		c = minLen
	}
	return minLen + (v>>8)%(c-minLen+1)
}

// FillPattern writes the bytes of message seq into b: u64 word 0 is seq
// (little-endian), every later word comes from r, the tail is truncated.
func FillPattern(b []byte, r *Rng, seq uint64) {
	var w [8]byte
	for off := 0; off < len(b); off += 8 {
		v := seq
		if off > 0 {
			v = r.Next()
		}
		binary.LittleEndian.PutUint64(w[:], v)
		copy(b[off:], w[:])
	}
}

// FillFrame writes the L3 bytes of frame seq: FillPattern, then an
// IPv4-looking start (version 4, IHL 5, total length = len(b), seq in the
// identification and flags fields) cut to len(b), so that a receiver can trim
// by the IPv4 total length.
func FillFrame(b []byte, r *Rng, seq uint64) {
	FillPattern(b, r, seq)
	var h [8]byte
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(len(b)))
	binary.BigEndian.PutUint32(h[4:], uint32(seq))
	copy(b, h[:])
}

// FirstDiff returns the first index where a and b differ, or -1.
func FirstDiff(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	if len(b) > len(a) {
		return len(a)
	}
	return -1
}

// MapFD maps the whole file behind fd shared and read-write, as gVisor does.
func MapFD(fd int) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("fstat fd %d: %v", fd, err)
	}
	b, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap fd %d (%d bytes): %v", fd, st.Size, err)
	}
	return b, nil
}

// Backoff paces a polling loop: OS-level yields first (the peer may share
// our CPU), short sleeps once the peer has been idle for a while.
type Backoff struct {
	n int
}

// Idle is called after a round that made no progress.
func (b *Backoff) Idle() {
	b.n++
	if b.n < 256 {
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		return
	}
	time.Sleep(20 * time.Microsecond)
}

// Reset is called after a round that made progress.
func (b *Backoff) Reset() {
	b.n = 0
}

// Fail prints a message prefixed by the program name and exits with 1.
func Fail(prog, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "%s: FAIL: %s\n", prog, fmt.Sprintf(format, a...))
	os.Exit(1)
}

// Watchdog ends the process with exit code 3 when d has passed, so that a
// stalled peer never outlives its test; what() describes the progress made.
func Watchdog(prog string, d time.Duration, what func() string) {
	go func() {
		time.Sleep(d)
		fmt.Fprintf(os.Stderr, "%s: FAIL: no completion within %v: %s\n", prog, d, what())
		os.Exit(3)
	}()
}
