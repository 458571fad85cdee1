// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

package gvlink

import (
	"fmt"
	"net"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// NIC is the NIC id NewStack gives the link.
const NIC tcpip.NICID = 1

// NewStack returns a gVisor stack with IPv4, IPv6, ARP, ICMP, UDP and TCP whose
// only NIC (NIC) is @ep, with @addrs assigned and an on-link route to each
// address's subnet. Creating the NIC attaches the endpoint: from then on it
// moves packets, and a gVisor client posts its receive buffers.
func NewStack(ep stack.LinkEndpoint, addrs []tcpip.AddressWithPrefix) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol,
			arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol,
			icmp.NewProtocol4, icmp.NewProtocol6},
	})
	// Bulk TCP: SACK, and buffers that grow to 4 MiB.
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: 1 << 20, Max: 4 << 20}
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &rcv)
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: 1 << 20, Max: 4 << 20}
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &snd)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &moderate)

	if err := s.CreateNIC(NIC, ep); err != nil {
		return nil, fmt.Errorf("CreateNIC: %v", err)
	}
	var routes []tcpip.Route
	for _, a := range addrs {
		proto := ipv4.ProtocolNumber
		if len(AddrToIP(a.Address)) == net.IPv6len {
			proto = ipv6.ProtocolNumber
		}
		pa := tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: a}
		if err := s.AddProtocolAddress(NIC, pa, stack.AddressProperties{}); err != nil {
			return nil, fmt.Errorf("adding %v: %v", a, err)
		}
		routes = append(routes, tcpip.Route{Destination: a.Subnet(), NIC: NIC})
	}
	s.SetRouteTable(routes)
	return s, nil
}

// AddGateway gives stack @s a default route through @gw, for @gw's address
// family (IPv4 or IPv6): what reaches a network beyond the link's subnets, such
// as a host behind a router on the DPDK side.
func AddGateway(s *stack.Stack, gw tcpip.Address) {
	dst := header.IPv4EmptySubnet
	if len(AddrToIP(gw)) == net.IPv6len {
		dst = header.IPv6EmptySubnet
	}
	s.AddRoute(tcpip.Route{Destination: dst, Gateway: gw, NIC: NIC})
}
