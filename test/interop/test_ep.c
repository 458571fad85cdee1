/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Endpoint interop against gVisor's sharedmem endpoints (spec §9.4, §9.5, §9.9).
 *
 * The queue pair is made here with shmlink_qfile_create and mapped with
 * shmlink_qmap_map; the Go peer "eppeer" inherits its 10 FDs at 3..12 (TX queue then RX
 * queue, each in QueueConfig.FDs() order) and a non-blocking socketpair end at 13 as
 * its PeerFD, and runs gVisor's client (sharedmem.New) or server (NewServerEndpoint).
 * We run shmlink_ep in the other role. Both sides send COUNT frames at once; frame seq
 * has an L3 length and bytes derived from (seed, seq), so each receiver checks every
 * byte, the length and the order. The Ethernet header, when used, is checked too.
 *
 * As client against gVisor's server, received sizes are over-reported (spec §8.1-1):
 * with --trim they must come out exact (IPv4 total length), without it they must be at
 * least as long with the right prefix. At the end, the client must have every TX chunk
 * and every RX buffer back (shmlink_ep_buffers_get), no error counter may have moved,
 * and closing our PeerFD end must make gVisor's OnClosed fire (the Go peer exits 0 only
 * then, after checking what it received).
 *
 * Notifications (spec §9.6): we poll with our word at 1, so gVisor must never write our
 * eventfd, unless it sent before we existed (word 0: it must then). With --sleep we
 * receive in interrupt mode once we have nothing left to send: store 2, look again,
 * wait on the eventfd; gVisor's signal must wake us every time (--pace makes gVisor
 * pause between batches, so that we do sleep).
 *
 * Usage: test_ep EPPEER --role client|server [--framing eth|raw] [--virtio] [--trim]
 *        [--bufsize N] [--count N] [--c2g N] [--g2c N] [--minlen N] [--maxlen N]
 *        [--pipe-size N] [--go-first] [--sleep] [--pace MICROSECONDS] [--seed N]
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <shmlink_endpoint.h>
#include <shmlink_qfile.h>

#include "interop_common.h"

#define RUN_TIMEOUT_S	150
/* Nothing moving for this long means a side stalls for good. */
#define STALL_MS	15000
#define ETH_LEN		14u
#define BURST		8u
#define RX_BURST	32u
#define RX_SEGS		512u
#define MAX_SEGS_PER_FRAME 4u

static const uint8_t go_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t c_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

struct opts {
	enum shmlink_role role;
	bool eth;
	bool virtio;
	bool trim;
	bool go_first;
	bool sleep;
	uint32_t buf_size;
	uint32_t pace_us;
	uint64_t c2g;		/* frames we send */
	uint64_t g2c;		/* frames gVisor sends */
	uint64_t min_len;
	uint64_t max_len;
	uint64_t pipe_size;
	uint64_t seed;
};

/* Frame seq of a direction: [Ethernet dst src 0800][L3]. Returns the length. */
static uint32_t
make_frame(const struct opts *o, uint64_t seed, uint64_t seq, const uint8_t *dst,
		const uint8_t *src, uint8_t *buf)
{
	struct irng r = irng_msg(seed, seq);
	uint64_t l3 = interop_frame_l3_len(&r, o->min_len, o->max_len);
	uint32_t l2 = 0;

	if (o->eth) {
		memcpy(buf, dst, 6);
		memcpy(buf + 6, src, 6);
		buf[12] = 0x08;
		buf[13] = 0x00;
		l2 = ETH_LEN;
	}
	interop_fill_frame(buf + l2, l3, &r, seq);
	return l2 + (uint32_t)l3;
}

/* Cut a frame into 1..4 segments at random points (empty ones included). */
static void
split_frame(struct irng *r, uint8_t *buf, uint32_t len, struct shmlink_seg *segs,
		struct shmlink_frame *f)
{
	uint32_t n = 1 + (uint32_t)irng_below(r, MAX_SEGS_PER_FRAME), off = 0, i;

	for (i = 0; i < n; i++) {
		uint32_t left = len - off;
		uint32_t take = i == n - 1 ? left : (uint32_t)irng_below(r, (uint64_t)left + 1);

		segs[i].addr = buf + off;
		segs[i].len = take;
		off += take;
	}
	f->segs = segs;
	f->nb_segs = n;
	f->len = len;
}

static uint32_t
gather(const struct shmlink_frame *f, uint8_t *out, uint32_t max)
{
	uint32_t off = 0, i, sum = 0;

	for (i = 0; i < f->nb_segs; i++) {
		if (off + f->segs[i].len > max)
			interop_fail("received frame of %u bytes is larger than %u", f->len, max);
		memcpy(out + off, f->segs[i].addr, f->segs[i].len);
		off += f->segs[i].len;
		sum += f->segs[i].len;
	}
	if (sum != f->len)
		interop_fail("received frame: segments add up to %u bytes, frame length %u",
				sum, f->len);
	return off;
}

static void
usage(const char *prog)
{
	fprintf(stderr, "usage: %s EPPEER --role client|server [--framing eth|raw] [--virtio] "
			"[--trim] [--bufsize N] [--count N] [--c2g N] [--g2c N] [--minlen N] "
			"[--maxlen N] [--pipe-size N] [--go-first] [--sleep] [--pace US] "
			"[--seed N]\n", prog);
	exit(2);
}

static void
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "framing", required_argument, NULL, 'f' },
		{ "virtio", no_argument, NULL, 'v' },
		{ "trim", no_argument, NULL, 't' },
		{ "bufsize", required_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'c' },
		{ "c2g", required_argument, NULL, 'C' },
		{ "g2c", required_argument, NULL, 'G' },
		{ "sleep", no_argument, NULL, 'S' },
		{ "pace", required_argument, NULL, 'P' },
		{ "minlen", required_argument, NULL, 'm' },
		{ "maxlen", required_argument, NULL, 'M' },
		{ "pipe-size", required_argument, NULL, 'p' },
		{ "go-first", no_argument, NULL, 'g' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	bool role = false;
	int c;

	*o = (struct opts){ .eth = true, .buf_size = 2048, .c2g = 20000, .g2c = 20000,
		.max_len = 9100, .pipe_size = 0, .seed = 424242 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			role = true;
			if (strcmp(optarg, "client") == 0)
				o->role = SHMLINK_ROLE_CLIENT;
			else if (strcmp(optarg, "server") == 0)
				o->role = SHMLINK_ROLE_SERVER;
			else
				usage(argv[0]);
			break;
		case 'f':
			if (strcmp(optarg, "eth") != 0 && strcmp(optarg, "raw") != 0)
				usage(argv[0]);
			o->eth = strcmp(optarg, "eth") == 0;
			break;
		case 'v':
			o->virtio = true;
			break;
		case 't':
			o->trim = true;
			break;
		case 'b':
			o->buf_size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			o->c2g = strtoull(optarg, NULL, 0);
			o->g2c = o->c2g;
			break;
		case 'C':
			o->c2g = strtoull(optarg, NULL, 0);
			break;
		case 'G':
			o->g2c = strtoull(optarg, NULL, 0);
			break;
		case 'S':
			o->sleep = true;
			break;
		case 'P':
			o->pace_us = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			o->min_len = strtoull(optarg, NULL, 0);
			break;
		case 'M':
			o->max_len = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			o->pipe_size = strtoull(optarg, NULL, 0);
			break;
		case 'g':
			o->go_first = true;
			break;
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!role || optind != argc - 1 || o->min_len > o->max_len)
		usage(argv[0]);
}

/* Everything one run needs. */
struct run {
	struct opts o;
	struct shmlink_qmap txm, rxm;
	struct shmlink_ep *ep;
	uint64_t seed_c2g, seed_g2c;
	uint64_t tx_done, rx_done, rx_bytes, over_reported, max_over;
	uint64_t sleeps, wakeups;
	uint8_t *tx_buf[BURST];
	uint8_t *rx_buf;
	uint8_t *want;
	struct irng split;
};

static void
create_ep(struct run *r)
{
	struct shmlink_ep_conf conf = {
		.buffer_size = r->o.buf_size,
		.virtio_hdr = r->o.virtio,
		.raw_ip = !r->o.eth,
		.trim = r->o.trim,
	};

	r->ep = shmlink_ep_create(r->o.role, &r->txm, &r->rxm, &conf);
	if (r->ep == NULL)
		interop_fail("shmlink_ep_create: %s", strerror(errno));
}

static bool
do_tx(struct run *r)
{
	struct shmlink_frame frames[BURST];
	struct shmlink_seg segs[BURST][MAX_SEGS_PER_FRAME];
	unsigned int k = 1 + (unsigned int)irng_below(&r->split, BURST), i, n;
	struct shmlink_ep_stats st;

	if (r->tx_done >= r->o.c2g)
		return false;
	if (k > r->o.c2g - r->tx_done)
		k = (unsigned int)(r->o.c2g - r->tx_done);
	for (i = 0; i < k; i++) {
		uint32_t len = make_frame(&r->o, r->seed_c2g, r->tx_done + i, go_mac, c_mac,
				r->tx_buf[i]);

		split_frame(&r->split, r->tx_buf[i], len, segs[i], &frames[i]);
	}
	n = shmlink_ep_tx_burst(r->ep, frames, k);
	if (n > k)
		interop_fail("shmlink_ep_tx_burst(%u frames) returned %u", k, n);
	shmlink_ep_stats_get(r->ep, &st);
	if (st.tx_oversize != 0)
		interop_fail("shmlink_ep_tx_burst dropped a frame as oversize (frames %" PRIu64
				"..%" PRIu64 ")", r->tx_done, r->tx_done + k - 1);
	r->tx_done += n;
	return n > 0;
}

static bool
do_rx(struct run *r)
{
	struct shmlink_frame frames[RX_BURST];
	struct shmlink_seg segs[RX_SEGS];
	unsigned int n, i;

	n = shmlink_ep_rx_burst(r->ep, frames, RX_BURST, segs, RX_SEGS);
	for (i = 0; i < n; i++) {
		uint64_t seq = r->rx_done;
		uint32_t want_len, got_len;
		int64_t d;

		if (seq >= r->o.g2c)
			interop_fail("received a frame beyond the %" PRIu64 " expected", r->o.g2c);
		want_len = make_frame(&r->o, r->seed_g2c, seq, c_mac, go_mac, r->want);
		got_len = gather(&frames[i], r->rx_buf, 65536 + 64);
		/* Without trimming, gVisor's server reports what was posted (spec §8.1-1). */
		if (r->o.role == SHMLINK_ROLE_CLIENT && !r->o.trim) {
			if (got_len < want_len)
				interop_fail("frame %" PRIu64 ": %u bytes, gVisor sent %u", seq,
						got_len, want_len);
			if (got_len > want_len) {
				r->over_reported++;
				if (got_len - want_len > r->max_over)
					r->max_over = got_len - want_len;
			}
			got_len = want_len;
		} else if (got_len != want_len) {
			interop_fail("frame %" PRIu64 ": %u bytes, gVisor sent %u%s", seq, got_len,
					want_len, r->o.trim ? " (after trimming)" : "");
		}
		d = interop_first_diff(r->want, want_len, r->rx_buf, got_len);
		if (d >= 0)
			interop_fail("frame %" PRIu64 " (%u bytes, %u segments): byte %" PRId64
					" is %#x, want %#x", seq, want_len, frames[i].nb_segs, d,
					r->rx_buf[d], r->want[d]);
		r->rx_bytes += want_len;
		r->rx_done++;
	}
	if (n > 0)
		shmlink_ep_rx_release(r->ep);
	return n > 0;
}

/*
 * Interrupt mode (spec §5): say we may sleep, look again, then wait for gVisor's signal.
 * A wait that times out while a frame is ready is a lost wake-up.
 */
static void
sleep_for_rx(struct run *r)
{
	const struct shmlink_notify *nt = shmlink_ep_rx_notify(r->ep);
	int rc;

	shmlink_notify_arm(nt);
	if (!shmlink_ep_rx_ready(r->ep)) {
		r->sleeps++;
		rc = shmlink_notify_wait(nt, 2000);
		if (rc < 0)
			interop_fail("shmlink_notify_wait: %s", strerror(-rc));
		if (rc > 0)
			r->wakeups++;
		else if (shmlink_ep_rx_ready(r->ep))
			interop_fail("lost wake-up: slept 2 s with frame %" PRIu64
					" ready (word %u)", r->rx_done,
					__atomic_load_n(nt->word, __ATOMIC_SEQ_CST));
	}
	shmlink_notify_disarm(nt);
}

static void
print_buffers(const struct run *r, const char *when)
{
	struct shmlink_ep_buffers b;

	shmlink_ep_buffers_get(r->ep, &b);
	printf("%s: tx_chunks %u, tx_chunks_inflight %u, rx_bufs %u, rx_bufs_posted %u\n",
			when, b.tx_chunks, b.tx_chunks_inflight, b.rx_bufs, b.rx_bufs_posted);
}

/* Client: once the peer has completed everything, every buffer must be ours or posted. */
static bool
client_drained(struct run *r)
{
	struct shmlink_ep_buffers b;

	if (r->o.role != SHMLINK_ROLE_CLIENT)
		return true;
	/* A burst of nothing still reaps TX completions. */
	shmlink_ep_tx_burst(r->ep, NULL, 0);
	shmlink_ep_buffers_get(r->ep, &b);
	return b.tx_chunks_inflight == 0 && b.rx_bufs_posted == b.rx_bufs;
}

static void
check_stats(const struct run *r, struct shmlink_ep_stats *st)
{
	int i;

	shmlink_ep_stats_get(r->ep, st);
	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		if (st->err[i] != 0)
			interop_fail("error counter %s = %" PRIu64 " against gVisor",
					shmlink_err_name((enum shmlink_err)i), st->err[i]);
	if (shmlink_ep_broken(r->ep))
		interop_fail("the endpoint is marked broken");
	if (st->rx_oversize != 0 || st->rx_runt != 0 || st->tx_oversize != 0)
		interop_fail("rx_oversize %" PRIu64 ", rx_runt %" PRIu64 ", tx_oversize %" PRIu64
				", want all 0", st->rx_oversize, st->rx_runt, st->tx_oversize);
}

static void
spawn_go(struct run *r, const char *eppeer, int peer_end, const int txfds[5],
		const int rxfds[5])
{
	char seed_tx[32], seed_rx[32], txcnt[32], rxcnt[32], mn[32], mx[32], bs[32];
	char bseed[32], pace[32];
	char *argv[40];
	int fds[11], argc = 0, i;

	for (i = 0; i < 5; i++) {
		fds[i] = txfds[i];
		fds[5 + i] = rxfds[i];
	}
	fds[10] = peer_end;
	snprintf(seed_tx, sizeof(seed_tx), "%" PRIu64, r->seed_g2c);
	snprintf(seed_rx, sizeof(seed_rx), "%" PRIu64, r->seed_c2g);
	snprintf(txcnt, sizeof(txcnt), "%" PRIu64, r->o.g2c);
	snprintf(rxcnt, sizeof(rxcnt), "%" PRIu64, r->o.c2g);
	snprintf(pace, sizeof(pace), "%uus", r->o.pace_us);
	snprintf(mn, sizeof(mn), "%" PRIu64, r->o.min_len);
	snprintf(mx, sizeof(mx), "%" PRIu64, r->o.max_len);
	snprintf(bs, sizeof(bs), "%u", r->o.buf_size);
	snprintf(bseed, sizeof(bseed), "%" PRIu64, r->o.seed ^ 0xb);
	argv[argc++] = (char *)eppeer;
	argv[argc++] = "-role";
	argv[argc++] = r->o.role == SHMLINK_ROLE_CLIENT ? "server" : "client";
	argv[argc++] = "-framing";
	argv[argc++] = r->o.eth ? "eth" : "raw";
	if (r->o.virtio)
		argv[argc++] = "-virtio";
	argv[argc++] = "-bufsize";
	argv[argc++] = bs;
	argv[argc++] = "-txseed";
	argv[argc++] = seed_tx;
	argv[argc++] = "-rxseed";
	argv[argc++] = seed_rx;
	argv[argc++] = "-txcount";
	argv[argc++] = txcnt;
	argv[argc++] = "-rxcount";
	argv[argc++] = rxcnt;
	argv[argc++] = "-pace";
	argv[argc++] = pace;
	argv[argc++] = "-txmin";
	argv[argc++] = mn;
	argv[argc++] = "-txmax";
	argv[argc++] = mx;
	argv[argc++] = "-rxmin";
	argv[argc++] = mn;
	argv[argc++] = "-rxmax";
	argv[argc++] = mx;
	argv[argc++] = "-batchseed";
	argv[argc++] = bseed;
	argv[argc++] = "-timeout";
	argv[argc++] = "140s";
	argv[argc] = NULL;
	interop_spawn(argv, fds, 11, -1, -1);
}

int
main(int argc, char **argv)
{
	struct run r = { 0 };
	struct shmlink_qfile_sizes sizes = { 0 };
	struct shmlink_ep_stats st;
	struct interop_backoff bo = { 0 };
	int txfds[SHMLINK_QFD_COUNT], rxfds[SHMLINK_QFD_COUNT], sv[2], rc, status, i;
	uint64_t start, last_check = 0, last_progress, drain_start = 0;
	const char *why = NULL;
	double secs;

	parse(argc, argv, &r.o);
	interop_watchdog("test_ep", RUN_TIMEOUT_S + 20);
	r.seed_c2g = r.o.seed * 2 + 1;
	r.seed_g2c = r.o.seed * 2 + 2;
	r.split.s = r.o.seed ^ 0x5917;
	for (i = 0; i < (int)BURST; i++)
		r.tx_buf[i] = malloc(r.o.max_len + ETH_LEN);
	r.rx_buf = malloc(65536 + 64);
	r.want = malloc(r.o.max_len + ETH_LEN);
	if (r.rx_buf == NULL || r.want == NULL)
		interop_fail("out of memory");

	printf("shmlink %s <-> gVisor %s: %s framing%s%s%s, buffer size %u, pipes %" PRIu64
			" B, %" PRIu64 " frames to gVisor, %" PRIu64 " from it, L3 %" PRIu64 "..%"
			PRIu64 " bytes, %s first\n",
			r.o.role == SHMLINK_ROLE_CLIENT ? "client" : "server",
			r.o.role == SHMLINK_ROLE_CLIENT ? "NewServerEndpoint" : "sharedmem.New",
			r.o.eth ? "Ethernet" : "raw IP", r.o.virtio ? ", virtio header" : "",
			r.o.trim ? ", trim" : "", r.o.sleep ? ", we sleep on the eventfd" : "",
			r.o.buf_size, r.o.pipe_size ? r.o.pipe_size : SHMLINK_DEFAULT_PIPE_SIZE,
			r.o.c2g, r.o.g2c, r.o.min_len, r.o.max_len,
			r.o.go_first ? "gVisor" : "shmlink");

	sizes.tx_pipe = r.o.pipe_size;
	sizes.rx_pipe = r.o.pipe_size;
	rc = shmlink_qfile_create(&sizes, txfds);
	if (rc == 0)
		rc = shmlink_qfile_create(&sizes, rxfds);
	if (rc != 0)
		interop_fail("shmlink_qfile_create: %s", strerror(-rc));
	/* gVisor's PeerFD watcher must not block a thread in read(): non-blocking. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		interop_fail("socketpair: %s", strerror(errno));
	if (shmlink_qmap_map(&r.txm, txfds, r.o.buf_size, &why) != 0 ||
			shmlink_qmap_map(&r.rxm, rxfds, r.o.buf_size, &why) != 0)
		interop_fail("shmlink_qmap_map: %s", why != NULL ? why : "?");

	if (!r.o.go_first)
		create_ep(&r);
	spawn_go(&r, argv[optind], sv[1], txfds, rxfds);
	close(sv[1]);
	if (r.o.go_first) {
		/* Let gVisor attach (and a client post its buffers) before we exist. */
		usleep(300 * 1000);
		create_ep(&r);
	}
	if (r.o.role == SHMLINK_ROLE_CLIENT)
		print_buffers(&r, "after create");

	start = interop_now_ms();
	last_progress = start;
	for (;;) {
		bool progress = do_tx(&r);

		progress |= do_rx(&r);
		if (r.tx_done == r.o.c2g && r.rx_done == r.o.g2c) {
			if (drain_start == 0)
				drain_start = interop_now_ms();
			if (client_drained(&r))
				break;
			if (interop_now_ms() - drain_start > 10000) {
				print_buffers(&r, "not drained");
				interop_fail("10 s after the last frame, not every buffer is "
						"back: TX chunks still in flight or RX buffers "
						"not posted again (counts above)");
			}
		}
		if (shmlink_ep_broken(r.ep))
			interop_fail("the endpoint is broken after %" PRIu64 " sent, %" PRIu64
					" received", r.tx_done, r.rx_done);
		if (progress) {
			interop_progress(&bo);
			last_progress = interop_now_ms();
			continue;
		}
		if (r.o.sleep && r.tx_done == r.o.c2g && r.rx_done < r.o.g2c)
			sleep_for_rx(&r);
		else
			interop_idle(&bo);
		if (interop_now_ms() - last_check > 100) {
			last_check = interop_now_ms();
			if (interop_peer_gone(&status))
				interop_fail("the Go peer exited early (status %#x): %"
						PRIu64 "/%" PRIu64 " sent, %" PRIu64 "/%"
						PRIu64 " received here", status, r.tx_done,
						r.o.c2g, r.rx_done, r.o.g2c);
			if (last_check - last_progress > STALL_MS ||
					last_check - start > RUN_TIMEOUT_S * 1000ULL) {
				if (r.o.role == SHMLINK_ROLE_CLIENT)
					print_buffers(&r, "stalled");
				interop_fail("stalled: %" PRIu64 "/%" PRIu64 " sent, %" PRIu64 "/%"
						PRIu64 " received", r.tx_done, r.o.c2g, r.rx_done,
						r.o.g2c);
			}
		}
	}
	secs = (double)(interop_now_ms() - start) / 1000.0;
	check_stats(&r, &st);
	/* Our word said "polling" from create on: gVisor may only have signalled us if it
	 * sent before we existed (word 0), and then it must have (spec §5). */
	if (!r.o.sleep) {
		bool signalled = shmlink_notify_drain(shmlink_ep_rx_notify(r.ep));
		bool want = r.o.go_first && r.o.role == SHMLINK_ROLE_SERVER;

		if (signalled != want)
			interop_fail("our receive eventfd was %ssignalled; with our word at 1%s it "
					"should %sbe", signalled ? "" : "not ",
					want ? " only after gVisor sent to a word 0" : "",
					want ? "" : "not ");
		printf("our receive eventfd: %s\n", signalled ?
				"signalled (gVisor sent while our word was 0)" :
				"never signalled (word 1: gVisor left it alone)");
	} else {
		printf("interrupt mode: slept %" PRIu64 " times, woken by gVisor's signal %"
				PRIu64 " times\n", r.sleeps, r.wakeups);
		if (r.sleeps == 0 || r.wakeups == 0)
			interop_fail("--sleep: slept %" PRIu64 " times, woken %" PRIu64 " times: "
					"interrupt mode was not exercised", r.sleeps, r.wakeups);
	}
	if (r.o.role == SHMLINK_ROLE_CLIENT)
		print_buffers(&r, "after the run");
	printf("shmlink sent %" PRIu64 " frames and received %" PRIu64 " (%" PRIu64
			" bytes), all checked, in %.2f s; signals %" PRIu64 ", trimmed %" PRIu64
			"\n", r.tx_done, r.rx_done, r.rx_bytes, secs, st.signals, st.rx_trimmed);
	if (r.o.role == SHMLINK_ROLE_CLIENT && !r.o.trim)
		printf("untrimmed: %" PRIu64 " frames came longer than sent (up to %" PRIu64
				" bytes more), prefixes exact\n", r.over_reported, r.max_over);

	/* Our PeerFD close is how gVisor learns we are done: its OnClosed must fire. */
	close(sv[0]);
	rc = interop_wait_peer(20000);
	if (rc != 0)
		interop_fail("the gVisor peer failed (exit %d); see its message above", rc);
	printf("PASS\n");

	shmlink_ep_destroy(r.ep);
	shmlink_qmap_unmap(&r.txm);
	shmlink_qmap_unmap(&r.rxm);
	shmlink_qfile_close(txfds);
	shmlink_qfile_close(rxfds);
	for (i = 0; i < (int)BURST; i++)
		free(r.tx_buf[i]);
	free(r.rx_buf);
	free(r.want);
	return 0;
}
