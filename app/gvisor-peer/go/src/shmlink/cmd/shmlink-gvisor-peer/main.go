// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

// Command shmlink-gvisor-peer is a gVisor netstack attached to a net_shmlink
// port (or anything speaking shmlink's control protocol) with package gvlink,
// or, as a baseline to compare with, to a Linux TAP interface (-tap), plus a
// few network tools run inside that stack:
//
//	shmlink-gvisor-peer [link and stack flags] COMMAND [command flags] ARGS
//
//	ping [-c N] [-i D] [-s BYTES] [-W D] [-v] HOST  ICMP or ICMPv6 echoes; exit 1 if any is lost
//	udp-echo [-c N] [-s BYTES] [-W D] HOST:PORT  datagrams to an echo server (serve), checked
//	tcp-send N HOST:PORT                         N bytes of the test pattern to a sink
//	tcp-recv N HOST:PORT                         N bytes of the pattern from a source (serve, port+1)
//	tcp-sink [-port P] [-n K]                    accept K connections, check the pattern
//	serve [-port P] [-http P]                    answer pings; TCP sink on P, TCP source on
//	                                             P+1 and UDP echo on P, until killed; with
//	                                             -http, GET /pattern/N (N bytes of the
//	                                             pattern) over HTTP/1.1 on that port too
//	http-get [-sha256 HEX] [-n BYTES] [-W D] URL  an HTTP/1.1 GET (host an IP literal), the
//	                                             body counted and hashed; exit 1 if not 200,
//	                                             or not as -n or -sha256 say, or over -W
//	pattern N                                    N bytes of the pattern to stdout; no link,
//	                                             no flags needed
//
// The pattern is a 65521-byte pseudo-random block repeated; a sink answers
// each connection with the 8-byte count of bytes it verified, so tcp-send
// knows its data arrived intact. Exit status: 0 success, 1 a check failed,
// 2 usage or set-up error, 3 the link went away.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/sniffer"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"shmlink/gvlink"
)

const prog = "shmlink-gvisor-peer"

func usage() {
	fmt.Fprintf(os.Stderr, `usage: %s -socket PATH|-tap NAME -addr A/N [flags] COMMAND [command flags] ARGS
       %s pattern N
commands:
  ping [-c N] [-i D] [-s BYTES] [-W D] [-resolve D] [-v] HOST
  udp-echo [-c N] [-s BYTES] [-W D] HOST:PORT
  tcp-send N HOST:PORT      (N may end in K, M or G: KiB, MiB, GiB)
  tcp-recv N HOST:PORT
  tcp-sink [-port P] [-n K]
  serve [-port P] [-http P]
  http-get [-sha256 HEX] [-n BYTES] [-W D] URL
  pattern N                 (N bytes of the test pattern to stdout; no link)
flags:
`, prog, prog)
	flag.PrintDefaults()
}

func die(code int, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", a...)
	os.Exit(code)
}

// gwList collects repeated -gw flags.
type gwList []tcpip.Address

func (l *gwList) String() string { return fmt.Sprint(*l) }
func (l *gwList) Set(v string) error {
	ip := net.ParseIP(v)
	if ip == nil {
		return fmt.Errorf("not an IP address")
	}
	*l = append(*l, gvlink.AddrFromIP(ip))
	return nil
}

// addrList collects repeated -addr flags.
type addrList []tcpip.AddressWithPrefix

func (l *addrList) String() string { return fmt.Sprint(*l) }
func (l *addrList) Set(v string) error {
	ip, n, err := net.ParseCIDR(v)
	if err != nil {
		return err
	}
	ones, _ := n.Mask.Size()
	*l = append(*l, tcpip.AddressWithPrefix{Address: gvlink.AddrFromIP(ip), PrefixLen: ones})
	return nil
}

// parseSize reads N, NK, NM or NG (powers of 1024).
func parseSize(s string) (int64, error) {
	orig := s
	mult := int64(1)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i")
	switch {
	case strings.HasSuffix(s, "K"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("bad size %q", orig)
	}
	return n * mult, nil
}

// hostPort parses HOST:PORT (an IPv6 host in brackets).
func hostPort(s string) tcpip.FullAddress {
	to, err := parseHostPort(s)
	if err != nil {
		die(2, "%v", err)
	}
	return to
}

func parseHostPort(s string) (tcpip.FullAddress, error) {
	h, p, err := net.SplitHostPort(s)
	ip := net.ParseIP(h)
	port, perr := strconv.ParseUint(p, 10, 16)
	if err != nil || ip == nil || perr != nil {
		return tcpip.FullAddress{}, fmt.Errorf("bad address %q: want HOST:PORT, an IP address and a port", s)
	}
	return tcpip.FullAddress{NIC: gvlink.NIC, Addr: gvlink.AddrFromIP(ip), Port: uint16(port)}, nil
}

// sharedmemFlags are the flags that only mean something on a net_shmlink
// port; -tap refuses them rather than ignore them.
var sharedmemFlags = []string{"socket", "listen", "role", "framing", "virtio", "buffer-size",
	"data-size", "pipe-size", "tx-csum-offload", "rx-csum-offload", "wait"}

// checkLinkFlags enforces one link: -socket (a net_shmlink port) or -tap.
func checkLinkFlags(tap string) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if tap == "" {
		if !set["socket"] {
			die(2, "one of -socket or -tap is required")
		}
		return
	}
	for _, name := range sharedmemFlags {
		if set[name] {
			die(2, "-%s is for a net_shmlink port, not with -tap", name)
		}
	}
}

func main() {
	var cfg gvlink.Config
	var addrs addrList
	var gws gwList
	var role, framing, mac string
	var listen bool
	var mtu, bufSize uint
	flag.StringVar(&cfg.Socket, "socket", "", "control socket path (net_shmlink's socket= devarg); this or -tap is required")
	tap := flag.String("tap", "", "attach to this Linux TAP interface of the current network namespace instead (created if absent; Ethernet, MTU -mtu, no GSO or checksum offloads; bring its kernel side up and address it yourself)")
	flag.BoolVar(&listen, "listen", false, "create the socket and wait for the port to connect (its listen=no); default: connect")
	flag.StringVar(&role, "role", "auto", "gVisor role: client (sharedmem.New), server (NewServerEndpoint) or auto (connector: as offered; listener: client)")
	flag.StringVar(&framing, "framing", "eth", "eth or ip (raw IP packets); as the port's framing=")
	flag.BoolVar(&cfg.Virtio, "virtio", false, "10-byte virtio-net header (the port's virtio_hdr=yes; client role only)")
	flag.UintVar(&mtu, "mtu", 1500, "L3 MTU; as the port's mtu= (with -tap, the kernel side's MTU is set to it too)")
	flag.StringVar(&mac, "mac", "", "MAC address (default random, locally administered)")
	flag.UintVar(&bufSize, "buffer-size", 2048, "listener: buffer size the client carves (a connector takes the port's)")
	flag.IntVar(&cfg.DataSize, "data-size", gvlink.ListenDataSize, "listener: size of each queue's data region")
	flag.IntVar(&cfg.PipeSize, "pipe-size", gvlink.ListenPipeSize, "listener: size of each pipe")
	flag.BoolVar(&cfg.TXChecksumOffload, "tx-csum-offload", false, "leave the TCP/UDP checksums the stack sends unfilled, if the port agrees (control protocol 1.1)")
	flag.BoolVar(&cfg.RXChecksumOffload, "rx-csum-offload", false, "do not verify the TCP/UDP checksums the stack receives, if the port agrees")
	flag.DurationVar(&cfg.Timeout, "wait", 30*time.Second, "how long to wait for the socket (connector) or the port (listener); 0: forever")
	flag.Var(&addrs, "addr", "address/prefix of the stack, IPv4 or IPv6 (repeat for more)")
	flag.Var(&gws, "gw", "default route through this router, IPv4 or IPv6 (one per family)")
	pcap := flag.String("pcap", "", "write the packets the stack sends and receives to this pcap file (raw IP, 256 bytes each)")
	pcapWait := flag.Bool("pcap-wait", false, "with -pcap: capture only after a SIGUSR1")
	statsEvery := flag.Duration("stats", 0, "print the stack's counters this often, and at the end (0: never)")
	flag.Usage = usage
	flag.Parse()
	cfg.Retrying = func(err error) { fmt.Printf("%s: attach failed: %v; trying again\n", prog, err) }
	// pattern needs no link: a test compares its output with what a kernel
	// program fetched from serve -http.
	if flag.NArg() > 0 && flag.Arg(0) == "pattern" {
		os.Exit(patternCmd(flag.Args()[1:]))
	}
	if flag.NArg() == 0 || len(addrs) == 0 {
		usage()
		os.Exit(2)
	}
	checkLinkFlags(*tap)
	switch role {
	case "auto":
		cfg.Role = gvlink.RoleAny
	case "client":
		cfg.Role = gvlink.RoleClient
	case "server":
		cfg.Role = gvlink.RoleServer
	default:
		die(2, "bad -role %q", role)
	}
	if framing != "eth" && framing != "ip" {
		die(2, "bad -framing %q", framing)
	}
	cfg.RawIP = framing == "ip"
	cfg.MTU, cfg.BufferSize = uint32(mtu), uint32(bufSize)
	if mac != "" {
		m, err := tcpip.ParseMACAddress(mac)
		if err != nil {
			die(2, "bad -mac: %v", err)
		}
		cfg.MAC = m
	}

	// Parse the command before attaching, so that a typo costs no link.
	cmd, args := flag.Arg(0), flag.Args()[1:]
	run := command(cmd, args)

	// link stays nil on a tap: the rest is the same on either.
	var link *gvlink.Link
	var ep stack.LinkEndpoint
	var err error
	switch {
	case *tap != "":
		ep, err = openTap(*tap, cfg.MTU, cfg.MAC)
	case listen:
		link, err = gvlink.Listen(cfg)
	default:
		link, err = gvlink.Dial(cfg)
	}
	if err != nil {
		die(2, "%v", err)
	}
	if link != nil {
		ep = link.Endpoint
	}
	flush := func() {}
	if *pcap != "" {
		f, err := os.Create(*pcap)
		if err == nil {
			w := &lockedWriter{w: bufio.NewWriterSize(f, 1<<20)}
			flush = w.flush
			ep, err = sniffer.NewWithWriter(ep, w, 256)
		}
		if err != nil {
			die(2, "-pcap: %v", err)
		}
		go func() {
			for range time.Tick(time.Second) {
				flush()
			}
		}()
		if *pcapWait {
			sniffer.LogPacketsToPCAP.Store(0)
			usr1 := make(chan os.Signal, 1)
			signal.Notify(usr1, syscall.SIGUSR1)
			go func() {
				<-usr1
				sniffer.LogPacketsToPCAP.Store(1)
			}()
		}
	}
	s, err := gvlink.NewStack(ep, addrs)
	if err != nil {
		die(2, "%v", err)
	}
	for _, gw := range gws {
		gvlink.AddGateway(s, gw)
	}
	if link != nil {
		if !link.WaitPosted(5 * time.Second) {
			die(2, "the client side posted no receive buffers within 5 s")
		}
		fmt.Printf("%s: attached to %s as gVisor %s (framing %s, virtio %v, MTU %d, buffer size %d, MAC %v, addresses %v); peer MTU %d, MAC %v, protocol 1.%d, TXChecksumOffload %v, RXChecksumOffload %v; handshakes %d\n",
			prog, cfg.Socket, link.Role, framing, cfg.Virtio, mtu, link.BufferSize,
			link.Endpoint.LinkAddress(), addrs, link.PeerMTU, link.PeerMAC, link.PeerMinor,
			link.TXChecksumOffload, link.RXChecksumOffload, link.Handshakes)
	} else {
		fmt.Printf("%s: attached to tap %s (MTU %d, MAC %v, addresses %v)\n",
			prog, *tap, mtu, ep.LinkAddress(), addrs)
	}
	stats := func() {}
	if *statsEvery > 0 {
		stats = func() { printStats(s) }
		go func() {
			for range time.Tick(*statsEvery) {
				stats()
			}
		}()
	}
	if link != nil {
		go func() {
			<-link.Done()
			stats()
			flush()
			fmt.Printf("%s: link down: the peer closed the control socket\n", prog)
			os.Exit(3)
		}()
	}
	rc := run(s)
	stats()
	flush()
	os.Exit(rc)
}

// lockedWriter buffers the pcap records the stack's goroutines write.
type lockedWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (l *lockedWriter) flush() {
	l.mu.Lock()
	l.w.Flush()
	l.mu.Unlock()
}

// printStats prints the stack counters that tell where packets went.
func printStats(s *stack.Stack) {
	st := s.Stats()
	fmt.Printf("stats: nic rx %d tx %d tx-no-buffer %d; arp requests out %d in %d (not ours %d), replies out %d in %d; ip rx %d malformed %d tx-errors %d; tcp rx %d tx %d send-errors %d invalid %d checksum-errors %d retransmits %d timeouts %d; dropped %d\n",
		st.NICs.Rx.Packets.Value(), st.NICs.Tx.Packets.Value(), st.NICs.TxPacketsDroppedNoBufferSpace.Value(),
		st.ARP.OutgoingRequestsSent.Value(), st.ARP.RequestsReceived.Value(),
		st.ARP.RequestsReceivedUnknownTargetAddress.Value(), st.ARP.OutgoingRepliesSent.Value(),
		st.ARP.RepliesReceived.Value(),
		st.IP.PacketsReceived.Value(), st.IP.MalformedPacketsReceived.Value(),
		st.IP.OutgoingPacketErrors.Value(),
		st.TCP.ValidSegmentsReceived.Value(), st.TCP.SegmentsSent.Value(), st.TCP.SegmentSendErrors.Value(),
		st.TCP.InvalidSegmentsReceived.Value(), st.TCP.ChecksumErrors.Value(),
		st.TCP.Retransmits.Value(), st.TCP.Timeouts.Value(), st.DroppedPackets.Value())
}

// command parses a command line; the returned function runs it on the stack
// and returns the exit status.
func command(cmd string, args []string) func(*stack.Stack) int {
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	switch cmd {
	case "ping":
		count := fs.Int("c", 10, "echoes to send (0: until SIGINT or SIGTERM)")
		interval := fs.Duration("i", 0, "pause between an answer and the next echo")
		size := fs.Int("s", 56, "payload bytes")
		wait := fs.Duration("W", time.Second, "how long to wait for each answer")
		verbose := fs.Bool("v", false, "a line per answer, as ping(8) prints")
		resolve := fs.Duration("resolve", 0, "first resolve HOST's link address (ARP, NDP), "+
			"asking again after each failure, for up to this long (0: no)")
		fs.Parse(args)
		if fs.NArg() != 1 || net.ParseIP(fs.Arg(0)) == nil || *size < 8 {
			die(2, "usage: ping [-c N] [-i D] [-s BYTES>=8] [-W D] [-resolve D] [-v] HOST")
		}
		dst := gvlink.AddrFromIP(net.ParseIP(fs.Arg(0)))
		return func(s *stack.Stack) int {
			if *resolve > 0 && !resolveLink(s, dst, *resolve) {
				return 1
			}
			return ping(s, dst, *count, *interval, *size, *wait, *verbose)
		}
	case "udp-echo":
		count := fs.Int("c", 10, "datagrams to send")
		size := fs.Int("s", 512, "datagram bytes")
		wait := fs.Duration("W", time.Second, "how long to wait for each echo")
		fs.Parse(args)
		if fs.NArg() != 1 || *size < 8 {
			die(2, "usage: udp-echo [-c N] [-s BYTES>=8] [-W D] HOST:PORT")
		}
		to := hostPort(fs.Arg(0))
		return func(s *stack.Stack) int { return udpEcho(s, to, *count, *size, *wait) }
	case "tcp-send", "tcp-recv":
		fs.Parse(args)
		if fs.NArg() != 2 {
			die(2, "usage: %s N HOST:PORT", cmd)
		}
		n, err := parseSize(fs.Arg(0))
		if err != nil {
			die(2, "%v", err)
		}
		to := hostPort(fs.Arg(1))
		if cmd == "tcp-send" {
			return func(s *stack.Stack) int { return tcpSend(s, to, n) }
		}
		return func(s *stack.Stack) int { return tcpRecv(s, to, n) }
	case "tcp-sink":
		port := fs.Uint("port", 5001, "TCP port")
		n := fs.Int("n", 1, "connections to take before exiting (0: forever)")
		fs.Parse(args)
		return func(s *stack.Stack) int { return tcpSink(s, uint16(*port), *n) }
	case "serve":
		port := fs.Uint("port", 5001, "TCP sink and UDP echo port; the TCP source is on the next")
		httpPort := fs.Uint("http", 0, "also serve GET /pattern/N over HTTP/1.1 on this TCP port (0: no)")
		fs.Parse(args)
		if *httpPort > 65535 {
			die(2, "bad -http port %d", *httpPort)
		}
		return func(s *stack.Stack) int {
			serve(s, uint16(*port))
			if *httpPort != 0 {
				httpServe(s, uint16(*httpPort))
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
			fmt.Printf("%s: stopped by %v\n", prog, <-sig)
			return 0
		}
	case "http-get":
		sum := fs.String("sha256", "", "the body's expected SHA-256, in hex")
		size := fs.String("n", "", "the body's expected length (may end in K, M or G)")
		wait := fs.Duration("W", 60*time.Second, "how long the whole transfer may take")
		fs.Parse(args)
		want := httpGetArgs(fs, *sum, *size, *wait)
		return func(s *stack.Stack) int { return httpGet(s, want) }
	}
	usage()
	os.Exit(2)
	return nil
}
