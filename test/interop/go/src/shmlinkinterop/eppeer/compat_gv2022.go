// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

//go:build !gvisor2024

// gVisor 2022-12 (Debian 12): packets are PacketBufferPtr values over
// bufferv2, and DeliverLinkPacket says which way a packet went.
// compat_gv2024.go holds the same for gVisor 2024-07; the build script picks
// one with the gvisor2024 tag.

package main

import (
	"gvisor.dev/gvisor/pkg/bufferv2"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// packetBuffer is what a link endpoint takes and delivers.
type packetBuffer = stack.PacketBufferPtr

// newPacketBuffer returns a packet whose data is a copy of @payload, with
// @reserve bytes of room for headers in front.
func newPacketBuffer(reserve int, payload []byte) packetBuffer {
	return stack.NewPacketBuffer(stack.PacketBufferOptions{
		ReserveHeaderBytes: reserve,
		Payload:            bufferv2.MakeWithData(payload),
	})
}

// DeliverLinkPacket is for packet sockets, which eppeer does not have.
func (d *dispatcher) DeliverLinkPacket(tcpip.NetworkProtocolNumber, packetBuffer, bool) {
}
