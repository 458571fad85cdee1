/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef BENCH_FRAME_H
#define BENCH_FRAME_H

/* The headers of the benches' frames, as testpmd txonly writes them. */

#include <stdint.h>
#include <string.h>

/* Ethernet, an IPv4 header whose length is right (a trimming client reads it) and a UDP
 * header with its length and checksum 0 ("none"): the 42 bytes before a frame's
 * sequence number. A port that fills checksums on receipt sums the whole datagram. */
static inline void
bench_frame_headers(uint8_t *p, uint16_t size)
{
	memset(p, 0xff, 6);
	memset(p + 6, 0x02, 6);
	p[12] = 0x08;
	p[13] = 0x00;
	memset(p + 14, 0, 28);
	p[14] = 0x45;
	p[16] = (uint8_t)((size - 14) >> 8);
	p[17] = (uint8_t)(size - 14);
	p[22] = 64;
	p[23] = 17;
	p[38] = (uint8_t)((size - 34) >> 8);
	p[39] = (uint8_t)(size - 34);
}

#endif /* BENCH_FRAME_H */
