// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

// Command shmlink-gvbench is the Go side of devtools/shmlink-gvbench: bulk TCP
// between two gVisor netstacks, either linked directly by gVisor's own sharedmem
// queue pair (one process), or each attached to a net_shmlink port with package
// gvlink (two processes, the DPDK application forwarding between the ports), or
// in two processes linked directly (the sink listens with -listen in gVisor's
// server role, the sender dials it as it would dial a port), or both stacks in
// one process, each on its net_shmlink port (pair: the forwarding hop against
// direct, with the same number of Go runtimes):
//
//	shmlink-gvbench direct [-mtu N] [-buffer-size N] [-data-size N -pipe-size N]
//	                       [-streams K] [-from client|server]
//	shmlink-gvbench sink -socket S -addr A/P [-mtu N] [-port P]
//	                     [-listen [-data-size N -pipe-size N]]
//	shmlink-gvbench send -socket S -addr A/P [-mtu N] [-streams K] HOST:PORT
//	shmlink-gvbench pair -socket S -send-socket S2 [-mtu N] [-streams K]
//
// Both ways run the same stack (gvlink.NewStack: same TCP options) and the same
// sender and receiver loops, so that the only difference is the link. Nothing
// is checked: the gvisor test suite verifies content, this measures.
//
// Every mode answers the lines of its standard input, so that the caller
// chooses the interval: "mark" with "mark RECEIVED SENT NANOSECONDS" (the bytes
// the process's applications have read and written so far, the time since it
// started), "stats" with one line per stack, "stats NAME counter value ...",
// the counters that say whether frames were dropped and TCP recovered. Every
// mode exits at the end of standard input (the caller went away). Exit status:
// 0 at the end of input, 1 a transfer failed, 2 set-up error, 3 link down.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/eventfd"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"shmlink/gvlink"
)

const (
	prog    = "shmlink-gvbench"
	ioLen   = 256 << 10 // bytes per Write and per Read
	port    = 5201
	dialFor = 15 * time.Second
)

var start = time.Now()

func die(code int, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", a...)
	os.Exit(code)
}

func usage() {
	fmt.Fprintf(os.Stderr, `usage:
  %[1]s direct [-mtu N] [-buffer-size N] [-data-size N -pipe-size N] [-streams K] [-from client|server]
  %[1]s sink -socket S -addr A/P [-mtu N] [-port P] [-listen [-data-size N -pipe-size N]]
  %[1]s send -socket S -addr A/P [-mtu N] [-streams K] HOST:PORT
  %[1]s pair -socket S -send-socket S2 [-mtu N] [-streams K]
`, prog)
	os.Exit(2)
}

// received and sent count the bytes the applications have read and written.
var received, sent atomic.Int64

// serveInput answers "mark" and "stats" on standard input and exits at its end.
func serveInput(names []string, stacks []*stack.Stack) {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "mark":
			fmt.Printf("mark %d %d %d\n", received.Load(), sent.Load(), time.Since(start).Nanoseconds())
		case "stats":
			for i, s := range stacks {
				st := s.Stats()
				// A full queue (the link's WritePacket returning
				// ErrWouldBlock) is counted by IP only, in ip_tx_errors.
				fmt.Printf("stats %s nic_rx %d nic_tx %d tx_no_buffer %d ip_tx_errors %d dropped %d tcp_rx %d tcp_tx %d "+
					"retransmits %d fast_recovery %d sack_recovery %d tlp_recovery %d spurious_recovery %d timeouts %d\n",
					names[i], st.NICs.Rx.Packets.Value(), st.NICs.Tx.Packets.Value(),
					st.NICs.TxPacketsDroppedNoBufferSpace.Value(), st.IP.OutgoingPacketErrors.Value(),
					st.DroppedPackets.Value(),
					st.TCP.ValidSegmentsReceived.Value(), st.TCP.SegmentsSent.Value(),
					st.TCP.Retransmits.Value(), st.TCP.FastRecovery.Value(),
					st.TCP.SACKRecovery.Value(), st.TCP.TLPRecovery.Value(), st.TCP.SpuriousRecovery.Value(),
					st.TCP.Timeouts.Value())
			}
		}
	}
	os.Exit(0)
}

// sink accepts connections on port and reads each to its end.
func sink(s *stack.Stack, port uint16) {
	l, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: gvlink.NIC, Port: port}, ipv4.ProtocolNumber)
	if err != nil {
		die(2, "listening on port %d: %v", port, err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				die(1, "accept: %v", err)
			}
			go func() {
				defer c.Close()
				buf := make([]byte, ioLen)
				for {
					n, err := c.Read(buf)
					received.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
		}
	}()
}

// send opens @streams connections to @to and writes to each until the process
// ends; a failed connection or write ends the process with status 1.
func send(s *stack.Stack, to tcpip.FullAddress, streams int) {
	for i := 0; i < streams; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), dialFor)
		c, err := gonet.DialContextTCP(ctx, s, to, ipv4.ProtocolNumber)
		cancel()
		if err != nil {
			die(1, "connecting to %v:%d: %v", gvlink.AddrToIP(to.Addr), to.Port, err)
		}
		go func() {
			buf := make([]byte, ioLen)
			for {
				n, err := c.Write(buf)
				sent.Add(int64(n))
				if err != nil {
					die(1, "write: %v", err)
				}
			}
		}()
	}
}

func parseAddr(v string) tcpip.AddressWithPrefix {
	ip, n, err := net.ParseCIDR(v)
	if err != nil || ip.To4() == nil {
		die(2, "bad -addr %q: want an IPv4 address/prefix", v)
	}
	ones, _ := n.Mask.Size()
	return tcpip.AddressWithPrefix{Address: gvlink.AddrFromIP(ip), PrefixLen: ones}
}

func parseHostPort(v string) tcpip.FullAddress {
	h, p, err := net.SplitHostPort(v)
	ip := net.ParseIP(h)
	pn, perr := strconv.ParseUint(p, 10, 16)
	if err != nil || ip == nil || ip.To4() == nil || perr != nil {
		die(2, "bad address %q: want IPv4:PORT", v)
	}
	return tcpip.FullAddress{NIC: gvlink.NIC, Addr: gvlink.AddrFromIP(ip), Port: uint16(pn)}
}

// direct links two stacks by one queue pair, as gVisor's sharedmem server
// tests do: the client (sharedmem.New) and the server (NewServerEndpoint) get
// the same queue configurations, and each the end of a socket pair as PeerFD.
// With the default sizes the queue pair is gVisor's own (NewQueuePair, files in
// /dev/shm); other sizes need files made here, the same way.
func direct(mtu, bufSize uint32, dataSize, pipeSize int64, streams int, from string) {
	var tx, rx sharedmem.QueueConfig
	if dataSize == sharedmem.DefaultQueueDataSize && pipeSize == sharedmem.DefaultQueuePipeSize {
		qp, err := sharedmem.NewQueuePair(sharedmem.QueueOptions{})
		if err != nil {
			die(2, "NewQueuePair: %v", err)
		}
		tx, rx = qp.TXQueueConfig(), qp.RXQueueConfig()
	} else {
		tx, rx = queueConfig(dataSize, pipeSize), queueConfig(dataSize, pipeSize)
	}
	peers, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		die(2, "socketpair: %v", err)
	}
	opts := func(mac string, peer int) sharedmem.Options {
		// gVisor's PeerFD watcher starts with a raw read(2): keep it from
		// blocking a thread of the Go scheduler (as gvlink does).
		unix.SetNonblock(peer, true)
		return sharedmem.Options{MTU: mtu, BufferSize: bufSize, LinkAddress: tcpip.LinkAddress(mac),
			TX: tx, RX: rx, PeerFD: peer, TXChecksumOffload: csumOffload,
			RXChecksumOffload: csumOffload}
	}
	cep, err := sharedmem.New(opts("\x02\x00\x00\x00\x01\x01", peers[0]))
	if err != nil {
		die(2, "sharedmem.New: %v", err)
	}
	sep, err := sharedmem.NewServerEndpoint(opts("\x02\x00\x00\x00\x01\x02", peers[1]))
	if err != nil {
		die(2, "sharedmem.NewServerEndpoint: %v", err)
	}
	ca, sa := parseAddr("198.18.77.1/24"), parseAddr("198.18.77.2/24")
	cs, err := gvlink.NewStack(cep, []tcpip.AddressWithPrefix{ca})
	if err != nil {
		die(2, "%v", err)
	}
	ss, err := gvlink.NewStack(sep, []tcpip.AddressWithPrefix{sa})
	if err != nil {
		die(2, "%v", err)
	}
	recv, xmit, dst := cs, ss, ca.Address
	if from == "client" {
		recv, xmit, dst = ss, cs, sa.Address
	}
	sink(recv, port)
	go send(xmit, tcpip.FullAddress{NIC: gvlink.NIC, Addr: dst, Port: port}, streams)
	fmt.Printf("%s: direct sharedmem link, MTU %d, buffer size %d, %d stream(s) from the %s stack\n",
		prog, mtu, bufSize, streams, from)
	serveInput([]string{"client", "server"}, []*stack.Stack{cs, ss})
}

// queueConfig makes the five files of a queue as NewQueuePair does, with other
// sizes: data region, eventfd, two pipes starting with the "slot free" word,
// and the shared notification area.
func queueConfig(dataSize, pipeSize int64) sharedmem.QueueConfig {
	file := func(size int64, pipe bool) int {
		fd, err := unix.MemfdCreate("gvbench", unix.MFD_CLOEXEC)
		if err == nil {
			err = unix.Ftruncate(fd, size)
		}
		if err == nil && pipe {
			var free [8]byte
			binary.LittleEndian.PutUint64(free[:], 1<<63)
			_, err = unix.Pwrite(fd, free[:], 0)
		}
		if err != nil {
			die(2, "queue file: %v", err)
		}
		return fd
	}
	efd, err := eventfd.Create()
	if err != nil {
		die(2, "eventfd: %v", err)
	}
	return sharedmem.QueueConfig{DataFD: file(dataSize, false), EventFD: efd,
		TxPipeFD: file(pipeSize, true), RxPipeFD: file(pipeSize, true),
		SharedDataFD: file(sharedmem.DefaultSharedDataSize, false)}
}

// listenConf, when set, makes attach listen on the socket in the server role
// (NewServerEndpoint) for another gVisor stack to dial, instead of dialing a
// net_shmlink port: two stacks in two processes linked directly.
type listenConf struct {
	dataSize, pipeSize int
}

// attach runs the handshake on a net_shmlink port's socket (or, with lc, on
// its own socket for another stack) and builds the stack.
func attach(sock string, addr string, mtu uint32, lc *listenConf) *stack.Stack {
	cfg := gvlink.Config{Socket: sock, MTU: mtu, Timeout: 30 * time.Second,
		TXChecksumOffload: csumOffload, RXChecksumOffload: csumOffload}
	var link *gvlink.Link
	var err error
	if lc != nil {
		cfg.Role, cfg.DataSize, cfg.PipeSize = gvlink.RoleServer, lc.dataSize, lc.pipeSize
		link, err = gvlink.Listen(cfg)
	} else {
		link, err = gvlink.Dial(cfg)
	}
	if err != nil {
		die(2, "%v", err)
	}
	s, err := gvlink.NewStack(link.Endpoint, []tcpip.AddressWithPrefix{parseAddr(addr)})
	if err != nil {
		die(2, "%v", err)
	}
	if !link.WaitPosted(5 * time.Second) {
		die(2, "no receive buffers posted within 5 s")
	}
	go func() {
		<-link.Done()
		die(3, "link down: the peer closed the control socket")
	}()
	fmt.Printf("%s: attached to %s as gVisor %v, MTU %d, buffer size %d, checksum offload tx %v rx %v\n",
		prog, sock, link.Role, mtu, link.BufferSize, link.TXChecksumOffload,
		link.RXChecksumOffload)
	return s
}

// pair attaches a sink stack to @sinkSock and a sending stack to @sendSock, in
// this one process: what direct does, with the DPDK application between them.
func pair(sinkSock, sendSock string, mtu uint32, streams int) {
	const sinkAddr, sendAddr = "198.18.78.1/24", "198.18.78.2/24"
	rs := attach(sinkSock, sinkAddr, mtu, nil)
	sink(rs, port)
	xs := attach(sendSock, sendAddr, mtu, nil)
	dst := parseAddr(sinkAddr).Address
	go send(xs, tcpip.FullAddress{NIC: gvlink.NIC, Addr: dst, Port: port}, streams)
	fmt.Printf("%s: sending from %s to %s, one process\n", prog, sendSock, sinkSock)
	serveInput([]string{"sink", "send"}, []*stack.Stack{rs, xs})
}

// csumOffload: both checksum offloads on every stack's endpoint (-csum-offload).
var csumOffload bool

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	mtu := fs.Uint("mtu", 1500, "L3 MTU (the port's mtu=)")
	fs.BoolVar(&csumOffload, "csum-offload", false, "TX and RXChecksumOffload on each stack's endpoint (through a port: if it agrees)")
	streams := fs.Int("streams", 1, "TCP connections")
	switch mode {
	case "direct":
		bufSize := fs.Uint("buffer-size", sharedmem.DefaultBufferSize, "buffer size of the client's data regions")
		from := fs.String("from", "client", "the sending stack: client or server")
		dataSize := fs.Int64("data-size", sharedmem.DefaultQueueDataSize, "size of each queue's data region")
		pipeSize := fs.Int64("pipe-size", sharedmem.DefaultQueuePipeSize, "size of each queue's pipes")
		fs.Parse(os.Args[2:])
		if fs.NArg() != 0 || (*from != "client" && *from != "server") || *streams < 1 ||
			*dataSize < int64(*bufSize) || *pipeSize < 4096 {
			usage()
		}
		direct(uint32(*mtu), uint32(*bufSize), *dataSize, *pipeSize, *streams, *from)
	case "pair":
		sock := fs.String("socket", "", "the sink stack's net_shmlink port's socket")
		sock2 := fs.String("send-socket", "", "the sending stack's net_shmlink port's socket")
		fs.Parse(os.Args[2:])
		if *sock == "" || *sock2 == "" || fs.NArg() != 0 || *streams < 1 {
			usage()
		}
		pair(*sock, *sock2, uint32(*mtu), *streams)
	case "sink", "send":
		sock := fs.String("socket", "", "the net_shmlink port's socket (it listens)")
		addr := fs.String("addr", "", "IPv4 address/prefix of the stack")
		p := fs.Uint("port", port, "sink: TCP port")
		listen := fs.Bool("listen", false, "listen on -socket in the server role, for the other stack to dial (no DPDK)")
		dataSize := fs.Int("data-size", sharedmem.DefaultQueueDataSize, "-listen: size of each queue's data region")
		pipeSize := fs.Int("pipe-size", sharedmem.DefaultQueuePipeSize, "-listen: size of each queue's pipes")
		fs.Parse(os.Args[2:])
		if *sock == "" || *addr == "" || (mode == "send") != (fs.NArg() == 1) ||
			(mode == "sink" && fs.NArg() != 0) || *streams < 1 {
			usage()
		}
		var lc *listenConf
		if *listen {
			lc = &listenConf{dataSize: *dataSize, pipeSize: *pipeSize}
		}
		s := attach(*sock, *addr, uint32(*mtu), lc)
		if mode == "sink" {
			sink(s, uint16(*p))
			fmt.Printf("%s: sink on TCP port %d\n", prog, *p)
		} else {
			go send(s, parseHostPort(fs.Arg(0)), *streams)
			fmt.Printf("%s: sending\n", prog)
		}
		serveInput([]string{mode}, []*stack.Stack{s})
	default:
		usage()
	}
}
