/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * shmlink-demo: a client and a server endpoint in two processes over one queue pair,
 * each pinned to its own CPU, busy polling. It measures each direction in turn and
 * prints frames per second and bit rate, checking the sequence number of every frame.
 */

#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmlink.h>

#define DEMO_BURST_MAX 256

struct demo_shared {
	volatile int phase;		/* 0: client sends, 1: server sends, 2: done */
	volatile int stop;
	volatile int ready;
};

struct demo_opts {
	double duration;
	uint32_t size;
	unsigned int burst;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
pin(int cpu)
{
	cpu_set_t set;

	if (cpu >= sysconf(_SC_NPROCESSORS_ONLN))
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Send frames carrying a sequence number until told to stop. */
static uint64_t
demo_send(struct shmlink_ep *ep, struct demo_shared *sh, const struct demo_opts *o)
{
	static uint8_t buf[DEMO_BURST_MAX][9216];
	struct shmlink_seg segs[DEMO_BURST_MAX];
	struct shmlink_frame frames[DEMO_BURST_MAX];
	uint64_t seq = 0;
	unsigned int i;

	for (i = 0; i < o->burst; i++) {
		segs[i] = (struct shmlink_seg){ .addr = buf[i], .len = o->size };
		frames[i] = (struct shmlink_frame){ .segs = &segs[i], .nb_segs = 1,
				.len = o->size };
	}
	while (!sh->stop) {
		unsigned int n;

		for (i = 0; i < o->burst; i++)
			memcpy(buf[i], &(uint64_t){ seq + i }, sizeof(uint64_t));
		n = shmlink_ep_tx_burst(ep, frames, o->burst);
		seq += n;
	}
	return seq;
}

/* Receive and check sequence numbers for the measured window; returns frames. */
static uint64_t
demo_recv(struct shmlink_ep *ep, struct demo_shared *sh, const struct demo_opts *o,
		uint64_t *bad, double *secs)
{
	struct shmlink_frame frames[DEMO_BURST_MAX];
	struct shmlink_seg segs[DEMO_BURST_MAX * 8];
	uint64_t got = 0, expect = 0;
	double t0 = now_s(), end = t0 + o->duration;

	*bad = 0;
	while (now_s() < end) {
		unsigned int n = shmlink_ep_rx_burst(ep, frames, o->burst, segs,
				DEMO_BURST_MAX * 8), i;

		for (i = 0; i < n; i++) {
			uint64_t seq;

			memcpy(&seq, frames[i].segs[0].addr, sizeof(seq));
			if (seq != expect || frames[i].len != o->size)
				(*bad)++;
			expect = seq + 1;
		}
		got += n;
		shmlink_ep_rx_release(ep);
	}
	*secs = now_s() - t0;
	sh->stop = 1;
	/* Drain what is in flight so the sender's buffers come back. */
	for (int k = 0; k < 1000; k++) {
		shmlink_ep_rx_burst(ep, frames, o->burst, segs, DEMO_BURST_MAX * 8);
		shmlink_ep_rx_release(ep);
	}
	return got;
}

static void
demo_report(const char *dir, uint64_t frames, uint64_t bad, double secs, uint32_t size)
{
	double pps = frames / secs;

	printf("%-16s %8u B  %10.3f Mpps  %8.2f Gbit/s  %" PRIu64 " frames, %" PRIu64
			" out of order\n", dir, size, pps / 1e6, pps * size * 8 / 1e9, frames, bad);
}

static int
demo_run(const struct demo_opts *o)
{
	struct shmlink_ep_conf conf = { .max_frame = 9216 };
	int txfds[SHMLINK_QFD_COUNT], rxfds[SHMLINK_QFD_COUNT];
	struct shmlink_qmap txq, rxq;
	struct demo_shared *sh;
	struct shmlink_ep *ep;
	int rc, status;
	pid_t pid;

	rc = shmlink_qfile_create(NULL, txfds);
	if (rc == 0)
		rc = shmlink_qfile_create(NULL, rxfds);
	if (rc != 0) {
		fprintf(stderr, "shmlink-demo: cannot create queue files: %s\n", strerror(-rc));
		return 1;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset(sh, 0, sizeof(*sh));
	pid = fork();
	if (pid < 0)
		return 1;
	/* Each process maps the files itself, as two programs would. */
	if (shmlink_qmap_map(&txq, txfds, 2048, NULL) != 0 ||
			shmlink_qmap_map(&rxq, rxfds, 2048, NULL) != 0) {
		fprintf(stderr, "shmlink-demo: cannot map the queues\n");
		return 1;
	}
	if (pid == 0) {
		pin(1);
		ep = shmlink_ep_create(SHMLINK_ROLE_CLIENT, &txq, &rxq, &conf);
		if (ep == NULL)
			_exit(1);
		__atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
		demo_send(ep, sh, o);
		while (sh->phase == 0)
			;
		{
			uint64_t bad;
			double secs;
			uint64_t got = demo_recv(ep, sh, o, &bad, &secs);

			demo_report("server -> client", got, bad, secs, o->size);
		}
		shmlink_ep_destroy(ep);
		fflush(stdout);
		_exit(0);
	}
	pin(0);
	while (sh->ready == 0)
		;
	ep = shmlink_ep_create(SHMLINK_ROLE_SERVER, &txq, &rxq, &conf);
	if (ep == NULL)
		return 1;
	{
		uint64_t bad;
		double secs;
		uint64_t got = demo_recv(ep, sh, o, &bad, &secs);

		demo_report("client -> server", got, bad, secs, o->size);
	}
	fflush(stdout);
	sh->stop = 0;
	sh->phase = 1;
	demo_send(ep, sh, o);
	waitpid(pid, &status, 0);
	shmlink_ep_destroy(ep);
	shmlink_qmap_unmap(&txq);
	shmlink_qmap_unmap(&rxq);
	shmlink_qfile_close(txfds);
	shmlink_qfile_close(rxfds);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: shmlink-demo [--duration SECONDS] [--size BYTES] [--burst N]\n"
		"  Client and server endpoints of libshmlink in two processes over one queue\n"
		"  pair; measures each direction (defaults: 3 s, 64 B, burst 32).\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "burst", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct demo_opts o = { .duration = 3, .size = 64, .burst = 32 };
	int c;

	while ((c = getopt_long(argc, argv, "d:s:b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.duration = atof(optarg);
			break;
		case 's':
			o.size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			o.burst = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.duration <= 0 || o.size < 8 || o.size > 9216 || o.burst == 0 ||
			o.burst > DEMO_BURST_MAX) {
		fprintf(stderr, "shmlink-demo: --duration > 0, --size 8..9216, --burst 1..%d\n",
				DEMO_BURST_MAX);
		return 2;
	}
	return demo_run(&o);
}
