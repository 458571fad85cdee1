// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

//go:build !gvisor2024

// gVisor 2022-12 (Debian 12). compat_gv2024.go holds the same for gVisor
// 2024-07; the build script picks one with the gvisor2024 tag.

package main

import (
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/waiter"
)

// newUDPConn wraps a bound UDP endpoint of @s; this gonet wants the stack.
func newUDPConn(s *stack.Stack, wq *waiter.Queue, ep tcpip.Endpoint) *gonet.UDPConn {
	return gonet.NewUDPConn(s, wq, ep)
}
