// SPDX-License-Identifier: BSD-3-Clause
// Copyright(c) 2026 The shmlink authors

package gvlink

import (
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Control protocol 1.1 (doc/guides/prog/control_protocol.rst): every message is
// one SOCK_SEQPACKET record starting with this 64-byte little-endian header,
// which OFFER and ACCEPT extend to 72 bytes (minor version, offloads).
const (
	ctlMagic    = 0x4c4d4853 // "SHML"
	ctlVersion  = 1
	ctlHdrLen   = 64
	ctlHdrLen11 = 72 // OFFER and ACCEPT of minor version 1
	ctlMinor    = 1
	ctlMsgMax   = 256 // header + up to 192 bytes of REJECT text
	ctlTextMax  = 192
	fdsPerQP    = 10 // TX queue's 5 FDs, then RX queue's 5, in QueueConfig.FDs() order
	ctlTimeout  = 5 * time.Second
	msgOffer    = 1
	msgAccept   = 2
	msgReject   = 3
	flagRawIP   = 0x1
	flagVirtio  = 0x2
	flagsKnown  = flagRawIP | flagVirtio
	maxQPsInMsg = 16
	// Offloads: what the sender of a message says of itself. Frames from A to
	// B may leave TCP/UDP checksums unfilled when A says csumTx and B csumRx.
	csumTx      = 0x1
	csumRx      = 0x2
	offloadsAll = csumTx | csumRx
)

// agreedOffloads is what a link agrees on from our side: csumTx if we may leave
// our checksums unfilled, csumRx if the peer may.
func agreedOffloads(ours, theirs uint16) uint16 {
	var o uint16
	if ours&csumTx != 0 && theirs&csumRx != 0 {
		o |= csumTx
	}
	if ours&csumRx != 0 && theirs&csumTx != 0 {
		o |= csumRx
	}
	return o
}

// Reject reasons.
const (
	reasonBusy     = 1
	reasonProtocol = 2
	reasonFDs      = 3
	reasonFiles    = 4
	reasonRole     = 5
	reasonConfig   = 6
	reasonInternal = 8
)

// ctlMsg is a decoded control message.
type ctlMsg struct {
	typ, role  uint8
	nbQP, qp   uint16
	flags      uint16
	mtu        uint32
	bufferSize uint32
	mac        tcpip.LinkAddress
	minor      uint16 // 1 with the extension, 0 from a 1.0 peer
	offloads   uint16 // csumTx, csumRx of the sender
	reason     uint32
	text       string
}

// extended reports whether messages of type typ carry the 1.1 extension: a
// REJECT keeps 64 bytes so that its text fits in the 256 every version takes.
func extended(typ uint8) bool { return typ == msgOffer || typ == msgAccept }

func (m *ctlMsg) marshal() []byte {
	text := m.text
	if len(text) > ctlTextMax {
		text = text[:ctlTextMax]
	}
	hl := ctlHdrLen
	if extended(m.typ) {
		hl = ctlHdrLen11
		text = ""
	}
	b := make([]byte, hl+len(text))
	le := binary.LittleEndian
	le.PutUint32(b[0:], ctlMagic)
	le.PutUint16(b[4:], ctlVersion)
	le.PutUint16(b[6:], uint16(hl))
	if extended(m.typ) {
		le.PutUint16(b[64:], ctlMinor)
		le.PutUint16(b[66:], m.offloads&offloadsAll)
	}
	b[8], b[9] = m.typ, m.role
	le.PutUint16(b[10:], m.nbQP)
	le.PutUint16(b[12:], m.qp)
	le.PutUint16(b[14:], m.flags)
	le.PutUint32(b[16:], m.mtu)
	le.PutUint32(b[20:], m.bufferSize)
	copy(b[24:30], m.mac)
	le.PutUint32(b[32:], m.reason)
	le.PutUint32(b[36:], uint32(len(text)))
	copy(b[hl:], text)
	return b
}

func parseCtl(b []byte) (ctlMsg, error) {
	le := binary.LittleEndian
	var m ctlMsg
	if len(b) < ctlHdrLen || le.Uint32(b[0:]) != ctlMagic || le.Uint16(b[4:]) != ctlVersion {
		return m, fmt.Errorf("not a version 1 control message (%d bytes)", len(b))
	}
	hl := int(le.Uint16(b[6:]))
	if hl < ctlHdrLen || hl > len(b) {
		return m, fmt.Errorf("bad header length %d", hl)
	}
	m = ctlMsg{typ: b[8], role: b[9], nbQP: le.Uint16(b[10:]), qp: le.Uint16(b[12:]),
		flags: le.Uint16(b[14:]), mtu: le.Uint32(b[16:]), bufferSize: le.Uint32(b[20:]),
		mac: tcpip.LinkAddress(b[24:30]), reason: le.Uint32(b[32:])}
	if n := int(le.Uint32(b[36:])); n <= ctlTextMax && hl+n <= len(b) {
		m.text = string(b[hl : hl+n])
	}
	if extended(m.typ) && hl >= ctlHdrLen11 {
		if m.minor = le.Uint16(b[64:]); m.minor >= 1 {
			m.offloads = le.Uint16(b[66:]) & offloadsAll
		}
	}
	// The queue-pair count is checked in offers only: lib/shmlink's REJECT carries 0.
	if m.typ < msgOffer || m.typ > msgReject || m.role > 1 || m.flags&^flagsKnown != 0 ||
		(m.typ == msgOffer && (m.nbQP < 1 || m.nbQP > maxQPsInMsg || m.qp >= m.nbQP)) {
		return m, fmt.Errorf("bad control message: type %d role %d qp count %d flags %#x",
			m.typ, m.role, m.nbQP, m.flags)
	}
	return m, nil
}

// sendCtl sends one message with optional FDs (SCM_RIGHTS).
func sendCtl(sock int, m *ctlMsg, fds []int) error {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(sock, m.marshal(), oob, nil, unix.MSG_NOSIGNAL)
}

// recvCtl waits (at most ctlTimeout) for one message and the FDs that came with
// it. The FDs are returned even when the message is bad, for the caller to close.
func recvCtl(sock int) (ctlMsg, []int, error) {
	pfd := []unix.PollFd{{Fd: int32(sock), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, int(ctlTimeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return ctlMsg{}, nil, err
		}
		if n == 0 {
			return ctlMsg{}, nil, fmt.Errorf("no control message within %v", ctlTimeout)
		}
		break
	}
	buf := make([]byte, ctlMsgMax+1)
	oob := make([]byte, unix.CmsgSpace(4*(fdsPerQP+1)))
	n, oobn, flags, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return ctlMsg{}, nil, err
	}
	var fds []int
	if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for i := range cmsgs {
			if f, err := unix.ParseUnixRights(&cmsgs[i]); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	switch {
	case n == 0 && len(fds) == 0:
		return ctlMsg{}, nil, fmt.Errorf("control socket closed by the peer")
	case n > ctlMsgMax || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0:
		return ctlMsg{}, fds, protoError{fmt.Errorf("control message too long (%d bytes, flags %#x)", n, flags)}
	}
	m, err := parseCtl(buf[:n])
	if err != nil {
		err = protoError{err}
	}
	return m, fds, err
}

// protoError is a malformed message (as opposed to a timeout or a closed socket).
type protoError struct{ error }

// unfinished is a handshake the listener did not finish: it went silent or hung up.
type unfinished struct{ error }

// reject sends a REJECT with a reason and text, ignoring errors.
func reject(sock int, reason uint32, text string) {
	sendCtl(sock, &ctlMsg{typ: msgReject, nbQP: 1, reason: reason, text: text}, nil)
}
