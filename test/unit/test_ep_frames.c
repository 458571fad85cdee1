/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * What the endpoints do to frames: trimming to the L3 length (spec 8.1-1), max_frame
 * on receive, frames that can never be sent.
 *
 * The client and the server role against each other in one process, over real queue
 * files (endpoint_harness.h). Every check that fails prints file:line and what
 * differed; the exit status is non-zero if any check failed.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint_harness.h"

/* ---------------------------------------------------------------------------------------
 * 5. Trimming to the L3 length (spec §8.1-1)
 */

#define ETH_HLEN 14u

static uint32_t
make_eth(uint8_t *p, uint16_t etype)
{
	memset(p, 0xff, 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x01", 6);
	p[12] = (uint8_t)(etype >> 8);
	p[13] = (uint8_t)etype;
	return ETH_HLEN;
}

static void
make_ipv4(uint8_t *p, uint16_t totlen)
{
	p[0] = 0x45;
	p[1] = 0;
	p[2] = (uint8_t)(totlen >> 8);
	p[3] = (uint8_t)totlen;
}

static void
make_ipv6(uint8_t *p, uint16_t plen)
{
	p[0] = 0x60;
	p[1] = 0;
	p[2] = 0;
	p[3] = 0;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
}

static void
make_arp(uint8_t *p)
{
	static const uint8_t fixed[8] = { 0, 1, 0x08, 0x00, 6, 4, 0, 1 };

	memcpy(p, fixed, sizeof(fixed));
}

/*
 * Send @len bytes of @content from the server; the client must see exactly the first
 * @want bytes, and its rx_trimmed must grow by one iff @trimmed.
 */
static void
trim_one_at(const char *file, int line, struct link *l, const uint8_t *content, uint32_t len,
		uint32_t want, bool trimmed, const char *what)
{
	static uint32_t seed;
	struct shmlink_ep_stats before = stats_of(l->client), after;
	struct shmlink_frame f;
	unsigned int m, got;

	src_build(&src_pool[0], content, len, (seed & 1) != 0, seed);
	seed++;
	f = src_pool[0].f;
	m = shmlink_ep_tx_burst(l->server, &f, 1);
	check_at(file, line, m == 1, "sent", "%s: server tx_burst returned %u", what, m);
	got = shmlink_ep_rx_burst(l->client, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
	if (check_at(file, line, got == 1, "received", "%s: client got %u frames", what, got))
		frame_check_at(file, line, &rx_frames[0], content, want, what, 0);
	shmlink_ep_rx_release(l->client);
	after = stats_of(l->client);
	check_at(file, line, after.rx_trimmed - before.rx_trimmed == (trimmed ? 1u : 0u),
			"rx_trimmed", "%s: rx_trimmed grew by %" PRIu64 ", expected %u", what,
			after.rx_trimmed - before.rx_trimmed, trimmed ? 1u : 0u);
}
#define TRIM_ONE(l, c, len, want, trimmed, what) \
	trim_one_at(__FILE__, __LINE__, (l), (c), (len), (want), (trimmed), (what))

static void
test_trim_to_l3_length(void)
{
	struct shmlink_ep_conf trim = { .trim = true };
	struct shmlink_ep_conf trim_raw = { .trim = true, .raw_ip = true };
	struct shmlink_ep_conf trim_v = { .trim = true, .virtio_hdr = true };
	struct shmlink_ep_conf v = { .virtio_hdr = true };
	static uint8_t c[6000];
	struct link l;
	uint32_t l2;

	if (link_open(&l, NULL, NULL, &trim, &conf_default)) {
		pattern_fill(c, 1, sizeof(c));
		l2 = make_eth(c, 0x0800);
		make_ipv4(c + l2, 46);
		TRIM_ONE(&l, c, 100, 60, true, "IPv4 padded");
		make_ipv4(c + l2, 86);
		TRIM_ONE(&l, c, 100, 100, false, "IPv4 exact");
		make_ipv4(c + l2, 200);
		TRIM_ONE(&l, c, 100, 100, false, "IPv4 claiming more than the frame");
		make_ipv4(c + l2, 2500);
		TRIM_ONE(&l, c, 5000, 2514, true, "IPv4 over two buffers");
		make_ipv4(c + l2, 2048 - ETH_HLEN);
		TRIM_ONE(&l, c, 4000, 2048, true, "IPv4 cut at a buffer boundary");
		make_ipv4(c + l2, 2049 - ETH_HLEN);
		TRIM_ONE(&l, c, 4000, 2049, true, "IPv4 cut one byte past a buffer");
		make_ipv4(c + l2, 10);
		TRIM_ONE(&l, c, 100, 100, false, "IPv4 total length below its header");
		TRIM_ONE(&l, c, 20, 20, false, "frame too short for an IP header");

		pattern_fill(c, 2, sizeof(c));
		l2 = make_eth(c, 0x86dd);
		make_ipv6(c + l2, 20);
		TRIM_ONE(&l, c, 120, 74, true, "IPv6 padded");
		make_ipv6(c + l2, 66);
		TRIM_ONE(&l, c, 120, 120, false, "IPv6 exact");
		make_ipv6(c + l2, 1000);
		TRIM_ONE(&l, c, 120, 120, false, "IPv6 claiming more than the frame");

		pattern_fill(c, 3, sizeof(c));
		l2 = make_eth(c, 0x0806);
		make_arp(c + l2);
		TRIM_ONE(&l, c, 60, 42, true, "ARP padded to 60");

		pattern_fill(c, 4, sizeof(c));
		l2 = make_eth(c, 0x8100);
		c[14] = 0x00;
		c[15] = 0x05;
		c[16] = 0x08;
		c[17] = 0x00;
		make_ipv4(c + l2 + 4, 40);
		TRIM_ONE(&l, c, 90, 58, true, "VLAN-tagged IPv4");

		pattern_fill(c, 5, sizeof(c));
		make_eth(c, 0x88cc);
		TRIM_ONE(&l, c, 100, 100, false, "unknown EtherType");
		link_settle(&l);
		CHECK_CLIENT_QUIESCENT(l.client);
		link_close(&l);
	}

	if (link_open(&l, NULL, NULL, &trim_raw, &conf_default)) {
		pattern_fill(c, 6, sizeof(c));
		make_ipv4(c, 40);
		TRIM_ONE(&l, c, 64, 40, true, "raw IPv4");
		make_ipv6(c, 8);
		TRIM_ONE(&l, c, 64, 48, true, "raw IPv6");
		make_ipv6(c, 2000);
		TRIM_ONE(&l, c, 3000, 2040, true, "raw IPv6 over two buffers");
		c[0] = 0x50;
		TRIM_ONE(&l, c, 64, 64, false, "raw, IP version 5");
		link_close(&l);
	}

	if (link_open(&l, NULL, NULL, &conf_default, &conf_default)) {
		pattern_fill(c, 7, sizeof(c));
		l2 = make_eth(c, 0x0800);
		make_ipv4(c + l2, 46);
		TRIM_ONE(&l, c, 100, 100, false, "trim off: IPv4 padded");
		link_close(&l);
	}

	if (link_open(&l, NULL, NULL, &trim_v, &v)) {
		pattern_fill(c, 8, sizeof(c));
		l2 = make_eth(c, 0x0800);
		make_ipv4(c + l2, 46);
		TRIM_ONE(&l, c, 100, 60, true, "virtio: IPv4 padded");
		link_close(&l);
	}

	/* Trimming is for the client (gVisor's server over-reports); a server keeps the
	 * frame as the client's descriptor sized it. */
	if (link_open(&l, NULL, NULL, &conf_default, &trim)) {
		struct shmlink_frame f;
		unsigned int got;

		pattern_fill(c, 9, sizeof(c));
		l2 = make_eth(c, 0x0800);
		make_ipv4(c + l2, 46);
		src_build(&src_pool[0], c, 100, false, 0);
		f = src_pool[0].f;
		CHECK_EQ(shmlink_ep_tx_burst(l.client, &f, 1), 1);
		got = shmlink_ep_rx_burst(l.server, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
		if (CHECK(got == 1, "server got %u frames", got))
			FRAME_CHECK(&rx_frames[0], c, 100, "server with trim", 0);
		CHECK_EQ(stats_of(l.server).rx_trimmed, 0);
		link_close(&l);
	}
}

/* ---------------------------------------------------------------------------------------
 * 6. max_frame on receive, and frames that can never be sent
 */

/* Receive on @ep; expect exactly the frames @seqs[] with lengths @lens[]. */
static void
expect_frames_at(const char *file, int line, struct shmlink_ep *ep, const uint32_t *seqs,
		const uint32_t *lens, unsigned int n, const char *what)
{
	unsigned int got, k;

	got = shmlink_ep_rx_burst(ep, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
	check_at(file, line, got == n, "frame count", "%s: got %u frames, expected %u", what,
			got, n);
	for (k = 0; k < got && k < n; k++) {
		pattern_fill(expect_buf, seqs[k], lens[k]);
		frame_check_at(file, line, &rx_frames[k], expect_buf, lens[k], what, seqs[k]);
	}
	shmlink_ep_rx_release(ep);
}
#define EXPECT_FRAMES(ep, seqs, lens, n, what) \
	expect_frames_at(__FILE__, __LINE__, (ep), (seqs), (lens), (n), (what))

static void
test_max_frame_and_unsendable(void)
{
	struct shmlink_ep_conf c1500 = { .max_frame = 1500 };
	struct shmlink_ep_conf v1500 = { .max_frame = 1500, .virtio_hdr = true };
	static const uint32_t lens3[3] = { 1500, 1501, 1500 };
	static const uint32_t seqs_ok[2] = { 0, 2 }, lens_ok[2] = { 1500, 1500 };
	struct link l;
	unsigned int m;

	if (link_open(&l, NULL, NULL, &c1500, &c1500)) {
		send_seq_frames(l.client, lens3, 3, 0, &m);
		CHECK_EQ(m, 3);
		EXPECT_FRAMES(l.server, seqs_ok, lens_ok, 2, "client->server max_frame 1500");
		CHECK_EQ(stats_of(l.server).rx_oversize, 1);

		send_seq_frames(l.server, lens3, 3, 0, &m);
		CHECK_EQ(m, 3);
		EXPECT_FRAMES(l.client, seqs_ok, lens_ok, 2, "server->client max_frame 1500");
		CHECK_EQ(stats_of(l.client).rx_oversize, 1);
		link_settle(&l);
		/* The dropped frame's chunks and buffers came back too. */
		CHECK_CLIENT_QUIESCENT(l.client);
		link_close(&l);
	}

	/* max_frame does not count the virtio header. */
	if (link_open(&l, NULL, NULL, &v1500, &v1500)) {
		send_seq_frames(l.client, lens3, 3, 0, &m);
		CHECK_EQ(m, 3);
		EXPECT_FRAMES(l.server, seqs_ok, lens_ok, 2, "virtio client->server 1500");
		CHECK_EQ(stats_of(l.server).rx_oversize, 1);
		send_seq_frames(l.server, lens3, 3, 0, &m);
		CHECK_EQ(m, 3);
		EXPECT_FRAMES(l.client, seqs_ok, lens_ok, 2, "virtio server->client 1500");
		CHECK_EQ(stats_of(l.client).rx_oversize, 1);
		link_close(&l);
	}

	if (link_open(&l, NULL, NULL, &conf_default, &conf_default)) {
		static const uint32_t lens_z[3] = { 0, 100, 0 };
		static const uint32_t seq1[1] = { 1 }, seq7[1] = { 7 }, len1[1] = { 100 };
		struct shmlink_frame big[2];
		struct shmlink_seg big_seg;
		uint8_t *mem;
		struct shmlink_ep_buffers b;

		/* Zero-length frames are consumed and counted, the others still go. */
		send_seq_frames(l.client, lens_z, 3, 0, &m);
		CHECK_EQ(m, 3);
		CHECK_EQ(stats_of(l.client).tx_oversize, 2);
		EXPECT_FRAMES(l.server, seq1, len1, 1, "client: zero-length frames skipped");
		send_seq_frames(l.server, lens_z, 3, 0, &m);
		CHECK_EQ(m, 3);
		CHECK_EQ(stats_of(l.server).tx_oversize, 2);
		EXPECT_FRAMES(l.client, seq1, len1, 1, "server: zero-length frames skipped");

		/* A frame needing more than SHMLINK_FRAME_MAX_BUFS buffers never fits. */
		mem = malloc(SHMLINK_FRAME_MAX_BUFS * CHUNK + 1);
		if (CHECK(mem != NULL, "out of memory")) {
			memset(mem, 0x5a, SHMLINK_FRAME_MAX_BUFS * CHUNK + 1);
			big_seg.addr = mem;
			big_seg.len = SHMLINK_FRAME_MAX_BUFS * CHUNK + 1;
			big[0].segs = &big_seg;
			big[0].nb_segs = 1;
			big[0].len = big_seg.len;
			src_pattern(&src_pool[0], 7, 100, false);
			big[1] = src_pool[0].f;
			m = shmlink_ep_tx_burst(l.client, big, 2);
			CHECK_EQ(m, 2);
			CHECK_EQ(stats_of(l.client).tx_oversize, 3);
			EXPECT_FRAMES(l.server, seq7, len1, 1, "client: huge frame skipped");
			m = shmlink_ep_tx_burst(l.server, big, 2);
			CHECK_EQ(m, 2);
			CHECK_EQ(stats_of(l.server).tx_oversize, 3);
			EXPECT_FRAMES(l.client, seq7, len1, 1, "server: huge frame skipped");
			free(mem);
		}
		link_settle(&l);
		CHECK_CLIENT_QUIESCENT(l.client);
		/* The buffers the server looked at for the huge frame are not lost: it can
		 * still fill every one of them. */
		b = buffers_of(l.client);
		{
			static uint32_t ones[BURST_MAX];
			unsigned int k, total = 0, round;

			for (k = 0; k < BURST_MAX; k++)
				ones[k] = 100;
			for (round = 0; round < 20; round++) {
				send_seq_frames(l.server, ones, BURST_MAX, 1000 + total, &m);
				total += m;
				if (m < BURST_MAX)
					break;
			}
			CHECK_EQ(total, b.rx_bufs);
		}
		link_close(&l);
	}
}

static const struct ep_test tests[] = {
	{ "trim_to_l3_length", test_trim_to_l3_length },
	{ "max_frame_and_unsendable", test_max_frame_and_unsendable },
};

int
main(int argc, char **argv)
{
	return ep_test_main("endpoint frames", tests, sizeof(tests) / sizeof(tests[0]), argc,
			argv);
}
