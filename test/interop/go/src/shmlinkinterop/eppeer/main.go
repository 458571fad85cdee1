// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

// Command eppeer runs one of gVisor's sharedmem link endpoints, client
// (sharedmem.New) or server (sharedmem.NewServerEndpoint), over a queue pair
// made by the C test (test_ep.c), and exchanges checked frames with it.
//
// Inherited FDs: 3..7 the TX queue and 8..12 the RX queue, each in
// QueueConfig.FDs() order [Data, EventFD, TxPipe, RxPipe, SharedData]; 13 the
// PeerFD (a non-blocking socketpair end). Nothing is ever written to the
// PeerFD: gVisor takes any byte as a disconnect. The C side closes its end
// when it is done; that is how this program learns that it may exit.
//
// Frame seq in either direction is [Ethernet header, unless -framing raw]
// [L3 bytes of ilib.FillFrame], the L3 length drawn by ilib.FrameL3Len from
// (seed, seq). gVisor adds and strips the virtio header itself (-virtio). No
// network stack is attached: a small dispatcher checks every frame delivered
// and frames are sent with WritePackets in random batches, Ethernet headers
// added by the endpoint's AddHeader, as the stack's NIC would.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"shmlinkinterop/ilib"
)

const prog = "eppeer"

const (
	// goMAC is gVisor's link address, cMAC the C side's (both locally administered).
	goMAC = tcpip.LinkAddress("\x02\x00\x00\x00\x00\x01")
	cMAC  = tcpip.LinkAddress("\x02\x00\x00\x00\x00\x02")

	peerFD = 13
)

type config struct {
	role       string
	eth        bool
	seedTx     uint64
	seedRx     uint64
	countTx    uint64
	countRx    uint64
	minTx      uint64
	maxTx      uint64
	minRx      uint64
	maxRx      uint64
	batchSeed  uint64
	pace       time.Duration
	closeGrace time.Duration
}

// dispatcher checks the frames the endpoint delivers, in order.
type dispatcher struct {
	cfg   *config
	done  atomic.Uint64
	bytes atomic.Uint64
	want  []byte
}

func (d *dispatcher) DeliverNetworkPacket(proto tcpip.NetworkProtocolNumber, pkt packetBuffer) {
	seq := d.done.Load()
	if seq >= d.cfg.countRx {
		ilib.Fail(prog, "received a frame beyond the %d expected", d.cfg.countRx)
	}
	r := ilib.MsgRng(d.cfg.seedRx, seq)
	n := ilib.FrameL3Len(&r, d.cfg.minRx, d.cfg.maxRx)
	d.want = d.want[:n]
	ilib.FillFrame(d.want, &r, seq)
	if proto != header.IPv4ProtocolNumber {
		ilib.Fail(prog, "frame %d: protocol %#x, want IPv4", seq, proto)
	}
	if d.cfg.eth {
		lh := pkt.LinkHeader().Slice()
		eth := header.Ethernet(lh)
		if len(lh) != header.EthernetMinimumSize || eth.DestinationAddress() != goMAC ||
			eth.SourceAddress() != cMAC {
			ilib.Fail(prog, "frame %d: Ethernet header % x, want dst %x src %x type 0800",
				seq, lh, goMAC, cMAC)
		}
	}
	got := pkt.Data().AsRange().ToSlice()
	if !bytes.Equal(got, d.want) {
		i := ilib.FirstDiff(d.want, got)
		ilib.Fail(prog, "frame %d: %d L3 bytes, want %d; first difference at byte %d",
			seq, len(got), len(d.want), i)
	}
	d.bytes.Add(uint64(len(got)))
	d.done.Add(1)
}

func queueConfig(first int) sharedmem.QueueConfig {
	fds := make([]int, 5)
	for i := range fds {
		fds[i] = first + i
	}
	c, err := sharedmem.QueueConfigFromFDs(fds)
	if err != nil {
		ilib.Fail(prog, "QueueConfigFromFDs(%v): %v", fds, err)
	}
	return c
}

func newPacket(ep stack.LinkEndpoint, cfg *config, seq uint64) packetBuffer {
	r := ilib.MsgRng(cfg.seedTx, seq)
	b := make([]byte, ilib.FrameL3Len(&r, cfg.minTx, cfg.maxTx))
	ilib.FillFrame(b, &r, seq)
	pkt := newPacketBuffer(int(ep.MaxHeaderLength()), b)
	pkt.NetworkProtocolNumber = header.IPv4ProtocolNumber
	pkt.EgressRoute.NetProto = header.IPv4ProtocolNumber
	pkt.EgressRoute.LocalLinkAddress = goMAC
	pkt.EgressRoute.RemoteLinkAddress = cMAC
	// What the stack's NIC does before WritePackets: a no-op for raw IP.
	ep.AddHeader(pkt)
	return pkt
}

func main() {
	var cfg config
	var mtu, bufSize uint
	var virtio bool
	var framing string
	var timeout time.Duration
	flag.StringVar(&cfg.role, "role", "client", "client (sharedmem.New) or server (NewServerEndpoint)")
	flag.StringVar(&framing, "framing", "eth", "eth (LinkAddress set) or raw (raw IP)")
	flag.BoolVar(&virtio, "virtio", false, "VirtioNetHeaderRequired")
	flag.UintVar(&mtu, "mtu", 9000, "Options.MTU")
	flag.UintVar(&bufSize, "bufsize", 2048, "Options.BufferSize")
	flag.Uint64Var(&cfg.seedTx, "txseed", 1, "seed of the frames sent")
	flag.Uint64Var(&cfg.seedRx, "rxseed", 2, "seed of the frames received")
	flag.Uint64Var(&cfg.countTx, "txcount", 0, "frames to send")
	flag.Uint64Var(&cfg.countRx, "rxcount", 0, "frames to receive")
	flag.Uint64Var(&cfg.minTx, "txmin", 0, "smallest L3 length sent")
	flag.Uint64Var(&cfg.maxTx, "txmax", 9000, "largest L3 length sent")
	flag.Uint64Var(&cfg.minRx, "rxmin", 0, "smallest L3 length received")
	flag.Uint64Var(&cfg.maxRx, "rxmax", 9000, "largest L3 length received")
	flag.Uint64Var(&cfg.batchSeed, "batchseed", 3, "seed of the WritePackets batch sizes")
	flag.DurationVar(&cfg.pace, "pace", 0, "pause up to this long (random) after each batch sent")
	flag.DurationVar(&timeout, "timeout", 120*time.Second, "give up after this long")
	flag.DurationVar(&cfg.closeGrace, "grace", 10*time.Second,
		"how long to wait for the last frames once the C side closed the PeerFD")
	flag.Parse()
	cfg.eth = framing == "eth"
	if framing != "eth" && framing != "raw" {
		ilib.Fail(prog, "bad -framing %q", framing)
	}

	closed := make(chan struct{})
	var closeOnce sync.Once
	var closeErr tcpip.Error
	opts := sharedmem.Options{
		MTU:        uint32(mtu),
		BufferSize: uint32(bufSize),
		TX:         queueConfig(3),
		RX:         queueConfig(8),
		PeerFD:     peerFD,
		OnClosed: func(err tcpip.Error) {
			closeOnce.Do(func() {
				closeErr = err
				close(closed)
			})
		},
		VirtioNetHeaderRequired: virtio,
	}
	if cfg.eth {
		opts.LinkAddress = goMAC
	}
	var ep stack.LinkEndpoint
	var err error
	switch cfg.role {
	case "client":
		ep, err = sharedmem.New(opts)
	case "server":
		ep, err = sharedmem.NewServerEndpoint(opts)
	default:
		ilib.Fail(prog, "bad -role %q", cfg.role)
	}
	if err != nil {
		ilib.Fail(prog, "creating the %s endpoint: %v", cfg.role, err)
	}
	d := &dispatcher{cfg: &cfg, want: make([]byte, 0, 1<<16)}
	var sent atomic.Uint64
	ilib.Watchdog(prog, timeout, func() string {
		return fmt.Sprintf("sent %d/%d, received %d/%d", sent.Load(), cfg.countTx,
			d.done.Load(), cfg.countRx)
	})
	ep.Attach(d)
	fmt.Printf("%s: gVisor %s endpoint (framing %s, virtio %v, MTU %d, buffer size %d): sending %d frames, expecting %d\n",
		prog, cfg.role, framing, virtio, mtu, bufSize, cfg.countTx, cfg.countRx)

	start := time.Now()
	batch := ilib.Rng{S: cfg.batchSeed}
	var bo ilib.Backoff
	var wouldBlock uint64
	for sent.Load() < cfg.countTx {
		select {
		case <-closed:
			ilib.Fail(prog, "the C side closed the PeerFD (%v) with %d/%d frames sent",
				closeErr, sent.Load(), cfg.countTx)
		default:
		}
		var pkts stack.PacketBufferList
		k := 1 + batch.Below(8)
		for i := uint64(0); i < k && sent.Load()+i < cfg.countTx; i++ {
			pkts.PushBack(newPacket(ep, &cfg, sent.Load()+i))
		}
		n, werr := ep.WritePackets(pkts)
		// The endpoint copied what it sent; packets it refused are built
		// afresh next time (their headers are already pushed).
		pkts.DecRef()
		if werr != nil {
			if _, ok := werr.(*tcpip.ErrWouldBlock); !ok {
				ilib.Fail(prog, "WritePackets: %v", werr)
			}
		}
		sent.Add(uint64(n))
		if cfg.pace > 0 {
			// Give the C side time to go to sleep on its eventfd.
			time.Sleep(time.Duration(batch.Below(uint64(cfg.pace) + 1)))
		}
		if n == 0 {
			wouldBlock++
			bo.Idle()
		} else {
			bo.Reset()
		}
	}
	sendTime := time.Since(start)

	// Wait for the C side to finish: it closes its PeerFD end once it has
	// everything it expects (and gave every buffer back).
	<-closed
	deadline := time.Now().Add(cfg.closeGrace)
	for d.done.Load() < cfg.countRx && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if d.done.Load() < cfg.countRx {
		ilib.Fail(prog, "the C side closed the PeerFD but only %d/%d frames arrived",
			d.done.Load(), cfg.countRx)
	}
	fmt.Printf("%s: sent %d frames (send loop %.2fs, %d would-block retries), received and checked %d frames (%d L3 bytes); PeerFD close seen by OnClosed (err %v)\n",
		prog, sent.Load(), sendTime.Seconds(), wouldBlock, d.done.Load(), d.bytes.Load(), closeErr)
	os.Exit(0)
}
