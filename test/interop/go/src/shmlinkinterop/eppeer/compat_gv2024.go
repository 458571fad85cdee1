// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

//go:build gvisor2024

// gVisor 2024-07 (Debian 13): packets are *PacketBuffer over pkg/buffer, and
// DeliverLinkPacket lost its direction flag. compat_gv2022.go holds the same
// for gVisor 2022-12; the build script picks one with the gvisor2024 tag.

package main

import (
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// packetBuffer is what a link endpoint takes and delivers.
type packetBuffer = *stack.PacketBuffer

// newPacketBuffer returns a packet whose data is a copy of @payload, with
// @reserve bytes of room for headers in front.
func newPacketBuffer(reserve int, payload []byte) packetBuffer {
	return stack.NewPacketBuffer(stack.PacketBufferOptions{
		ReserveHeaderBytes: reserve,
		Payload:            buffer.MakeWithData(payload),
	})
}

// DeliverLinkPacket is for packet sockets, which eppeer does not have.
func (d *dispatcher) DeliverLinkPacket(tcpip.NetworkProtocolNumber, packetBuffer) {
}
