/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Two ports of one driver connected to each other in one process, net_shmlink or
 * net_memif, sending on one and receiving on the other in alternating bursts, frames as
 * testpmd txonly makes them and checked on arrival: scenario A of shmlink-bench on one
 * thread, for valgrind. Under lackey, with trace_pair reading the trace, it gives per
 * side what each frame costs in instructions, cache misses, lines that cross between
 * the two CPUs and TLB misses, for both drivers alike (pair.sh). The phases are marked
 * in the trace (bench_mark.h).
 *
 * usage: bench_pair <driver.so|-> --pair shmlink|memif [--dir s2c|c2s] [--size B|imix]
 *		[--frames N] [--warmup N] [--srv-args K=V,..] [--cli-args K=V,..]
 *		[--smaps FILE] [--huge yes|no]
 * Prints "frames F" on success.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "../common/driver_path.h"
#include "../common/test_common.h"
#include "bench_frame.h"
#include "bench_mark.h"

#define PAIR_BURST	32
#define PAIR_SEQ_OFF	42	/* after Ethernet, IPv4 and UDP headers */
#define PAIR_MBUFS	4095

struct pair_conf {
	const char *driver;
	bool memif;
	bool s2c;
	bool huge;
	unsigned int size;	/* 0: IMIX */
	unsigned int frames;
	unsigned int warmup;
	const char *srv_args;
	const char *cli_args;
	const char *smaps;
};

struct pair {
	uint16_t tx_port;
	uint16_t rx_port;
	struct rte_mempool *tx_mp;
	struct rte_mempool *rx_mp;
	uint32_t seq;
};

/* IMIX as shmlink-bench's scenario B sends it: 64 B x 7, 594 B x 4, 1518 B x 1. */
static uint16_t
pair_size(const struct pair_conf *c, uint32_t seq)
{
	unsigned int k = seq % 12;

	if (c->size != 0)
		return (uint16_t)c->size;
	return k < 7 ? 64 : k < 11 ? 594 : 1518;
}

/* Send a burst; returns the frames the port took (the rest are freed). */
static unsigned int
pair_send(const struct pair_conf *c, struct pair *p)
{
	struct rte_mbuf *m[PAIR_BURST];
	unsigned int i, sent;

	bench_mark(BENCH_PH_TX_APP);
	if (rte_pktmbuf_alloc_bulk(p->tx_mp, m, PAIR_BURST) != 0)
		return 0;
	for (i = 0; i < PAIR_BURST; i++) {
		uint16_t len = pair_size(c, p->seq + i);
		uint8_t *d = rte_pktmbuf_mtod(m[i], uint8_t *);
		uint32_t seq = p->seq + i;

		bench_frame_headers(d, len);
		memcpy(d + PAIR_SEQ_OFF, &seq, sizeof(seq));
		m[i]->data_len = len;
		m[i]->pkt_len = len;
	}
	bench_mark(BENCH_PH_TX_DRV);
	sent = rte_eth_tx_burst(p->tx_port, 0, m, PAIR_BURST);
	bench_mark(BENCH_PH_TX_APP);
	if (sent < PAIR_BURST)
		rte_pktmbuf_free_bulk(m + sent, PAIR_BURST - sent);
	bench_mark(BENCH_PH_OFF);
	return sent;
}

/* The frames of a receive burst are the next ones sent, whole. */
static bool
pair_check(const struct pair_conf *c, struct rte_mbuf **m, unsigned int n, uint32_t seq)
{
	unsigned int i;
	uint32_t s;

	for (i = 0; i < n; i++) {
		memcpy(&s, rte_pktmbuf_mtod_offset(m[i], uint8_t *, PAIR_SEQ_OFF), sizeof(s));
		if (s != seq + i || m[i]->pkt_len != pair_size(c, seq + i)) {
			fprintf(stderr, "bench_pair: frame %u of length %u, want %u of %u\n", s,
					m[i]->pkt_len, seq + i, pair_size(c, seq + i));
			return false;
		}
	}
	return true;
}

/* Take @want frames off the receiving port; false on loss or damage. It polls at least
 * once: a memif client gives the server its buffers there. */
static bool
pair_receive(const struct pair_conf *c, struct pair *p, unsigned int want)
{
	struct rte_mbuf *m[PAIR_BURST];
	unsigned int got = 0, n, tries = 0;
	bool ok = true;

	do {
		bench_mark(BENCH_PH_RX_DRV);
		n = rte_eth_rx_burst(p->rx_port, 0, m, PAIR_BURST);
		bench_mark(BENCH_PH_RX_APP);
		ok = pair_check(c, m, n, p->seq + got);
		bench_mark(BENCH_PH_RX_DRV);
		rte_pktmbuf_free_bulk(m, n);
		bench_mark(BENCH_PH_OFF);
		got += n;
	} while (got < want && tries++ < 100000 && ok);
	p->seq += got;
	return ok && got == want;
}

/* Move @frames frames; returns the number moved, or -1 on loss. */
static int64_t
pair_run(const struct pair_conf *c, struct pair *p, unsigned int frames)
{
	unsigned int done = 0, idle = 0, sent;

	while (done < frames) {
		sent = pair_send(c, p);
		if (!pair_receive(c, p, sent))
			return -1;
		done += sent;
		/* A sender waits for buffers the receiver gives back in its Rx burst. */
		idle = sent == 0 ? idle + 1 : 0;
		if (idle > 100000)
			return -1;
	}
	return done;
}

static int
pair_port(const char *name, struct rte_mempool *mp, uint16_t *port)
{
	struct rte_eth_conf conf = { 0 };

	if (rte_eth_dev_get_port_by_name(name, port) != 0 ||
			rte_eth_dev_configure(*port, 1, 1, &conf) != 0 ||
			rte_eth_rx_queue_setup(*port, 0, 1024, 0, NULL, mp) != 0 ||
			rte_eth_tx_queue_setup(*port, 0, 1024, 0, NULL) != 0 ||
			rte_eth_dev_start(*port) != 0) {
		fprintf(stderr, "bench_pair: cannot start %s\n", name);
		return -1;
	}
	return 0;
}

static bool
pair_links_up(const struct pair *p)
{
	double end = test_now_s() + 30;
	struct rte_eth_link a, b;

	do {
		if (rte_eth_link_get_nowait(p->tx_port, &a) == 0 && a.link_status &&
				rte_eth_link_get_nowait(p->rx_port, &b) == 0 && b.link_status)
			return true;
		usleep(10000);
	} while (test_now_s() < end);
	fprintf(stderr, "bench_pair: the links did not come up\n");
	return false;
}

/* Copy /proc/self/smaps to @path, for trace_pair to place each address. */
static int
pair_smaps(const char *path)
{
	char buf[65536];
	FILE *in = fopen("/proc/self/smaps", "r");
	FILE *out = fopen(path, "w");
	size_t n;
	int rc = in != NULL && out != NULL ? 0 : -1;

	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (in != NULL)
		fclose(in);
	if (out != NULL && fclose(out) != 0)
		rc = -1;
	return rc;
}

static int
pair_args(int argc, char **argv, struct pair_conf *c)
{
	int a;

	for (a = 2; a + 1 < argc; a += 2) {
		const char *k = argv[a], *v = argv[a + 1];

		if (strcmp(k, "--pair") == 0)
			c->memif = strcmp(v, "memif") == 0;
		else if (strcmp(k, "--dir") == 0)
			c->s2c = strcmp(v, "c2s") != 0;
		else if (strcmp(k, "--size") == 0)
			c->size = strcmp(v, "imix") == 0 ? 0 : (unsigned int)atoi(v);
		else if (strcmp(k, "--frames") == 0)
			c->frames = (unsigned int)atoi(v);
		else if (strcmp(k, "--warmup") == 0)
			c->warmup = (unsigned int)atoi(v);
		else if (strcmp(k, "--srv-args") == 0)
			c->srv_args = v;
		else if (strcmp(k, "--cli-args") == 0)
			c->cli_args = v;
		else if (strcmp(k, "--smaps") == 0)
			c->smaps = v;
		else if (strcmp(k, "--huge") == 0)
			c->huge = strcmp(v, "yes") == 0;
		else
			break;
	}
	if (a != argc || (c->size != 0 && (c->size < 64 || c->size > 1518)) ||
			(!c->memif && strcmp(c->driver, "-") == 0)) {
		fprintf(stderr, "usage: bench_pair <driver.so|-> --pair shmlink|memif "
				"[--dir s2c|c2s] [--size B|imix] [--frames N] [--warmup N] "
				"[--srv-args K=V,..] [--cli-args K=V,..] [--smaps FILE] "
				"[--huge yes|no]\n");
		return -1;
	}
	return 0;
}

/* The two ports' devargs: the listening (server) one and the connecting one. */
static void
pair_vdevs(const struct pair_conf *c, const char *sock, char *srv, char *cli, size_t len)
{
	const char *sa = c->srv_args != NULL ? c->srv_args : "";
	const char *ca = c->cli_args != NULL ? c->cli_args : "";

	if (c->memif) {
		/* memif keeps one socket per path name and will not make it both listen
		 * and connect: the client names the same file another way. */
		snprintf(srv, len, "net_memif0,role=server,id=0,socket-abstract=no,socket=%s%s%s",
				sock, *sa ? "," : "", sa);
		snprintf(cli, len, "net_memif1,role=client,id=0,socket-abstract=no,socket=/.%s%s%s",
				sock, *ca ? "," : "", ca);
	} else {
		snprintf(srv, len, "net_shmlink0,socket=%s,role=server%s%s", sock,
				*sa ? "," : "", sa);
		snprintf(cli, len, "net_shmlink1,socket=%s,listen=no%s%s", sock,
				*ca ? "," : "", ca);
	}
}

static int
pair_eal(const struct pair_conf *c, char *srv, char *cli)
{
	static char pfx[64];
	char *eal[24] = { "bench_pair", "-l", "0", "-m", "256", "--no-pci", "--no-shconf",
		"--no-telemetry", pfx, "--log-level=pmd.net.*:warning", "--vdev", srv,
		"--vdev", cli };
	int n = 14;

	snprintf(pfx, sizeof(pfx), "--file-prefix=bench-pair-%d", (int)getpid());
	if (c->huge) {
		eal[n++] = "--in-memory";
		eal[n++] = "--single-file-segments";
	} else {
		eal[n++] = "--no-huge";
	}
	if (!c->memif) {
		eal[n++] = "-d";
		eal[n++] = (char *)c->driver;
	}
	return rte_eal_init(n, eal) < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct pair_conf c = { .s2c = true, .size = 64, .frames = 20000, .warmup = 5000 };
	char sock[108], srv[512], cli[512];
	struct pair p = { 0 };
	uint16_t port;
	int64_t done;
	int rc = 1;

	if (argc < 2)
		return pair_args(argc, argv, &c) == 0 ? 0 : 2;
	c.driver = strcmp(argv[1], "-") == 0 ? "-" : test_driver_arg(argv, argv[1]);
	if (pair_args(argc, argv, &c) != 0)
		return 2;
	if (mmap((void *)(uintptr_t)BENCH_MARK_ADDR, BENCH_MARK_PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) ==
			MAP_FAILED) {
		fprintf(stderr, "bench_pair: cannot map the mark page: %s\n", strerror(errno));
		return 1;
	}
	snprintf(sock, sizeof(sock), "/tmp/bench-pair-%d.sock", (int)getpid());
	unlink(sock);
	pair_vdevs(&c, sock, srv, cli, sizeof(srv));
	if (pair_eal(&c, srv, cli) != 0) {
		fprintf(stderr, "bench_pair: EAL init failed\n");
		return 1;
	}
	p.tx_mp = rte_pktmbuf_pool_create("pair_tx", PAIR_MBUFS, 256, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	p.rx_mp = rte_pktmbuf_pool_create("pair_rx", PAIR_MBUFS, 256, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (p.tx_mp == NULL || p.rx_mp == NULL)
		goto out;
	/* Each port's Rx queue fills from its own side's pool. */
	if (pair_port(c.memif ? "net_memif0" : "net_shmlink0", c.s2c ? p.tx_mp : p.rx_mp,
			c.s2c ? &p.tx_port : &p.rx_port) != 0 ||
			pair_port(c.memif ? "net_memif1" : "net_shmlink1",
			c.s2c ? p.rx_mp : p.tx_mp, c.s2c ? &p.rx_port : &p.tx_port) != 0 ||
			!pair_links_up(&p))
		goto out;
	if (c.smaps != NULL && pair_smaps(c.smaps) != 0) {
		fprintf(stderr, "bench_pair: cannot write %s\n", c.smaps);
		goto out;
	}
	bench_mark(BENCH_MARK_SMAPS);
	if (pair_run(&c, &p, c.warmup) < 0)
		goto lost;
	bench_mark(BENCH_MARK_COUNT_ON);
	done = pair_run(&c, &p, c.frames);
	bench_mark(BENCH_MARK_COUNT_OFF);
	if (done < 0)
		goto lost;
	printf("frames %" PRId64 "\n", done);
	rc = 0;
	goto out;
lost:
	fprintf(stderr, "bench_pair: frames lost or damaged near %u\n", p.seq);
out:
	RTE_ETH_FOREACH_DEV(port) {
		if (rte_eth_dev_stop(port) != 0 || rte_eth_dev_close(port) != 0)
			fprintf(stderr, "bench_pair: port %u did not close\n", port);
	}
	rte_eal_cleanup();
	unlink(sock);
	return rc;
}
