// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

// Command pipepeer drives gVisor's own pipe.Tx and pipe.Rx for the C pipe
// interop tests (test_pipe_stress.c, test_pipe_script.c).
//
//	pipepeer stress -txfd 3 -rxfd 4 -txseed S -rxseed T -txcount N -rxcount M
//
// writes N messages into the ring file at txfd (this side is its writer and
// calls Tx.Init) and reads M messages from the ring file at rxfd, both at once
// in one polling loop. Sizes and bytes of message seq come from
// ilib.MsgRng(seed, seq); the reader checks every byte and the order. Either
// fd may be -1.
//
//	pipepeer script < commands
//
// runs a single-process script of pipe operations on an in-memory ring and
// prints, after each command, its result and the whole ring in hex, so that
// the C test can run the same script on shmlink_pipe and compare byte for byte.
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem/pipe"
	"shmlinkinterop/ilib"
)

const prog = "pipepeer"

func main() {
	if len(os.Args) < 2 {
		ilib.Fail(prog, "usage: pipepeer stress|script [flags]")
	}
	switch os.Args[1] {
	case "stress":
		stress(os.Args[2:])
	case "script":
		script()
	default:
		ilib.Fail(prog, "unknown mode %q", os.Args[1])
	}
}

// stressSide is one direction of a stress run.
type stressSide struct {
	seed   uint64
	count  uint64
	done   atomic.Uint64 // messages fully pushed or checked
	max    uint64        // max payload of the ring
	bytes  uint64
	active bool
}

func stress(args []string) {
	fs := flag.NewFlagSet("stress", flag.ExitOnError)
	txfd := fs.Int("txfd", -1, "ring file this side writes")
	rxfd := fs.Int("rxfd", -1, "ring file this side reads")
	txseed := fs.Uint64("txseed", 1, "seed of the messages written")
	rxseed := fs.Uint64("rxseed", 2, "seed of the messages read")
	txcount := fs.Uint64("txcount", 0, "messages to write")
	rxcount := fs.Uint64("rxcount", 0, "messages to read")
	batchSeed := fs.Uint64("batchseed", 3, "seed of this side's batch sizes")
	timeout := fs.Duration("timeout", 120*time.Second, "give up after this long")
	fs.Parse(args)

	var tx pipe.Tx
	var rx pipe.Rx
	ts := stressSide{seed: *txseed, count: *txcount}
	rs := stressSide{seed: *rxseed, count: *rxcount}
	if *txfd >= 0 {
		b, err := ilib.MapFD(*txfd)
		if err != nil {
			ilib.Fail(prog, "%v", err)
		}
		// The writer initialises the ring: it owns offset 0 from now on.
		tx.Init(b)
		ts.max = uint64(len(b)&^7) - 16
		ts.active = true
	}
	if *rxfd >= 0 {
		b, err := ilib.MapFD(*rxfd)
		if err != nil {
			ilib.Fail(prog, "%v", err)
		}
		rx.Init(b)
		rs.max = uint64(len(b)&^7) - 16
		rs.active = true
	}
	ilib.Watchdog(prog, *timeout, func() string {
		return fmt.Sprintf("wrote %d/%d, read %d/%d", ts.done.Load(), ts.count,
			rs.done.Load(), rs.count)
	})

	start := time.Now()
	batch := ilib.Rng{S: *batchSeed}
	var bo ilib.Backoff
	var got []byte
	want := make([]byte, 0, 1<<16)
	for (ts.active && ts.done.Load() < ts.count) || (rs.active && rs.done.Load() < rs.count) {
		progress := false
		if ts.active && ts.done.Load() < ts.count {
			// Push a random number of messages, then publish them together.
			n := 1 + batch.Below(16)
			pushed := uint64(0)
			for ; pushed < n && ts.done.Load() < ts.count; pushed++ {
				seq := ts.done.Load()
				r := ilib.MsgRng(ts.seed, seq)
				size := ilib.PipeMsgSize(&r, ts.max)
				p := tx.Push(size)
				if p == nil {
					break
				}
				ilib.FillPattern(p, &r, seq)
				ts.bytes += size
				ts.done.Add(1)
			}
			if pushed > 0 {
				tx.Flush()
				progress = true
			}
		}
		if rs.active && rs.done.Load() < rs.count {
			n := 1 + batch.Below(16)
			pulled := uint64(0)
			for ; pulled < n && rs.done.Load() < rs.count; pulled++ {
				got = rx.Pull()
				if got == nil {
					break
				}
				seq := rs.done.Load()
				r := ilib.MsgRng(rs.seed, seq)
				size := ilib.PipeMsgSize(&r, rs.max)
				if uint64(len(got)) != size {
					ilib.Fail(prog, "read message %d: %d bytes, want %d", seq, len(got), size)
				}
				want = want[:size]
				ilib.FillPattern(want, &r, seq)
				if i := ilib.FirstDiff(want, got); i >= 0 {
					ilib.Fail(prog, "read message %d (%d bytes): byte %d is %#x, want %#x",
						seq, size, i, got[i], want[i])
				}
				rs.bytes += size
				rs.done.Add(1)
			}
			// Release what we took; always when the ring looked empty, since
			// the writer may be waiting for exactly these slots.
			if pulled > 0 || got == nil {
				rx.Flush()
			}
			if pulled > 0 {
				progress = true
			}
		}
		if progress {
			bo.Reset()
		} else {
			bo.Idle()
		}
	}
	el := time.Since(start)
	fmt.Printf("%s: gVisor pipe.Tx wrote %d messages (%d payload bytes), pipe.Rx read and checked %d messages (%d bytes) in %.2fs\n",
		prog, ts.done.Load(), ts.bytes, rs.done.Load(), rs.bytes, el.Seconds())
}

// script reads commands from stdin, one per line:
//
//	ring N      a fresh N-byte ring (zeros, the "free" word at offset 0)
//	tinit       pipe.Tx.Init        rinit   pipe.Rx.Init
//	push N      Tx.Push(N), payload left as is
//	pushw N     Tx.Push(N), payload byte i set to (step + 13 i) mod 256
//	tflush      tabort      pull      rflush      rabort
//
// and answers each with "<step> <command> -> <result> <ring hex>", where the
// result is "ok", "nil" or "off=<payload offset>,len=<n>".
func script() {
	var buf []byte
	var tx pipe.Tx
	var rx pipe.Rx
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	for step := 0; in.Scan(); step++ {
		line := strings.TrimSpace(in.Text())
		f := strings.Fields(line)
		if len(f) == 0 {
			ilib.Fail(prog, "script step %d: empty line", step)
		}
		arg := uint64(0)
		if len(f) > 1 {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				ilib.Fail(prog, "script step %d: bad argument in %q", step, line)
			}
			arg = v
		}
		res := "ok"
		where := func(p []byte) string {
			if p == nil {
				return "nil"
			}
			// The payload is a sub-slice of buf: its capacity tells where.
			return fmt.Sprintf("off=%d,len=%d", cap(buf)-cap(p), len(p))
		}
		if f[0] != "ring" && buf == nil {
			ilib.Fail(prog, "script step %d: %q before any ring", step, line)
		}
		switch f[0] {
		case "ring":
			buf = make([]byte, arg)
			copy(buf, []byte{0, 0, 0, 0, 0, 0, 0, 0x80})
			tx = pipe.Tx{}
			rx = pipe.Rx{}
		case "tinit":
			tx.Init(buf)
		case "rinit":
			rx.Init(buf)
		case "push", "pushw":
			p := tx.Push(arg)
			if p != nil && f[0] == "pushw" {
				for i := range p {
					p[i] = byte(step + 13*i)
				}
			}
			res = where(p)
		case "tflush":
			tx.Flush()
		case "tabort":
			tx.Abort()
		case "pull":
			res = where(rx.Pull())
		case "rflush":
			rx.Flush()
		case "rabort":
			rx.Abort()
		default:
			ilib.Fail(prog, "script step %d: unknown command %q", step, line)
		}
		fmt.Fprintf(out, "%d %s -> %s %s\n", step, line, res, hex.EncodeToString(buf))
	}
	if err := in.Err(); err != nil {
		ilib.Fail(prog, "reading the script: %v", err)
	}
}
