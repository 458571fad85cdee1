// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

// Package gvlink attaches a gVisor netstack to a DPDK application's net_shmlink
// port (or to anything else that speaks shmlink's control protocol v1,
// doc/guides/prog/control_protocol.rst) over gVisor's own shared-memory link,
// gvisor.dev/gvisor/pkg/tcpip/link/sharedmem.
//
// It is the code a sandbox integrator copies. Dial (or Listen) runs the
// handshake on the control socket and returns a Link whose Endpoint is a stock
// gVisor sharedmem endpoint: sharedmem.New when this side is gVisor's client
// role (the usual case: the DPDK port listens as the server),
// sharedmem.NewServerEndpoint when it is the server. Give the endpoint to a
// stack (NewStack does that with IPv4, IPv6, ARP, ICMP, UDP and TCP).
//
// What the handshake settles, and what it does not:
//
//   - The listening side creates the 10 queue files (per queue pair: the TX
//     queue's Data, EventFD, TxPipe, RxPipe, SharedData, then the RX queue's, in
//     QueueConfig.FDs() order) and sends them with SCM_RIGHTS; the connector
//     checks them and answers ACCEPT or REJECT. Sizes come from fstat.
//   - The connected control socket then becomes gVisor's PeerFD. Nobody ever
//     writes to it again: gVisor takes one received byte as a disconnect. EOF on
//     it means the peer is gone (Link.Done). It is switched to O_NONBLOCK,
//     because gVisor's watcher first reads it with a raw read(2) that would
//     otherwise block a Go scheduler thread.
//   - Framing (Ethernet or raw IP) and the virtio-net header must be
//     configured identically on both sides; the connector rejects an offer
//     whose flags differ from its Config. The MTU should be equal too (it is
//     exchanged for information only). Checksum offload must stay off: no
//     flag on the wire says a checksum is missing, and net_shmlink offers no
//     checksum offload.
//   - gVisor's server endpoint reports the posted buffer sizes instead of the
//     frame length (a gVisor bug since 2022-08): a DPDK port in the client role
//     must trim received frames (net_shmlink's trim=auto does), and the server
//     endpoint ignores VirtioNetHeaderRequired, so gvlink refuses the virtio
//     header in the server role.
//
// One queue pair per link: gvlink rejects offers of more.
package gvlink

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Role is the gVisor endpoint a side runs.
type Role int

const (
	// RoleAny, for a connector only: take the role the listener assigns.
	RoleAny Role = -1
	// RoleClient is sharedmem.New: it owns the buffers (the sandbox side).
	RoleClient Role = 0
	// RoleServer is sharedmem.NewServerEndpoint.
	RoleServer Role = 1
)

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return "any"
}

// Config describes this side of a link. Zero values get the defaults noted.
type Config struct {
	Socket string            // control socket path (the net_shmlink socket= devarg)
	Role   Role              // Listen: our role (RoleAny means client); Dial: required role or RoleAny
	RawIP  bool              // raw IP frames, no Ethernet header (framing=ip)
	Virtio bool              // 10-byte virtio-net header on every frame (virtio_hdr=yes)
	MTU    uint32            // L3 MTU, default 1500
	MAC    tcpip.LinkAddress // our MAC, default random locally administered
	// Listen only: the client's buffer size (default 2048) and the sizes of
	// each queue's data region (default 8 MiB) and pipes (default 256 KiB):
	// a listening net_shmlink port's defaults, room for a TCP window of
	// NewStack's largest send buffer in 2048-byte buffers (gVisor's own, 1 MiB
	// and 64 KiB, make its TCP stall on drops).
	BufferSize         uint32
	DataSize, PipeSize int
	// Dial: how long to retry connecting; Listen: how long to wait for a peer.
	// 0 means forever.
	Timeout time.Duration
	// Checksum offloads (control protocol 1.1), each used only if the port
	// agrees: TXChecksumOffload, the stack leaves the TCP/UDP checksums of what
	// it sends unfilled (the port fills them for DPDK applications that need
	// them); RXChecksumOffload, the stack does not verify the ones it receives
	// (the port may then pass a DPDK application's checksum offload through).
	TXChecksumOffload, RXChecksumOffload bool
	// Dial: told why, each time it tries again after a handshake the port
	// left unfinished (nil: nothing is said).
	Retrying func(err error)
}

// offloads is what this side says of itself in the control protocol.
func (c *Config) offloads() uint16 {
	return bitIf(c.TXChecksumOffload, csumTx) | bitIf(c.RXChecksumOffload, csumRx)
}

// bitIf is @bit if @on, else 0.
func bitIf(on bool, bit uint16) uint16 {
	if on {
		return bit
	}
	return 0
}

func (c *Config) flags() uint16 {
	return bitIf(c.RawIP, flagRawIP) | bitIf(c.Virtio, flagVirtio)
}

// The queue sizes Listen uses by default, as a listening net_shmlink port
// (SHMLINK_LISTEN_DATA_SIZE and _PIPE_SIZE in lib/shmlink's shmlink_qfile.h).
const (
	ListenDataSize = 8 << 20
	ListenPipeSize = 256 << 10
)

func (c *Config) defaults() {
	if c.MTU == 0 {
		c.MTU = 1500
	}
	if c.BufferSize == 0 {
		c.BufferSize = sharedmem.DefaultBufferSize
	}
	if c.DataSize == 0 {
		c.DataSize = ListenDataSize
	}
	if c.PipeSize == 0 {
		c.PipeSize = ListenPipeSize
	}
	if c.MAC == "" {
		b := make([]byte, 6)
		rand.Read(b)
		b[0] = b[0]&^1 | 2 // unicast, locally administered
		c.MAC = tcpip.LinkAddress(b)
	}
}

// Link is one attached queue pair.
type Link struct {
	Endpoint   stack.LinkEndpoint // give it to stack.CreateNIC (or NewStack)
	Role       Role               // the gVisor role this side runs
	BufferSize uint32             // buffer size in use (the client carves its data regions in these)
	PeerMTU    uint32             // what the peer announced
	PeerMAC    tcpip.LinkAddress  // what the peer announced
	PeerMinor  uint16             // the peer's control protocol minor version
	Handshakes int                // how many it took (Dial tries again when the port leaves one unfinished)
	// The checksum offloads the link agreed on, which the endpoint uses: our
	// TCP/UDP checksums left unfilled, the peer's not verified.
	TXChecksumOffload, RXChecksumOffload bool

	sock int   // control socket, the endpoint's PeerFD
	fds  []int // queue files: gVisor maps them but does not own them
	done chan struct{}
	once sync.Once
}

// Done is closed when the peer is gone (EOF or a byte on the control socket).
// It only works once the endpoint is attached to a stack.
func (l *Link) Done() <-chan struct{} { return l.done }

// Close detaches: it stops the endpoint, shuts the control socket down (the
// peer sees the link go down) and closes the queue files. If the endpoint is
// in a stack, remove the NIC first. (Not stack.Wait or Destroy: from gVisor
// 2024-07 on they Wait for the endpoint too, and the client endpoint's Wait
// closes its eventfd, so Close's would close that descriptor twice.)
//
// gVisor's server endpoint does not stop an idle receive loop on Close (it
// re-enters its eventfd wait without checking; DEB and HEAD), so in the server
// role Close waits for the PeerFD watcher only: the receive goroutine, its
// eventfd and its mappings stay until the process exits.
func (l *Link) Close() {
	closeEndpoint(l.Endpoint)
	unix.Shutdown(l.sock, unix.SHUT_RDWR) // wakes the PeerFD watcher
	if l.Role == RoleClient {
		l.Endpoint.Wait()
	} else if l.Endpoint.IsAttached() {
		<-l.done // the watcher has seen the shutdown
	}
	closeFDs(l.fds)
	unix.Close(l.sock)
}

// WaitPosted waits until the client side of the link has posted its receive
// buffers: gVisor's client posts them from a goroutine that Attach starts, a
// net_shmlink port in the client role when it attaches. Until then the server
// drops every frame for the client: an ARP request or reply lost that way
// costs a one-second retry. It returns false after timeout.
func (l *Link) WaitPosted(timeout time.Duration) bool {
	// The RX queue's TxPipe is the fill pipe. Its first header stops being the
	// initial "free, size 0" word once a buffer is posted, and stays different
	// once the server releases that slot.
	fill := l.fds[5+qTxPipe]
	var w [8]byte
	for end := time.Now().Add(timeout); ; {
		if n, _ := unix.Pread(fill, w[:], 0); n == 8 && binary.LittleEndian.Uint64(w[:]) != 1<<63 {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// newLink builds the gVisor endpoint for @role over the 10 queue FDs, with the
// checksum offloads @agreed (csumTx, csumRx from our side).
func newLink(cfg *Config, role Role, sock int, fds []int, bufSize uint32, agreed uint16) (*Link, error) {
	if role == RoleServer && cfg.Virtio {
		return nil, fmt.Errorf("gVisor's server endpoint does not support the virtio header")
	}
	l := &Link{Role: role, BufferSize: bufSize, sock: sock, fds: fds, done: make(chan struct{}),
		TXChecksumOffload: agreed&csumTx != 0, RXChecksumOffload: agreed&csumRx != 0}
	tx, rx := queueConfigs(fds)
	opts := sharedmem.Options{
		MTU:                     cfg.MTU,
		BufferSize:              bufSize,
		TX:                      tx,
		RX:                      rx,
		PeerFD:                  sock,
		OnClosed:                func(tcpip.Error) { l.once.Do(func() { close(l.done) }) },
		VirtioNetHeaderRequired: cfg.Virtio,
		// Nothing on the wire says a checksum is missing: only what the control
		// protocol agreed.
		TXChecksumOffload: l.TXChecksumOffload,
		RXChecksumOffload: l.RXChecksumOffload,
	}
	if !cfg.RawIP {
		opts.LinkAddress = cfg.MAC
	}
	var err error
	if role == RoleClient {
		l.Endpoint, err = sharedmem.New(opts)
	} else {
		l.Endpoint, err = sharedmem.NewServerEndpoint(opts)
	}
	if err != nil {
		return nil, err
	}
	// gVisor's PeerFD watcher does a raw read(2) before polling: keep it from
	// blocking a thread of the Go scheduler.
	if err := unix.SetNonblock(sock, true); err != nil {
		return nil, err
	}
	return l, nil
}

// Dial connects to a listening port (e.g. net_shmlink's default listen=yes),
// takes the offered queue files and answers ACCEPT. It retries while the socket
// does not exist or refuses connections, or the port leaves the handshake
// unfinished (a port gives each handshake 5 s, which a loaded machine can
// exceed), for up to cfg.Timeout.
func Dial(cfg Config) (*Link, error) {
	cfg.defaults()
	deadline := time.Now().Add(cfg.Timeout)
	for tries := 1; ; tries++ {
		left := time.Until(deadline)
		if cfg.Timeout == 0 {
			left = 0 // forever
		} else if left <= 0 {
			left = time.Nanosecond
		}
		l, err := dialOnce(&cfg, left)
		if err == nil {
			l.Handshakes = tries
			return l, nil
		}
		if _, again := err.(unfinished); !again ||
			(cfg.Timeout > 0 && time.Now().After(deadline)) {
			return nil, err
		}
		if cfg.Retrying != nil {
			cfg.Retrying(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dialOnce connects (retrying for up to timeout while nobody listens) and runs
// one handshake.
func dialOnce(cfg *Config, timeout time.Duration) (*Link, error) {
	sock, err := connect(cfg.Socket, timeout)
	if err != nil {
		return nil, err
	}
	l, err := acceptOffer(cfg, sock)
	if err != nil {
		unix.Close(sock)
	}
	return l, err
}

func connect(path string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		err = unix.Connect(sock, &unix.SockaddrUnix{Name: path})
		if err == nil {
			return sock, nil
		}
		unix.Close(sock)
		if err != unix.ENOENT && err != unix.ECONNREFUSED && err != unix.EAGAIN {
			return -1, fmt.Errorf("connecting to %s: %v", path, err)
		}
		if timeout > 0 && time.Now().After(deadline) {
			return -1, fmt.Errorf("connecting to %s: %v (gave up after %v)", path, err, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func acceptOffer(cfg *Config, sock int) (*Link, error) {
	m, fds, err := recvCtl(sock)
	fail := func(reason uint32, format string, a ...interface{}) (*Link, error) {
		closeFDs(fds)
		text := fmt.Sprintf(format, a...)
		reject(sock, reason, text)
		return nil, fmt.Errorf("refused the offer on %s: %s", cfg.Socket, text)
	}
	switch {
	case err != nil:
		if _, ok := err.(protoError); ok {
			return fail(reasonProtocol, "%v", err)
		}
		closeFDs(fds)
		return nil, unfinished{fmt.Errorf("%s: %v", cfg.Socket, err)}
	case m.typ == msgReject:
		closeFDs(fds)
		return nil, fmt.Errorf("%s: the listener rejected us: reason %d %q", cfg.Socket, m.reason, m.text)
	case m.typ != msgOffer || m.qp != 0:
		return fail(reasonProtocol, "expected OFFER for queue pair 0, got type %d qp %d", m.typ, m.qp)
	case m.nbQP != 1:
		return fail(reasonConfig, "gvlink drives 1 queue pair, offered %d", m.nbQP)
	case cfg.Role != RoleAny && Role(m.role) != cfg.Role:
		return fail(reasonRole, "offered the %v role, configured for %v", Role(m.role), cfg.Role)
	case m.flags != cfg.flags():
		return fail(reasonConfig, "offered flags %#x (raw IP %#x, virtio %#x), configured %#x",
			m.flags, flagRawIP, flagVirtio, cfg.flags())
	case m.bufferSize == 0:
		return fail(reasonProtocol, "buffer size 0")
	}
	if reason, text := checkQueueFiles(fds, m.bufferSize); reason != 0 {
		return fail(reason, "%s", text)
	}
	agreed := agreedOffloads(cfg.offloads(), m.offloads)
	l, err := newLink(cfg, Role(m.role), sock, fds, m.bufferSize, agreed)
	if err != nil {
		return fail(reasonInternal, "%v", err)
	}
	l.PeerMTU, l.PeerMAC, l.PeerMinor = m.mtu, m.mac, m.minor
	// We say we leave checksums unfilled only where the listener takes that.
	acc := ctlMsg{typ: msgAccept, role: m.role, nbQP: 1, flags: m.flags, mtu: cfg.MTU,
		bufferSize: m.bufferSize, mac: cfg.MAC, offloads: cfg.offloads()&csumRx | agreed&csumTx}
	if err := sendCtl(sock, &acc, nil); err != nil {
		closeEndpoint(l.Endpoint)
		closeFDs(fds)
		return nil, fmt.Errorf("%s: sending ACCEPT: %v", cfg.Socket, err)
	}
	return l, nil
}

// Listen creates the control socket (replacing a stale one), waits for one
// peer to connect, creates fresh queue files, offers them and waits for the
// ACCEPT. The socket file is removed once a peer is attached: a listener
// serves one peer in its lifetime (rings are never reused).
func Listen(cfg Config) (*Link, error) {
	cfg.defaults()
	if cfg.Role == RoleAny {
		cfg.Role = RoleClient
	}
	ls, err := listen(cfg.Socket)
	if err != nil {
		return nil, err
	}
	defer func() {
		unix.Close(ls)
		os.Remove(cfg.Socket)
	}()
	pfd := []unix.PollFd{{Fd: int32(ls), Events: unix.POLLIN}}
	wait := -1
	if cfg.Timeout > 0 {
		wait = int(cfg.Timeout / time.Millisecond)
	}
	for {
		n, err := unix.Poll(pfd, wait)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%s: no peer connected (%v)", cfg.Socket, err)
		}
		break
	}
	sock, _, err := unix.Accept4(ls, unix.SOCK_CLOEXEC)
	if err != nil {
		return nil, err
	}
	l, err := offer(&cfg, sock)
	if err != nil {
		unix.Close(sock)
		return nil, err
	}
	l.Handshakes = 1
	return l, nil
}

func listen(path string) (int, error) {
	if _, err := os.Lstat(path); err == nil {
		// A live listener accepts a connection: refuse to steal its path.
		s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		err = unix.Connect(s, &unix.SockaddrUnix{Name: path})
		unix.Close(s)
		if err == nil {
			return -1, fmt.Errorf("%s: another process listens on it", path)
		}
		os.Remove(path)
	}
	ls, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	old := unix.Umask(0177) // the socket file is created 0600
	err = unix.Bind(ls, &unix.SockaddrUnix{Name: path})
	unix.Umask(old)
	if err == nil {
		err = unix.Listen(ls, 1)
	}
	if err != nil {
		unix.Close(ls)
		return -1, fmt.Errorf("listening on %s: %v", path, err)
	}
	return ls, nil
}

func offer(cfg *Config, sock int) (*Link, error) {
	var fds []int
	for q := 0; q < 2; q++ { // TX queue, then RX queue
		f, err := newQueueFiles(cfg.DataSize, cfg.PipeSize)
		fds = append(fds, f...)
		if err != nil {
			closeFDs(fds)
			return nil, err
		}
	}
	if cfg.Role == RoleServer && cfg.Virtio {
		closeFDs(fds)
		return nil, fmt.Errorf("gVisor's server endpoint does not support the virtio header")
	}
	o := ctlMsg{typ: msgOffer, role: uint8(1 - cfg.Role), nbQP: 1, flags: cfg.flags(),
		mtu: cfg.MTU, bufferSize: cfg.BufferSize, mac: cfg.MAC, offloads: cfg.offloads()}
	err := sendCtl(sock, &o, fds)
	var m ctlMsg
	if err == nil {
		var stray []int // an answer carries no FDs
		m, stray, err = recvCtl(sock)
		closeFDs(stray)
	}
	switch {
	case err != nil:
	case m.typ == msgReject:
		err = fmt.Errorf("the peer rejected the offer: reason %d %q", m.reason, m.text)
	case m.typ != msgAccept || m.role != o.role || m.nbQP != 1 || m.flags != o.flags ||
		(m.offloads&csumTx != 0 && o.offloads&csumRx == 0):
		err = fmt.Errorf("bad answer: type %d role %d qp count %d flags %#x offloads %#x",
			m.typ, m.role, m.nbQP, m.flags, m.offloads)
	}
	var l *Link
	if err == nil {
		// The endpoint takes the offloads agreed, so it is made after the answer.
		l, err = newLink(cfg, cfg.Role, sock, fds, cfg.BufferSize,
			agreedOffloads(o.offloads, m.offloads))
	}
	if err != nil {
		closeFDs(fds)
		return nil, fmt.Errorf("%s: %v", cfg.Socket, err)
	}
	l.PeerMTU, l.PeerMAC, l.PeerMinor = m.mtu, m.mac, m.minor
	return l, nil
}

// closeEndpoint stops a sharedmem endpoint. Both kinds have a Close method,
// outside stack.LinkEndpoint in gVisor 2022-12 (a stack closes a client
// endpoint with Attach(nil); a server endpoint would start with a nil
// dispatcher instead) and in it in 2024-07 (RemoveNIC calls it). Once the
// endpoint is attached, a second Close only sets the stop flag again and
// wakes the receive loop.
func closeEndpoint(ep stack.LinkEndpoint) {
	if c, ok := ep.(interface{ Close() }); ok {
		c.Close()
	}
}
