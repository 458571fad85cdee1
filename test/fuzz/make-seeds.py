#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
"""Write the seed corpora of the fuzzers: small valid inputs and edge cases, one file per
seed, in test/fuzz/corpus/<target>/. Each seed follows its harness's input format (see
the comment at the top of each fuzz_*.c). Deterministic: running it again rewrites the
same files.

    /usr/bin/python3 test/fuzz/make-seeds.py [CORPUS_DIR]
"""

import os
import struct
import sys

FREE = 0x8000000000000000
HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v):
    return struct.pack('<B', v & 0xff)


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


# ---- fuzz_pipe_rx / fuzz_pipe_tx: u16 size selector | u8 L | L program bytes | ring ----

RX_OPS = dict(pull=0, flush=3, abort=4, mark=5, rewind=6, poke64=7, poke8=8, drain=9)
TX_OPS = dict(push=0, flush=2, abort=3, read=4, read_some=5, poke64=6, poke8=7)


def ring_size_sel(size):
    return u16(size - 24)


def ring(size, headers):
    """@size bytes, with u64 @headers {offset: value}."""
    b = bytearray(size)
    for off, v in headers.items():
        b[off:off + 8] = u64(v)
    return bytes(b)


def pipe_rx_seed(size, prog, headers):
    return ring_size_sel(size) + u8(len(prog)) + bytes(prog) + ring(size, headers)


def pipe_rx_seeds():
    o = RX_OPS
    drain2 = [o['drain'], o['drain']]
    poke = [o['poke64']] + list(u16(0)) + list(u64(0x14))
    return {
        'fresh-128': pipe_rx_seed(128, drain2, {0: FREE}),
        # spec §3.6 sequence A, after the first flush: one 20-byte slot
        'one-slot': pipe_rx_seed(128, [o['pull'], o['pull'], o['flush'], o['drain']],
                                 {0: 0x14, 32: FREE}),
        # three slots up to a wrap slot at 96 (0xFFFFFF98: the 2^32-based size)
        'wrap-at-96': pipe_rx_seed(128, [o['pull'], o['pull'], o['pull'], o['pull'],
                                         o['flush'], o['drain']],
                                   {0: 0x14, 32: 0x1e, 72: 0x0a, 96: 0xFFFFFF98}),
        'wrap-first': pipe_rx_seed(128, drain2, {0: 0xFFFFFFF8}),
        # a data slot that ends exactly at the ring end: damaged
        'slot-ends-at-ring-end': pipe_rx_seed(128, drain2, {0: 120}),
        # a wrap with the physical size (ringLen - off - 8): damaged
        'physical-wrap': pipe_rx_seed(128, drain2, {0: 0x14, 32: 88}),
        'all-ones': pipe_rx_seed(64, drain2, {0: 0xFFFFFFFFFFFFFFFF}),
        'zero-header': pipe_rx_seed(64, drain2, {}),
        'freed-whole-ring': pipe_rx_seed(128, drain2, {0: FREE | 0xFFFFFFF8}),
        'min-ring-24': pipe_rx_seed(24, drain2, {0: 0x8}),
        'mark-rewind-abort': pipe_rx_seed(
            256, [o['mark'], o['pull'], o['pull'], o['rewind'], o['pull'], o['abort'],
                  o['pull'], o['flush']] + poke + [o['drain']],
            {0: 0x14, 32: 0x10, 56: FREE}),
        'odd-size-4103': pipe_rx_seed(4103, drain2, {0: 4000, 4008: FREE}),
    }


def pipe_tx_seeds():
    o = TX_OPS

    def push(n):
        return [o['push']] + list(u16(n))

    def prog(size, ops):
        return ring_size_sel(size) + u8(len(ops)) + bytes(ops)
    seq_a = (push(20) + [o['flush']] + push(30) + push(10) + [o['flush'], o['read']] +
             push(30) + [o['flush'], o['read']])
    seq_b = push(72) + [o['flush'], o['read']] + push(16) + push(16) + [o['flush'], o['read']]
    fill = []
    for _ in range(12):
        fill += push(8)
    fill += [o['flush']] + push(8) + [o['read_some'], 1, o['flush'], o['read']]
    poke = push(20) + [o['flush'], o['read'], o['poke64']] + list(u16(0)) + \
        list(u64(FREE | 0xFFFFFFF0)) + push(20) + [o['flush'], o['read']]
    return {
        'golden-a': ring_size_sel(128) + u8(len(seq_a)) + bytes(seq_a),
        'golden-b': ring_size_sel(128) + u8(len(seq_b)) + bytes(seq_b),
        'fill-and-full': ring_size_sel(128) + u8(len(fill)) + bytes(fill),
        'oversize-push': prog(64, push(49)),
        'max-payload': prog(64, push(48) + [o['flush'], o['read'], o['read']]),
        'bad-free-header': ring_size_sel(128) + u8(len(poke)) + bytes(poke),
    }


# ---- fuzz_records: u8 selector | u8 max | record ----

def records_seeds():
    txd = lambda bufs, id=0, total=100: u64(id) + u32(total) + u32(0) + b''.join(
        u64(o) + u32(s) for o, s in bufs)
    rxc = lambda bufs, total: u32(total) + u32(0) + b''.join(
        u64(o) + u32(s) + u64(ud) + u64(i) for o, s, ud, i in bufs)
    return {
        'txd-spec-100-bytes': u8(0) + u8(4) + txd([(0, 0x800)]),
        'txd-three-reverse': u8(0) + u8(4) + txd([(6144, 2048), (4096, 2048), (2048, 2048)],
                                                 id=7, total=5000),
        'txd-more-than-max': u8(0) + u8(1) + txd([(0, 1), (8, 1), (16, 1)]),
        'txd-header-only': u8(0) + u8(4) + txd([]),
        'txd-15-bytes': u8(0) + u8(4) + txd([])[:15],
        'txd-7-bytes': u8(0) + u8(4) + b'\x01' * 7,
        'txd-trailing': u8(0) + u8(4) + txd([(0, 64)]) + b'\xee' * 11,
        'txc-8': u8(1) + u8(0) + u64(0x1122334455667788),
        'txc-7': u8(1) + u8(0) + b'\x01' * 7,
        'txc-9': u8(1) + u8(0) + b'\x01' * 9,
        'rxp-32': u8(2) + u8(0) + u64(4096) + u32(2048) + u32(0) + u64(0xabcdef) + u64(2),
        'rxp-31': u8(2) + u8(0) + b'\x02' * 31,
        'rxp-40': u8(2) + u8(0) + b'\x02' * 40,
        'rxc-one': u8(3) + u8(4) + rxc([(0, 100, 0, 0)], 100),
        'rxc-two': u8(3) + u8(4) + rxc([(0, 2048, 0, 0), (2048, 952, 5, 1)], 3000),
        'rxc-header-only': u8(3) + u8(4) + rxc([], 0),
        'rxc-7-bytes': u8(3) + u8(4) + b'\x03' * 7,
        'rxc-max-0': u8(3) + u8(0) + rxc([(0, 100, 0, 0)], 100),
    }


# ---- fuzz_ctl: the message ----

def ctl(type, role=0, nb_qp=1, qp=0, flags=0, mtu=1500, bufsz=2048,
        mac=b'\x02\x00\x00\x00\x00\x01', reason=0, text=b'', magic=0x4c4d4853, version=1,
        hdr_len=64, extra=b''):
    hdr = struct.pack('<IHHBBHHHII6sHII24x', magic, version, hdr_len, type, role, nb_qp, qp,
                      flags, mtu, bufsz, mac, 0, reason, len(text))
    return hdr + extra + text


def ctl_seeds():
    return {
        'offer-doc-example': ctl(1),
        'accept-doc-example': ctl(2, mac=b'\x02\x00\x00\x00\x00\x02'),
        'reject-busy': ctl(3, reason=1, text=b'a peer is already attached'),
        'reject-nonprintable': ctl(3, reason=2, text=b'bad\x00\x07\xff'),
        'reject-text-max': ctl(3, reason=4, text=b'x' * 192),
        'reject-text-too-long': ctl(3, reason=4, text=b'x' * 193),
        'offer-16-qp': ctl(1, nb_qp=16, qp=15, flags=3),
        'offer-qp-out-of-range': ctl(1, nb_qp=2, qp=2),
        'longer-header': ctl(3, hdr_len=80, extra=b'\0' * 16, text=b'why'),
        'header-longer-than-message': ctl(1, hdr_len=65),
        'bad-magic': ctl(1, magic=0x4c4d4854),
        'version-2': ctl(1, version=2),
        'short-8': ctl(1)[:8],
        'short-63': ctl(1)[:63],
        'unknown-flags': ctl(1, flags=4),
        'oversize-256': ctl(3, text=b'y' * 192) + b'z',
    }


# ---- fuzz_endpoint (client and server): u8 geometry | u8 settings | program ----

GEOM_16K = 1        # 16484-byte data, 4 KiB pipes, 2048-byte buffers
OP_TX, OP_RX, OP_RELEASE, OP_READY, OP_POKE64, OP_POKE8, OP_WORD, OP_EFD, OP_PEER = \
    0, 1, 3, 4, 5, 6, 7, 8, 9
OP_RETURN, OP_LEND, OP_PLACE, OP_TX_RETURN = 13, 14, 15, 16


def geom_hold(geom, hold_index):
    """The geometry byte of @geom (the byte modulo 5) with rx_hold holds[@hold_index]
    (its high nibble; fuzz_endpoint.c)."""
    return next(b for b in range(hold_index << 4, (hold_index + 1) << 4) if b % 5 == geom)


def geom_tx_hold(geom, tx_index):
    """The geometry byte of @geom with rx_hold 0 (a high nibble of 0 to 7) and tx_hold
    tx_holds[@tx_index] (bits 1 to 3; fuzz_endpoint.c)."""
    return next(b for b in range(128) if b % 5 == geom and (b >> 1) & 7 == tx_index)


GEOM_16K_HOLD_16 = geom_hold(1, 13)
GEOM_16K_TX_HOLD_8 = geom_tx_hold(1, 6)
GEOM_16K_TX_HOLD_16 = geom_tx_hold(1, 7)     # more than its 8 chunks


def ep_tx(lengths):
    b = u8(OP_TX) + u8(len(lengths) - 1)
    for n in lengths:
        # one piece: a = 0, pattern offset 0, b = 0
        b += u16(n) + (u16(0) if n > 0 else b'') + u16(0) + (u16(0) if n > 0 else b'')
    return b


def ep_rx(max_frames=16, max_segs=160):
    return u8(OP_RX) + u8(max_frames - 1) + u8(max_segs - 1)


def ep_rx_lend(max_frames=16, max_segs=160):
    """rx_burst_hold: an endpoint with rx_hold takes one more byte, odd to lend."""
    return ep_rx(max_frames, max_segs) + u8(1)


def ep_return(n, picks):
    return u8(OP_RETURN) + u8(n) + b''.join(u16(i) for i in picks) + u8(1)


def peer(sub, *fields):
    return u8(OP_PEER) + u8(sub) + b''.join(fields)


# ---- zero-copy transmit (client, tx_hold): lending, frames built in chunks, returns ----

def ep_lend(n):
    return u8(OP_LEND) + u8(n)


def piece(o=None, n=0):
    """A piece in a chunk held: the rest of it after the header's room, or from @o (past
    that room, modulo what is left) for 1 + @n bytes (modulo what is left)."""
    return u8(0) if o is None else u8(1) + u16(o) + u16(n)


def in_chunks(h, pieces):
    """A frame of one piece per chunk, in held chunks h, h + 1, ..."""
    return u8(0) + u8(h) + u8(len(pieces) - 1) + b''.join(pieces)


def across(h, o, n):
    """One piece from @o in held chunk @h across its end, 1 + @n bytes into the next."""
    return u8(3) + u8(h) + u16(o) + u16(n)


def two_in_one(h, p1, p2):
    return u8(4) + u8(h) + p1 + p2


def no_room(h, o, n):
    """With a virtio header: the first piece at @o < the header's length."""
    return u8(5) + u8(h) + u8(o) + u16(n)


def in_gone(h, o, g, n, p):
    """A first piece in chunk @g given back, 1 + @o bytes past the header's room for
    1 + @n bytes (each modulo what is left; no longer than its offset past that room),
    then piece @p in held chunk @h."""
    return u8(6) + u8(h) + u16(o) + u8(g) + u16(n) + p


def in_pat(lengths, held=True):
    """A frame in the pattern (copied); without chunks held, no kind byte is read."""
    return ((u8(7) + u8(0)) if held else b'') + u8(len(lengths) - 1) + b''.join(
        u16(0) + u16(n - 1) for n in lengths)


def ep_place(frames):
    return u8(OP_PLACE) + u8(len(frames) - 1) + b''.join(frames)


def ep_tx_return(picks):
    return u8(OP_TX_RETURN) + u8(len(picks)) + b''.join(picks)


def tok_held(i):
    return u8(0) + u8(i)


def tok_dup(i):
    """The token picked @i-th in this return."""
    return u8(3) + u8(i)


def tok_stale(i):
    return u8(4) + u8(i)


def tok_other_lending(i, d=0):
    return u8(5) + u8(i) + u8(d)


def tok_past_chunks(i, d=0):
    return u8(6) + u8(i) + u8(d)


def tok_any(v):
    return u8(7) + (u8(1) + u64(v) if v > 0xffff else u8(0) + u16(v))


def eth_ipv4(total_len):
    """An Ethernet + IPv4 header whose total length says @total_len (for trimming)."""
    return (b'\x02\x00\x00\x00\x00\x01' + b'\x02\x00\x00\x00\x00\x02' + b'\x08\x00' +
            b'\x45\x00' + struct.pack('>H', total_len) + b'\0' * 16)


def eth_vlan_ipv4(total_len):
    """The same behind an 802.1Q tag."""
    return (b'\x02\x00\x00\x00\x00\x01' + b'\x02\x00\x00\x00\x00\x02' + b'\x81\x00' +
            b'\x00\x05' + b'\x08\x00' + b'\x45\x00' + struct.pack('>H', total_len) +
            b'\0' * 16)


def eth_arp():
    return (b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x02' + b'\x08\x06' +
            b'\x00\x01\x08\x00\x06\x04\x00\x01' + b'\0' * 20)


def eth_ipv6(payload_len):
    return (b'\x02\x00\x00\x00\x00\x01' + b'\x02\x00\x00\x00\x00\x02' + b'\x86\xdd' +
            b'\x60\0\0\0' + struct.pack('>H', payload_len) + b'\x11\x40' + b'\0' * 32)


def ep_client_seeds():
    hdr = eth_ipv4(46)
    fill = u8(len(hdr)) + hdr
    # peer: read descriptors (k, flush), complete TX (mode 0, index 0), read posted
    # buffers, complete RX (one buffer, valid, size 100, data, total = sizes)
    flow = (ep_tx([100, 3000]) + peer(0, u8(7), u8(1)) + peer(2, u8(0), u8(0)) +
            peer(2, u8(0), u8(0)) + ep_tx([60]) +
            peer(1, u8(15), u8(1)) +
            peer(4, u8(0), u8(3), u8(0), u16(99), fill, u8(3)) +
            peer(4, u8(1), u8(3), u8(0), u16(2047), fill, u8(3), u8(0), u16(999), u8(0),
                 u8(3)) +
            ep_rx() + u8(OP_RELEASE) + ep_rx())
    # The same frames lent, returned out of order, then more frames into the buffers.
    lend = (ep_tx([100, 3000]) + peer(0, u8(7), u8(1)) + peer(2, u8(0), u8(0)) +
            peer(1, u8(15), u8(1)) +
            peer(4, u8(0), u8(3), u8(0), u16(99), fill, u8(3)) +
            peer(4, u8(1), u8(3), u8(0), u16(2047), fill, u8(3), u8(0), u16(999), u8(0),
                 u8(3)) +
            ep_rx_lend() + u8(OP_RELEASE) + ep_return(2, [1, 0]) +
            peer(1, u8(15), u8(1)) +
            peer(4, u8(0), u8(3), u8(0), u16(99), fill, u8(3)) + ep_rx_lend() +
            ep_return(1, [0]))
    bad = (peer(1, u8(15), u8(1)) +
           peer(4, u8(0), u8(2), u8(0), u16(99), u8(7), u8(0), u8(3)) +   # unknown id
           peer(4, u8(0), u8(0), u8(0), u16(99), u8(0), u8(0), u8(3)) +   # size > posted
           peer(4, u8(0), u8(1), u8(0), u16(99), u8(3), u8(0), u8(3)) +   # offset = size
           peer(4, u8(0), u8(3), u8(0), u16(99), u8(0), u8(0)) +          # total > sizes
           peer(3, u8(5), u64(0xffffffffffffffff)) +                      # TX id 2^64 - 1
           peer(3, u8(6), u8(7), b'\x01' * 7) +                           # 7-byte completion
           ep_rx() + ep_tx([64]))
    damage = (ep_tx([64]) + u8(OP_POKE64) + u8(1) + u16(0) + u8(0xff) + u64(0) +  # wrap
              ep_tx([64]) + u8(OP_EFD) + u8(0) + u8(0) + ep_rx())
    # One completion per frame kind, each into its own posted buffer, trimmed (setting
    # bit 2) to what its L3 header says.
    trim = ep_tx([100]) + peer(1, u8(15), u8(1))
    for hdr in (eth_vlan_ipv4(46), eth_arp(), eth_ipv6(8), eth_ipv4(46)):
        trim += peer(4, u8(0), u8(3), u8(0), u16(199), u8(len(hdr)) + hdr, u8(3))
    trim += ep_rx() + u8(OP_RELEASE)
    # Zero-copy transmit: frames built in lent chunks sent in place, mixed with copied
    # ones, one of them in a chunk sent before; returns out of order with a duplicate;
    # chunks lent again. The peer reads descriptors and completes @n frames.
    complete = lambda n: peer(0, u8(7), u8(1)) + peer(2, u8(0), u8(0)) * n
    tx_lend = (ep_lend(4) +
               ep_place([in_chunks(0, [piece()]),
                         in_chunks(1, [piece(100, 499), piece()]),
                         in_pat([100])]) + complete(3) +
               ep_tx([60]) + ep_place([in_chunks(0, [piece()]), in_chunks(3, [piece(0, 59)])]) +
               complete(3) + ep_tx_return([tok_held(1), tok_held(0), tok_dup(0)]) +
               ep_lend(7) + ep_place([in_chunks(2, [piece(), piece(), piece()])]) + complete(1) +
               ep_tx_return([tok_held(3), tok_held(0)]) + ep_tx([1500]) + complete(1))

    # Frames that must be copied: across a chunk's end, two pieces in one chunk, no room
    # for the virtio header (without one: a piece in a chunk, one in the pattern), a
    # piece in a chunk given back; then one sent in place.
    def tx_bad(virtio):
        third = no_room(2, 3, 199) if virtio else u8(5) + u8(2) + piece(0, 199) + u16(0) + \
            u16(99)
        return (ep_lend(4) +
                ep_place([across(0, 1000, 100), two_in_one(1, piece(0, 99), piece(500, 99)),
                          third]) + complete(3) +
                ep_tx_return([tok_held(3)]) +
                ep_place([in_gone(0, 999, 0, 299, piece()), in_pat([64, 1500])]) + complete(2) +
                ep_place([in_chunks(2, [piece(0, 1999)])]) + complete(1) +
                ep_tx_return([tok_held(0), tok_held(1), tok_held(0)]))
    # Tokens to ignore: given back twice, stale, another lending's, past the chunks, any.
    tx_tokens = (ep_lend(3) + ep_tx_return([tok_held(2)]) +
                 ep_tx_return([tok_stale(0), tok_held(0), tok_dup(1), tok_other_lending(0, 0),
                               tok_past_chunks(0, 1), tok_any(0x100000002),
                               tok_any(7), tok_held(1)]) +
                 ep_lend(7) + ep_tx_return([tok_stale(1), tok_stale(0)]))
    # tx_hold 2: lends stop at 2 however many are asked, and go on as chunks come back.
    tx_cap = (ep_lend(7) + ep_lend(1) + ep_place([in_chunks(0, [piece()])]) + complete(1) +
              ep_tx_return([tok_held(1)]) + ep_lend(7) + ep_lend(3))
    # tx_hold 16 over 8 chunks: every chunk lent, nothing left to copy into.
    tx_all = (ep_lend(7) + ep_lend(7) + ep_lend(1) + ep_tx([100]) +
              ep_place([in_chunks(0, [piece()]), in_chunks(1, [piece(5, 9)]), in_pat([60])]) +
              complete(2) + ep_tx_return([tok_held(2), tok_held(3), tok_held(4)]) +
              ep_tx([100, 3000]) + complete(2) + ep_place([in_chunks(0, [piece()])]))
    return {
        'trim-vlan-arp-ipv6-ipv4': u8(GEOM_16K) + u8(0x04) + trim,
        'valid-flow': u8(GEOM_16K) + u8(0) + flow,
        'valid-flow-virtio-trim': u8(GEOM_16K) + u8(0x05) + flow,
        'valid-flow-raw-ip-tiny-geometry': u8(0) + u8(0x02) + flow,
        'bad-completions': u8(GEOM_16K) + u8(0) + bad,
        'ring-damage-and-eventfd-flood': u8(GEOM_16K) + u8(0) + damage,
        'buffer-larger-than-data': u8(GEOM_16K) + u8(0x80) + flow,
        'lend-return-out-of-order': u8(GEOM_16K_HOLD_16) + u8(0) + lend,
        'tx-lend-in-place': u8(GEOM_16K_TX_HOLD_8) + u8(0) + tx_lend,
        'tx-lend-in-place-virtio': u8(GEOM_16K_TX_HOLD_8) + u8(0x01) + tx_lend,
        'tx-lend-bad-placements-virtio': u8(GEOM_16K_TX_HOLD_8) + u8(0x01) + tx_bad(True),
        'tx-lend-bad-placements': u8(GEOM_16K_TX_HOLD_8) + u8(0) + tx_bad(False),
        'tx-lend-bogus-tokens': u8(GEOM_16K_TX_HOLD_8) + u8(0) + tx_tokens,
        'tx-lend-every-chunk': u8(GEOM_16K_TX_HOLD_16) + u8(0) + tx_all,
        'tx-lend-up-to-tx-hold': u8(geom_tx_hold(1, 3)) + u8(0) + tx_cap,
        'tx-lend-64-byte-chunks': u8(geom_tx_hold(3, 7)) + u8(0x41) + tx_lend,
        # settings 0xc0: 1000-byte buffers, a size no shift divides by
        'tx-lend-1000-byte-chunks': u8(GEOM_16K_TX_HOLD_16) + u8(0xc1) + tx_lend,
    }


def ep_server_seeds():
    hdr = eth_ipv4(46)
    fill = u8(len(hdr)) + hdr
    # post (size mode 0: buffer size; offset mode 0, chunk k; no userdata; id u16)
    post = lambda k, id: peer(2, u8(0), u8(0), u8(0), u8(k), u8(0), u8(0), u16(id))
    # descriptor: one buffer, counter id, size = buffer size, chunk k, data, total raw
    desc = lambda k, total: peer(0, u8(1), u8(0), u8(0), u8(0), u8(k), fill, u8(1),
                                 u32(total))
    flow = (post(0, 5) + post(1, 6) + post(2, 7) + desc(1, 100) + desc(2, 2048) +
            ep_rx() + u8(OP_RELEASE) + peer(4, u8(15)) + ep_tx([100, 3000, 60]) +
            peer(5, u8(15)) + ep_rx())
    lend = (post(0, 5) + post(1, 6) + post(2, 7) + desc(1, 100) + desc(2, 2048) +
            desc(3, 60) + ep_rx_lend() + u8(OP_RELEASE) + ep_return(2, [2, 0]) +
            peer(4, u8(15)) + desc(1, 64) + ep_rx_lend() + ep_return(7, [0, 0]) +
            peer(4, u8(15)))
    edges = (peer(2, u8(0), u8(3), u8(0), u8(0), u8(0), u8(0), u16(1)) +  # size 0
             peer(2, u8(0), u8(0), u8(3), u8(0), u8(0), u16(2)) +          # offset = size
             peer(2, u8(0), u8(0), u8(2), u8(0), u8(0), u16(3)) +          # at the edge
             peer(2, u8(0), u8(0), u8(5), u8(1), u8(0), u8(0), u16(4)) +   # 2^64 - 2
             peer(0, u8(1), u8(0), u8(7), u8(4), u8(0), u8(2)) +           # past the end
             peer(0, u8(0), u8(0), u8(0)) +                                # no buffers
             peer(0, u8(4), u8(0), u8(0), u8(0), u8(0), fill, u8(0), u8(0), u8(1), fill,
                  u8(0), u8(0), u8(2), fill, u8(0), u8(0), u8(3), fill, u8(0)) +
             peer(0, u8(250), u8(7), b'\x01' * 7) +                        # 7-byte slot
             ep_rx() + u8(OP_RELEASE) + peer(4, u8(15)) + ep_tx([1514]) + peer(5, u8(15)))
    damage = (post(0, 1) + u8(OP_POKE64) + u8(2) + u16(40) + u8(1) + ep_tx([64]) +
              u8(OP_WORD) + u8(0) + u8(2) + u8(OP_EFD) + u8(1) + u8(0) + ep_rx())
    # 130 posted buffers of 8 bytes, then a 1500-byte frame: it would need 188 of them,
    # more than a frame may have (geometry 3: 8 KiB pipes, 128-byte buffers).
    small = b''.join(peer(2, u8(0), u8(2), u16(7), u8(0), u8(i % 256), u8(0), u8(0), u16(i))
                     for i in range(130))
    # A server lends no TX chunk, whatever tx_hold says; its frames are copied.
    tx_lend = (post(0, 5) + post(1, 6) + ep_lend(7) + ep_place([in_pat([100, 60], False)]) +
               ep_tx_return([tok_any(0), tok_any(0x100000000)]) + peer(5, u8(15)))
    return {
        'frame-needs-more-than-128-buffers': u8(3) + u8(0) + small + ep_tx([1500, 60]) +
        peer(5, u8(15)),
        'valid-flow': u8(GEOM_16K) + u8(0) + flow,
        'valid-flow-virtio': u8(GEOM_16K) + u8(0x01) + flow,
        'valid-flow-small-max-frame': u8(GEOM_16K) + u8(0x08) + flow,
        'edges': u8(GEOM_16K) + u8(0) + edges,
        'ring-damage': u8(GEOM_16K) + u8(0) + damage,
        'odd-geometry': u8(3) + u8(0) + flow,
        'lend-return-out-of-order': u8(GEOM_16K_HOLD_16) + u8(0) + lend,
        'tx-lend-none': u8(GEOM_16K_TX_HOLD_8) + u8(0) + tx_lend,
    }


# ---- fuzz_attach: u8 side and settings | messages ----

def attach_offer_msg(role=0, nb_qp=0, qp=0, bufsz_sel=0, flips=()):
    b = u8(0) + u8(role) + u8(nb_qp) + u8(qp) + u8(0) + u8(0) + u8(bufsz_sel) + u8(0)
    b += u8(len(flips)) + b''.join(u8(at) + u8(v) for at, v in flips)
    return b


def attach_seeds():
    ten = u8(0) + u8(0) + b'\0' * 10            # 10 FDs, default sizes, all proper
    ten_bad = lambda i, kind: u8(0) + u8(0) + b'\0' * i + u8(230 + kind) + b'\0' * (9 - i)
    side_answer = 0x04                           # connecting, any role, one queue pair
    return {
        'answer-valid': u8(side_answer) + attach_offer_msg() + ten,
        'answer-valid-two-qp': u8(side_answer | 0x08) + attach_offer_msg(nb_qp=1) + ten +
        attach_offer_msg(nb_qp=1, qp=1) + ten,
        'answer-unsealed': u8(side_answer) + attach_offer_msg() + ten_bad(0, 0),
        'answer-unsealed-allowed': u8(side_answer | 0x80) + attach_offer_msg() + ten_bad(2, 0),
        'answer-eventfd-is-pipe': u8(side_answer) + attach_offer_msg() + ten_bad(1, 4),
        'answer-read-only-pipe': u8(side_answer) + attach_offer_msg() + ten_bad(3, 1),
        'answer-directory': u8(side_answer) + attach_offer_msg() + ten_bad(4, 6),
        'answer-pipe-over-4g': u8(side_answer) + attach_offer_msg() + ten_bad(2, 3),
        'answer-zero-length-data': u8(side_answer) + attach_offer_msg() + ten_bad(5, 2),
        'answer-small-files': u8(side_answer) + attach_offer_msg() + u8(0) + u8(0x26) +
        b'\0' * 10,
        'answer-no-fds': u8(side_answer) + attach_offer_msg() + u8(208) + u8(0),
        'answer-eleven-fds': u8(side_answer) + attach_offer_msg() + u8(206) + u8(0) +
        b'\0' * 11,
        'answer-wrong-role': u8(0x00) + attach_offer_msg(role=1) + ten,
        'answer-busy-reject': u8(side_answer) + u8(6) + u8(0) + u8(0) + u8(0) + u8(0) +
        u8(0) + u8(0) + u8(1) + u8(0) + u8(0) + u8(208) + u8(0),
        'answer-raw-garbage': u8(side_answer) + u8(240) + u8(10) + b'SHML\x01\x00' + b'\0' * 4 +
        u8(208) + u8(0),
        # listening side: an ACCEPT in the client role for our server offer
        'offer-accepted': u8(0x03) + attach_offer_msg() + u8(0) + u8(0) + u8(1),
        'offer-accept-wrong-role': u8(0x03) + attach_offer_msg(role=1) + u8(0) + u8(0) +
        u8(1),
        'offer-rejected': u8(0x03) + u8(6) + u8(0) + u8(0) + u8(0) + u8(0) + u8(0) + u8(0) +
        u8(4) + u8(5) + b'files' + u8(0) + u8(0) + u8(0) + u8(1),
        'offer-no-answer': u8(0x01),
    }


# ---- fuzz_hdr: u8 mode | u16 contiguous | u8 cut 1 | u8 cut 2 | frame ----

def hdr_seeds():
    mac = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02'
    tcp = b'\x30\x39\x00\x50' + b'\0' * 8 + b'\x50\x10\xff\xff' + b'\0' * 4
    udp = lambda n: b'\x30\x39\x00\x35' + struct.pack('>H', 8 + n) + b'\0\0'
    payload = bytes(range(101))
    v4 = lambda proto, l4: (b'\x45\x00' + struct.pack('>H', 20 + len(l4) + len(payload)) +
                            b'\0\0\0\0\x40' + u8(proto) + b'\0\0' + b'\x0a\0\0\x01\x0a\0\0\x02')
    v6 = lambda nh, l4, ext=b'': (b'\x60\0\0\0' +
                                  struct.pack('>H', len(ext) + len(l4) + len(payload)) +
                                  u8(nh) + b'\x40' + b'\xfe\x80' + b'\0' * 13 + b'\x01' +
                                  b'\xfe\x80' + b'\0' * 13 + b'\x02' + ext)
    head = lambda mode, contig=128: u8(mode) + u16(contig) + u8(3) + u8(9)
    return {
        'eth-ipv4-tcp': head(0) + mac + b'\x08\x00' + v4(6, tcp) + tcp + payload,
        'vlan-ipv4-udp': head(0) + mac + b'\x81\x00\x00\x05\x08\x00' + v4(17, udp(101)) +
        udp(101) + payload,
        'qinq-ipv6-tcp': head(0) + mac + b'\x88\xa8\x00\x05\x81\x00\x00\x06\x86\xdd' +
        v6(6, tcp) + tcp + payload,
        'eth-ipv6-ext-udp': head(0) + mac + b'\x86\xdd' +
        v6(60, udp(101), b'\x11\x00\x01\x04\0\0\0\0') + udp(101) + payload,
        'raw-ipv4-udp': head(1) + v4(17, udp(101)) + udp(101) + payload,
        'raw-ipv6-frag': head(1) + v6(44, udp(101), b'\x11\x00\x00\x01\0\0\0\x07') +
        udp(101) + payload,
        'eth-ipv4-scattered': head(0, 30) + mac + b'\x08\x00' + v4(6, tcp) + tcp + payload,
        'arp': head(0) + eth_arp(),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'corpus')
    sets = {
        'pipe_rx': pipe_rx_seeds(),
        'pipe_tx': pipe_tx_seeds(),
        'records': records_seeds(),
        'ctl': ctl_seeds(),
        'endpoint_client': ep_client_seeds(),
        'endpoint_server': ep_server_seeds(),
        'attach': attach_seeds(),
        'hdr': hdr_seeds(),
    }
    for target, seeds in sets.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
        print('%s: %d seeds in %s' % (target, len(seeds), d))


if __name__ == '__main__':
    main()
