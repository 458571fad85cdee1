// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

package gvlink

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/link/sharedmem"
)

// Positions of the five files of a queue in QueueConfig.FDs() order.
const (
	qData = iota
	qEventFD
	qTxPipe
	qRxPipe
	qShared
)

// newQueueFiles creates the five files of one queue as the listening side of
// the control protocol does: sealed memfds (a peer cannot resize them under its
// mapping), pipes starting with the "free, size 0" word, and a non-blocking
// eventfd (gVisor panics if an eventfd write fails, and would block on a
// blocking one).
func newQueueFiles(dataSize, pipeSize int) (fds []int, err error) {
	defer func() {
		if err != nil {
			closeFDs(fds)
			fds = nil
		}
	}()
	sizes := [5]int{dataSize, 0, pipeSize, pipeSize, 4096}
	names := [5]string{"data", "", "txpipe", "rxpipe", "shared"}
	for i, size := range sizes {
		if i == qEventFD {
			fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			if err != nil {
				return fds, fmt.Errorf("eventfd: %v", err)
			}
			fds = append(fds, fd)
			continue
		}
		fd, err := unix.MemfdCreate("gvlink-"+names[i], unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		if err != nil {
			return fds, fmt.Errorf("memfd_create: %v", err)
		}
		fds = append(fds, fd)
		if err := unix.Ftruncate(fd, int64(size)); err != nil {
			return fds, fmt.Errorf("ftruncate %s to %d: %v", names[i], size, err)
		}
		if i == qTxPipe || i == qRxPipe {
			var free [8]byte
			binary.LittleEndian.PutUint64(free[:], 1<<63)
			if _, err := unix.Pwrite(fd, free[:], 0); err != nil {
				return fds, fmt.Errorf("pwrite %s: %v", names[i], err)
			}
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS,
			unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
			return fds, fmt.Errorf("sealing %s: %v", names[i], err)
		}
	}
	return fds, nil
}

// checkQueueFiles checks the 10 FDs of an offer the way control_protocol.rst
// asks a connector to, so that gVisor never maps something it cannot use.
// It returns a reject reason and a message, or 0.
func checkQueueFiles(fds []int, bufferSize uint32) (uint32, string) {
	if len(fds) != fdsPerQP {
		return reasonFDs, fmt.Sprintf("%d FDs, want %d", len(fds), fdsPerQP)
	}
	for i, fd := range fds {
		if i%5 == qEventFD {
			buf := make([]byte, 64)
			n, err := unix.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd), buf)
			if err != nil || string(buf[:n]) != "anon_inode:[eventfd]" {
				return reasonFDs, fmt.Sprintf("FD %d is not an eventfd", i)
			}
			continue
		}
		var st unix.Stat_t
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil || unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
			fl&unix.O_ACCMODE != unix.O_RDWR {
			return reasonFDs, fmt.Sprintf("FD %d is not a read-write regular file", i)
		}
		ok := true
		switch i % 5 {
		case qData:
			ok = st.Size >= int64(bufferSize)
		case qTxPipe, qRxPipe:
			ok = st.Size >= 24 && st.Size < 1<<32
		case qShared:
			ok = st.Size >= 4
		}
		if !ok {
			return reasonFiles, fmt.Sprintf("file %d has a bad size (%d bytes)", i, st.Size)
		}
	}
	return 0, ""
}

// queueConfigs turns 10 FDs into gVisor's TX and RX queue configurations.
func queueConfigs(fds []int) (tx, rx sharedmem.QueueConfig) {
	tx, _ = sharedmem.QueueConfigFromFDs(fds[0:5])
	rx, _ = sharedmem.QueueConfigFromFDs(fds[5:10])
	return tx, rx
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
