# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""The test frames of app/shmlink-peer (txonly), rebuilt byte for byte in Python: an
oracle written apart from the C (app/shmlink-peer/peer_pkt.c documents the format), to
tell that a frame seen elsewhere (a capture) is exactly one the peer sent.

Frame seq of a peer with --txpkts S0,S1,... is S[seq % n] bytes: Ethernet (peer MAC to
port MAC), IPv4 (DF, TTL 64, UDP, no options), UDP (checksum 0), then the test header
(magic "SL", CRC32C, queue id, frame length, seq) and the fill, byte i = (i + seq) % 251.
"""

import ipaddress
import struct

MAGIC = 0x534C
TEST_HDR_LEN = 18
FILL_MOD = 251
# shmlink-peer's defaults (--ip, --peer-ip, --tx-udp).
PEER_IP, PORT_IP = '198.18.0.2', '198.18.0.1'
UDP_PORTS = (9, 9)


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c_update(crc, data):
    """CRC32C state after @data (neither the initial nor the final inversion)."""
    t = _TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _sum16(data):
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data[:len(data) // 2 * 2]))
    if len(data) % 2:
        s += data[-1] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(':'))


def frame(seq, size, src_mac, dst_mac, qid=0, src_ip=PEER_IP, dst_ip=PORT_IP,
          ports=UDP_PORTS):
    """Frame @seq of @size bytes, as shmlink-peer builds it."""
    ip_len = size - 14
    ip = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, ip_len, 0, 0x4000, 64, 17, 0,
                               ipaddress.IPv4Address(src_ip).packed,
                               ipaddress.IPv4Address(dst_ip).packed))
    struct.pack_into('!H', ip, 10, ~_sum16(bytes(ip)) & 0xFFFF)
    udp = struct.pack('!HHHH', ports[0], ports[1], ip_len - 20, 0)
    plen = ip_len - 28
    fill = bytes((i + seq) % FILL_MOD for i in range(plen - TEST_HDR_LEN))
    tail = struct.pack('!HHQ', qid, size, seq)
    crc = crc32c_update(0xFFFFFFFF, fill)
    crc = crc32c_update(crc, tail)
    crc = ~crc32c_update(crc, udp[:6]) & 0xFFFFFFFF
    payload = struct.pack('!HI', MAGIC, crc) + tail + fill
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b'\x08\x00' + bytes(ip) + udp + payload


def seq_of(data):
    """The sequence number a test frame says it has (Ethernet, IPv4 without options), or
    None if it is no test frame."""
    if len(data) < 14 + 28 + TEST_HDR_LEN or data[12:14] != b'\x08\x00':
        return None
    pl = data[42:]
    if struct.unpack_from('!H', pl, 0)[0] != MAGIC:
        return None
    return struct.unpack_from('!Q', pl, 10)[0]
