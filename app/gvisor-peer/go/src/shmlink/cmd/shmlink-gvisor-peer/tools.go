// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
	"shmlink/gvlink"
)

func netProto(a tcpip.Address) tcpip.NetworkProtocolNumber {
	if len(gvlink.AddrToIP(a)) == net.IPv6len {
		return ipv6.ProtocolNumber
	}
	return ipv4.ProtocolNumber
}

func mbits(n int64, d time.Duration) float64 { return float64(n) * 8 / d.Seconds() / 1e6 }

// ---- the test pattern: a 65521-byte (prime) pseudo-random block, repeated ----

const (
	patLen   = 65521
	chunkLen = 128 << 10
)

// pattern holds the block followed by enough of its repetition that any
// chunk of up to chunkLen bytes at stream offset off is pattern[off%patLen:].
var pattern = func() []byte {
	p := make([]byte, patLen+chunkLen)
	x := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < patLen; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x >> 32)
	}
	for i := patLen; i < len(p); i++ {
		p[i] = p[i-patLen]
	}
	return p
}()

func patternAt(off int64, n int) []byte {
	o := int(off % patLen)
	return pattern[o : o+n]
}

// timedSend sends n bytes of the pattern to w; how long it took, and "done" or
// why it failed, for the line a server prints.
func timedSend(w io.Writer, n int64) (time.Duration, string) {
	start := time.Now()
	if err := sendPattern(w, n); err != nil {
		return time.Since(start), "FAILED: " + err.Error()
	}
	return time.Since(start), "done"
}

// sendPattern writes n bytes of the pattern to w.
func sendPattern(w io.Writer, n int64) error {
	for off := int64(0); off < n; {
		k := int64(chunkLen)
		if n-off < k {
			k = n - off
		}
		if _, err := w.Write(patternAt(off, int(k))); err != nil {
			return fmt.Errorf("after %d bytes: %v", off, err)
		}
		off += k
	}
	return nil
}

// checkPattern reads r to EOF and returns the bytes that matched the pattern
// before the first difference, and an error at a difference or a read error.
func checkPattern(r io.Reader) (int64, error) {
	buf := make([]byte, chunkLen)
	var off int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if want := patternAt(off, n); !bytes.Equal(buf[:n], want) {
				i := 0
				for buf[i] == want[i] {
					i++
				}
				return off + int64(i), fmt.Errorf("content differs at byte %d", off+int64(i))
			}
			off += int64(n)
		}
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}

// patternCmd writes N bytes of the pattern to stdout, without a link: what
// a test compares a download from serve -http with.
func patternCmd(args []string) int {
	fs := flag.NewFlagSet("pattern", flag.ExitOnError)
	fs.Parse(args)
	if fs.NArg() != 1 {
		die(2, "usage: pattern N")
	}
	n, err := parseSize(fs.Arg(0))
	if err != nil {
		die(2, "%v", err)
	}
	// Unbuffered: sendPattern writes 128 KiB at a time.
	if err := sendPattern(os.Stdout, n); err != nil {
		die(2, "pattern: writing stdout: %v", err)
	}
	return 0
}

// ---- ping ----

// resolveLink waits until the stack knows dst's link address, asking again after
// each resolution that fails (gVisor gives up after 3 probes a second apart), for
// up to d. The first echo then measures the path alone: an echo queued behind a
// resolution that fails is dropped by the stack, which a loaded machine can cause.
func resolveLink(s *stack.Stack, dst tcpip.Address, d time.Duration) bool {
	var local tcpip.Address // none: the stack picks the source
	start := time.Now()
	deadline := start.Add(d)
	for tries := 1; ; tries++ {
		done := make(chan stack.LinkResolutionResult, 1)
		terr := s.GetLinkAddress(gvlink.NIC, dst, local, netProto(dst),
			func(r stack.LinkResolutionResult) { done <- r })
		if _, would := terr.(*tcpip.ErrWouldBlock); terr != nil && !would {
			fmt.Printf("ping %v: cannot resolve its link address: %v\n", gvlink.AddrToIP(dst), terr)
			return false
		}
		select {
		case r := <-done:
			if r.Err == nil {
				fmt.Printf("ping %v: link address %v after %d resolution(s), %.1f ms\n",
					gvlink.AddrToIP(dst), r.LinkAddress, tries,
					float64(time.Since(start))/1e6)
				return true
			}
		case <-time.After(time.Until(deadline)):
		}
		if !time.Now().Before(deadline) {
			fmt.Printf("ping %v: no link address within %v (%d resolution(s))\n",
				gvlink.AddrToIP(dst), d, tries)
			return false
		}
	}
}

// ping sends count ICMP (or ICMPv6) echoes one after the other, each waiting
// up to wait for its answer, and reports loss and round-trip times.
func ping(s *stack.Stack, dst tcpip.Address, count int, interval time.Duration, size int, wait time.Duration, verbose bool) int {
	proto, tproto := ipv4.ProtocolNumber, icmp.ProtocolNumber4
	reqType, repType := byte(header.ICMPv4Echo), byte(header.ICMPv4EchoReply)
	if netProto(dst) == ipv6.ProtocolNumber {
		proto, tproto = ipv6.ProtocolNumber, icmp.ProtocolNumber6
		reqType, repType = byte(header.ICMPv6EchoRequest), byte(header.ICMPv6EchoReply)
	}
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(tproto, proto, &wq)
	if terr != nil {
		die(2, "ping endpoint: %v", terr)
	}
	defer ep.Close()
	entry, readable := waiter.NewChannelEntry(waiter.EventIn)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	if terr := ep.Connect(tcpip.FullAddress{NIC: gvlink.NIC, Addr: dst}); terr != nil {
		die(2, "ping: connect to %v: %v", dst, terr)
	}
	// Echo: type, code, checksum, ident (set by the stack), sequence, payload.
	req := make([]byte, 8+size)
	req[0] = reqType
	copy(req[16:], patternAt(0, size-8))
	var got bytes.Buffer
	var rtts []time.Duration
	lost := 0
	// -c 0: until SIGINT or SIGTERM, then the summary of what was sent.
	stop := make(chan os.Signal, 1)
	if count == 0 {
		signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	}
	seq := 0
loop:
	for ; count == 0 || seq < count; seq++ {
		select {
		case <-stop:
			break loop
		default:
		}
		binary.BigEndian.PutUint16(req[6:], uint16(seq))
		start := time.Now()
		binary.BigEndian.PutUint64(req[8:], uint64(start.UnixNano()))
		deadline := start.Add(wait)
		for {
			_, terr = ep.Write(bytes.NewReader(req), tcpip.WriteOptions{})
			if _, ok := terr.(*tcpip.ErrWouldBlock); !ok || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if terr != nil {
			fmt.Printf("ping %v: seq %d: %v\n", dst, seq, terr)
		}
		ok := false
		for !ok && terr == nil {
			got.Reset()
			if _, rerr := ep.Read(&got, tcpip.ReadOptions{}); rerr != nil {
				if _, would := rerr.(*tcpip.ErrWouldBlock); !would {
					die(2, "ping: read: %v", rerr)
				}
				left := time.Until(deadline)
				if left <= 0 {
					break
				}
				select {
				case <-readable:
				case <-time.After(left):
				}
				continue
			}
			b := got.Bytes()
			// An answer to this echo (late answers to earlier ones are skipped).
			ok = len(b) == len(req) && b[0] == repType &&
				binary.BigEndian.Uint16(b[6:]) == uint16(seq) && bytes.Equal(b[8:], req[8:])
		}
		if ok {
			rtts = append(rtts, time.Since(start))
			if verbose {
				fmt.Printf("%d bytes from %v: icmp_seq=%d time=%.1f us\n", len(req), gvlink.AddrToIP(dst), seq,
					float64(rtts[len(rtts)-1])/1e3)
			}
		} else {
			lost++
			fmt.Printf("ping %v: no answer to seq %d within %v\n", gvlink.AddrToIP(dst), seq, wait)
		}
		time.Sleep(interval)
	}
	var sum time.Duration
	for _, r := range rtts {
		sum += r
	}
	var min, med, avg, max time.Duration
	if n := len(rtts); n > 0 {
		avg = sum / time.Duration(n)
		sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
		min, med, max = rtts[0], rtts[n/2], rtts[n-1]
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	fmt.Printf("ping %v: %d sent, %d received, %d lost; rtt min/avg/median/max %.1f/%.1f/%.1f/%.1f us\n",
		gvlink.AddrToIP(dst), seq, seq-lost, lost, us(min), us(avg), us(med), us(max))
	if lost > 0 {
		return 1
	}
	return 0
}

// ---- UDP ----

// udpEcho sends count datagrams to an echo server and checks every answer.
func udpEcho(s *stack.Stack, to tcpip.FullAddress, count, size int, wait time.Duration) int {
	c, err := gonet.DialUDP(s, nil, &to, netProto(to.Addr))
	if err != nil {
		die(2, "udp-echo: %v", err)
	}
	defer c.Close()
	msg := make([]byte, size)
	buf := make([]byte, size+1)
	lost := 0
	var sum time.Duration
	for seq := 0; seq < count; seq++ {
		binary.BigEndian.PutUint64(msg, uint64(seq))
		copy(msg[8:], patternAt(int64(seq), size-8))
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			die(2, "udp-echo: write: %v", err)
		}
		c.SetReadDeadline(start.Add(wait))
		ok := false
		for !ok {
			n, err := c.Read(buf)
			if err != nil {
				break // deadline: lost
			}
			ok = bytes.Equal(buf[:n], msg)
		}
		if ok {
			sum += time.Since(start)
		} else {
			lost++
		}
	}
	avg := 0.0
	if count > lost {
		avg = float64(sum) / 1e3 / float64(count-lost)
	}
	fmt.Printf("udp-echo %v:%d: %d sent, %d echoed intact, %d lost; rtt avg %.1f us\n",
		gvlink.AddrToIP(to.Addr), to.Port, count, count-lost, lost, avg)
	if lost > 0 {
		return 1
	}
	return 0
}

// udpEchoServer answers every datagram on port with the same bytes.
func udpEchoServer(s *stack.Stack, proto tcpip.NetworkProtocolNumber, port uint16) {
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(udp.ProtocolNumber, proto, &wq)
	if terr == nil && proto == ipv6.ProtocolNumber {
		ep.SocketOptions().SetV6Only(true)
	}
	if terr == nil {
		terr = ep.Bind(tcpip.FullAddress{NIC: gvlink.NIC, Port: port})
	}
	if terr != nil {
		die(2, "udp echo server on port %d: %v", port, terr)
	}
	c := newUDPConn(s, &wq, ep)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo(buf[:n], from)
		}
	}()
}

// ---- TCP ----

func dialTCP(s *stack.Stack, to tcpip.FullAddress) *gonet.TCPConn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, s, to, netProto(to.Addr))
	if err != nil {
		die(2, "connecting to %v:%d: %v", gvlink.AddrToIP(to.Addr), to.Port, err)
	}
	return c
}

// tcpSend sends n bytes of the pattern and waits for the sink's count.
func tcpSend(s *stack.Stack, to tcpip.FullAddress, n int64) int {
	c := dialTCP(s, to)
	defer c.Close()
	start := time.Now()
	if err := sendPattern(c, n); err != nil {
		fmt.Printf("tcp-send: %v\n", err)
		return 1
	}
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var ack [8]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		fmt.Printf("tcp-send: no count from the sink: %v\n", err)
		return 1
	}
	d := time.Since(start)
	verified := int64(binary.LittleEndian.Uint64(ack[:]))
	fmt.Printf("tcp-send %v:%d: %d bytes sent, %d verified by the sink, in %.3f s: %.1f Mbit/s\n",
		gvlink.AddrToIP(to.Addr), to.Port, n, verified, d.Seconds(), mbits(n, d))
	if verified != n {
		return 1
	}
	return 0
}

// tcpRecv asks a source for n bytes and checks them.
func tcpRecv(s *stack.Stack, from tcpip.FullAddress, n int64) int {
	c := dialTCP(s, from)
	defer c.Close()
	start := time.Now()
	var req [8]byte
	binary.LittleEndian.PutUint64(req[:], uint64(n))
	if _, err := c.Write(req[:]); err != nil {
		die(2, "tcp-recv: %v", err)
	}
	got, err := checkPattern(c)
	d := time.Since(start)
	if err == nil && got != n {
		err = fmt.Errorf("the source sent %d bytes", got)
	}
	fmt.Printf("tcp-recv %v:%d: %d of %d bytes received and verified in %.3f s: %.1f Mbit/s\n",
		gvlink.AddrToIP(from.Addr), from.Port, got, n, d.Seconds(), mbits(got, d))
	if err != nil {
		fmt.Printf("tcp-recv: %v\n", err)
		return 1
	}
	return 0
}

// listenTCP listens on port for one network protocol (IPv6 without v4-mapped
// addresses, so that both families can listen on the same port).
func listenTCP(s *stack.Stack, proto tcpip.NetworkProtocolNumber, port uint16) *gonet.TCPListener {
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(tcp.ProtocolNumber, proto, &wq)
	if terr == nil && proto == ipv6.ProtocolNumber {
		ep.SocketOptions().SetV6Only(true)
	}
	if terr == nil {
		terr = ep.Bind(tcpip.FullAddress{NIC: gvlink.NIC, Port: port})
	}
	if terr == nil {
		terr = ep.Listen(16)
	}
	if terr != nil {
		die(2, "listening on TCP port %d: %v", port, terr)
	}
	return gonet.NewTCPListener(s, &wq, ep)
}

// protocols lists the network protocols the stack has addresses for.
func protocols(s *stack.Stack) []tcpip.NetworkProtocolNumber {
	var ps []tcpip.NetworkProtocolNumber
	seen := map[tcpip.NetworkProtocolNumber]bool{}
	for _, a := range s.AllAddresses()[gvlink.NIC] {
		if !seen[a.Protocol] {
			seen[a.Protocol] = true
			ps = append(ps, a.Protocol)
		}
	}
	return ps
}

// acceptAll accepts on every listener and calls handle for each connection.
func acceptAll(ls []*gonet.TCPListener, handle func(net.Conn)) {
	for _, l := range ls {
		go func(l *gonet.TCPListener) {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go handle(c)
			}
		}(l)
	}
}

// sinkConn checks one sender's pattern, answers the verified count, and
// reports; it returns whether everything matched.
func sinkConn(c net.Conn) bool {
	defer c.Close()
	start := time.Now()
	got, err := checkPattern(c)
	d := time.Since(start)
	var ack [8]byte
	binary.LittleEndian.PutUint64(ack[:], uint64(got))
	c.Write(ack[:])
	status := "verified"
	if err != nil {
		status = "FAILED: " + err.Error()
	}
	fmt.Printf("tcp-sink: %d bytes from %v in %.3f s: %.1f Mbit/s, %s\n",
		got, c.RemoteAddr(), d.Seconds(), mbits(got, d), status)
	return err == nil
}

// sourceConn sends as many pattern bytes as the client asks for.
func sourceConn(c net.Conn) {
	defer c.Close()
	var req [8]byte
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return
	}
	n := int64(binary.LittleEndian.Uint64(req[:]))
	d, status := timedSend(c, n)
	fmt.Printf("tcp-source: %d bytes to %v in %.3f s: %.1f Mbit/s, %s\n",
		n, c.RemoteAddr(), d.Seconds(), mbits(n, d), status)
}

// tcpSink takes n connections (0: forever), one after the other.
func tcpSink(s *stack.Stack, port uint16, n int) int {
	var ls []*gonet.TCPListener
	for _, p := range protocols(s) {
		ls = append(ls, listenTCP(s, p, port))
	}
	fmt.Printf("tcp-sink: listening on TCP port %d\n", port)
	conns := make(chan net.Conn)
	acceptAll(ls, func(c net.Conn) { conns <- c })
	rc := 0
	for i := 0; n == 0 || i < n; i++ {
		if !sinkConn(<-conns) {
			rc = 1
		}
	}
	settle(s, 5*time.Second)
	return rc
}

// settle waits, for up to d, until no TCP connection of @s is open any more,
// so that what was written last (a sink's count) has been acknowledged: once
// the process exits, nothing retransmits a segment that was lost, nor sends
// one still queued.
func settle(s *stack.Stack, d time.Duration) {
	open := s.Stats().TCP.CurrentConnected
	for end := time.Now().Add(d); open.Value() > 0 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
}

// serve starts the servers and returns; the stack answers pings by itself.
func serve(s *stack.Stack, port uint16) {
	var sinks, sources []*gonet.TCPListener
	for _, p := range protocols(s) {
		sinks = append(sinks, listenTCP(s, p, port))
		sources = append(sources, listenTCP(s, p, port+1))
		udpEchoServer(s, p, port)
	}
	acceptAll(sinks, func(c net.Conn) { sinkConn(c) })
	acceptAll(sources, sourceConn)
	fmt.Printf("serve: answering pings; TCP sink on port %d, TCP source on port %d, UDP echo on port %d\n",
		port, port+1, port)
}
