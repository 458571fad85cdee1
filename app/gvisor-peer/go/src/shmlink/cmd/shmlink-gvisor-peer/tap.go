// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

package main

import (
	"crypto/rand"
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// openTap returns a link endpoint on the Linux TAP interface @name of the
// current network namespace, created if absent: the baseline a benchmark
// compares the net_shmlink path with, gVisor on a kernel tap as runsc-style
// networking has it. Ethernet frames, no GSO and no checksum offloads, so the
// stack does the same work as on a net_shmlink port without offloads. The
// kernel side is the caller's to bring up and address; an interface created
// here goes away with the process.
func openTap(name string, mtu uint32, mac tcpip.LinkAddress) (stack.LinkEndpoint, error) {
	// The kernel would cut a longer name short and make a tap of that name.
	if len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap name %q: longer than %d bytes", name, unix.IFNAMSIZ-1)
	}
	// tun.Open is IFF_TUN (raw IP); OpenTAP is IFF_TAP, both IFF_NO_PI.
	fd, err := tun.OpenTAP(name)
	if err != nil {
		return nil, fmt.Errorf("opening tap %s: %v", name, err)
	}
	// The kernel side must take the frames the stack sends at its MTU.
	if err := setKernelMTU(name, mtu); err != nil {
		return nil, fmt.Errorf("tap %s: setting the kernel MTU to %d: %v", name, mtu, err)
	}
	if mac == "" {
		mac = randomMAC()
	}
	// The fd stays open for the life of the process: fdbased does not own it.
	return fdbased.New(&fdbased.Options{
		FDs:            []int{fd},
		MTU:            mtu,
		EthernetHeader: true,
		Address:        mac,
	})
}

// setKernelMTU sets the MTU of the kernel's interface @name, as ip link does.
func setKernelMTU(name string, mtu uint32) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	ifr.SetUint32(mtu)
	return unix.IoctlIfreq(s, unix.SIOCSIFMTU, ifr)
}

// randomMAC is what gvlink gives a net_shmlink link by default: random,
// unicast, locally administered.
func randomMAC() tcpip.LinkAddress {
	b := make([]byte, 6)
	rand.Read(b)
	b[0] = b[0]&^1 | 2
	return tcpip.LinkAddress(b)
}
