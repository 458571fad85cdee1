// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

//go:build gvisor2024

// gVisor 2024-07 (Debian 13): tcpip.Address is an opaque struct, built from
// and read as byte slices. compat_gv2022.go holds the same functions for
// gVisor 2022-12; the build script picks one with the gvisor2024 tag.

package gvlink

import (
	"net"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// AddrFromIP returns @ip as a gVisor address: 4 bytes for an IPv4 (or
// IPv4-mapped) address, 16 for IPv6, the empty address for nil.
func AddrFromIP(ip net.IP) tcpip.Address {
	if v4 := ip.To4(); v4 != nil {
		return tcpip.AddrFrom4Slice(v4)
	}
	return tcpip.AddrFromSlice(ip.To16())
}

// AddrToIP returns the bytes of @a, 4 or 16 of them, in a slice of its own.
func AddrToIP(a tcpip.Address) net.IP {
	// AsSlice is a window into the Address (here our copy of it).
	return net.IP(a.AsSlice())
}
