# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""The packets of a capture file, standard library only: pcapng (what dpdk-dumpcap
writes) and the classic pcap format (dpdk-pdump's, through net_pcap).

For pcapng, the Enhanced Packet Blocks of every section, in order, with the direction
their epb_flags option gives (pcapng, IETF draft, 4.3): enough to compare a capture with
what was sent, without tshark.
"""

import struct

SHB, IDB, EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END, EPB_FLAGS = 0, 2
INBOUND, OUTBOUND, UNKNOWN = 'in', 'out', None


class Packet:
    """One captured packet: interface index, direction, timestamp units, bytes."""

    __slots__ = ('interface', 'direction', 'ts', 'orig_len', 'data')

    def __init__(self, interface, direction, ts, orig_len, data):
        self.interface = interface
        self.direction = direction
        self.ts = ts
        self.orig_len = orig_len
        self.data = data


def _options(buf, endian):
    """(code, value) of the options in @buf."""
    at = 0
    while at + 4 <= len(buf):
        code, length = struct.unpack_from(endian + 'HH', buf, at)
        if code == OPT_END:
            return
        yield code, buf[at + 4:at + 4 + length]
        at += 4 + (length + 3) // 4 * 4


def _direction(opts, endian):
    for code, val in opts:
        if code == EPB_FLAGS and len(val) == 4:
            return {1: INBOUND, 2: OUTBOUND}.get(struct.unpack(endian + 'I', val)[0] & 3)
    return UNKNOWN


def packets(path):
    """The packets of the pcapng file @path, in file order. Raises ValueError if it is
    not pcapng or is cut inside a block."""
    with open(path, 'rb') as f:
        data = f.read()
    at, endian, out = 0, None, []
    while at < len(data):
        if len(data) - at < 12:
            raise ValueError('%s: cut inside a block at %d' % (path, at))
        btype = struct.unpack_from('<I', data, at)[0]
        if btype == SHB:
            magic = struct.unpack_from('<I', data, at + 8)[0]
            endian = '<' if magic == BYTE_ORDER_MAGIC else '>'
            if struct.unpack_from(endian + 'I', data, at + 8)[0] != BYTE_ORDER_MAGIC:
                raise ValueError('%s: bad byte-order magic' % path)
        elif endian is None:
            raise ValueError('%s: not pcapng (no section header first)' % path)
        btype, blen = struct.unpack_from(endian + 'II', data, at)
        if blen < 12 or blen % 4 or at + blen > len(data):
            raise ValueError('%s: bad block length %d at %d' % (path, blen, at))
        if btype == EPB:
            iface, hi, lo, cap, orig = struct.unpack_from(endian + 'IIIII', data, at + 8)
            body = at + 28
            if body + cap > at + blen - 4:
                raise ValueError('%s: packet longer than its block at %d' % (path, at))
            opts = data[body + (cap + 3) // 4 * 4:at + blen - 4]
            out.append(Packet(iface, _direction(_options(opts, endian), endian),
                              hi << 32 | lo, orig, data[body:body + cap]))
        at += blen
    return out


PCAP_MAGICS = {b'\xd4\xc3\xb2\xa1': '<', b'\xa1\xb2\xc3\xd4': '>',
               b'\x4d\x3c\xb2\xa1': '<', b'\xa1\xb2\x3c\x4d': '>'}


def pcap_packets(path):
    """The packets of the classic pcap file @path (direction unknown). Raises ValueError
    if it is not pcap or is cut inside a record."""
    with open(path, 'rb') as f:
        data = f.read()
    endian = PCAP_MAGICS.get(data[:4])
    if endian is None or len(data) < 24:
        raise ValueError('%s: not a pcap file' % path)
    at, out = 24, []
    while at < len(data):
        if len(data) - at < 16:
            raise ValueError('%s: cut inside a record header at %d' % (path, at))
        sec, frac, cap, orig = struct.unpack_from(endian + 'IIII', data, at)
        if at + 16 + cap > len(data):
            raise ValueError('%s: cut inside a record at %d' % (path, at))
        out.append(Packet(0, UNKNOWN, sec << 32 | frac, orig, data[at + 16:at + 16 + cap]))
        at += 16 + cap
    return out
