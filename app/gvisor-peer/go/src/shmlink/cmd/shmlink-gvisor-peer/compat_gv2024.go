// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

//go:build gvisor2024

// gVisor 2024-07 (Debian 13). compat_gv2022.go holds the same for gVisor
// 2022-12; the build script picks one with the gvisor2024 tag.

package main

import (
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/waiter"
)

// newUDPConn wraps a bound UDP endpoint of @s; this gonet no longer takes the
// stack.
func newUDPConn(_ *stack.Stack, wq *waiter.Queue, ep tcpip.Endpoint) *gonet.UDPConn {
	return gonet.NewUDPConn(wq, ep)
}
