// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

package gvlink_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"shmlink/gvlink"
)

// A sandbox attaching its netstack to a DPDK application's net_shmlink port
// (listening, server role: the defaults) and serving TCP on it.
func Example() {
	link, err := gvlink.Dial(gvlink.Config{
		Socket:  "/run/sandbox0.sock", // the port's socket= devarg
		MTU:     1500,                 // the port's mtu=
		MAC:     tcpip.LinkAddress("\x02\x00\x00\x00\x00\x02"),
		Timeout: 30 * time.Second,
		// RawIP, Virtio: as the port's framing= and virtio_hdr=.
	})
	if err != nil {
		log.Fatal(err)
	}
	addr := tcpip.AddressWithPrefix{Address: gvlink.AddrFromIP(net.IPv4(10, 0, 0, 2)), PrefixLen: 24}
	s, err := gvlink.NewStack(link.Endpoint, []tcpip.AddressWithPrefix{addr})
	if err != nil {
		log.Fatal(err)
	}
	link.WaitPosted(5 * time.Second) // frames to us are dropped until then
	go func() {
		<-link.Done() // the DPDK application closed the port or died
		log.Fatal("link down")
	}()

	l, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: gvlink.NIC, Port: 80}, ipv4.ProtocolNumber)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			n, _ := io.Copy(io.Discard, c)
			fmt.Fprintf(c, "got %d bytes\n", n)
		}()
	}
}
