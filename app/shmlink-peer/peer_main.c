/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * shmlink-peer: the sandbox side of a net_shmlink link, playing what a gVisor netstack
 * would, for testing and measuring a DPDK application. The main thread attaches, starts
 * the queue threads, then only watches: the control socket (the peer leaving), signals,
 * the clock (--duration, --stats-period) and damaged endpoints.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peer.h"

/* How often the main thread looks at the control socket, at least. */
#define MAIN_WATCH_MS		100
#define MAIN_COUNT_MS		2	/* how often --rx-count is looked at */

volatile sig_atomic_t peer_stop_signal;

/* The main thread's signal mask while it waits: SIGINT and SIGTERM open. */
static sigset_t main_wait_mask;

double
peer_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
peer_log(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, PEER_NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
peer_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long)(timeout_ms % 1000) * 1000000L,
	};

	return ppoll(fds, n, timeout_ms < 0 ? NULL : &ts, &main_wait_mask);
}

static void
main_on_signal(int sig)
{
	peer_stop_signal = sig;
}

/*
 * Block SIGINT and SIGTERM everywhere but in peer_poll(), so that only the main thread
 * sees them, and only where it can act on them: the queue threads (which inherit the
 * mask) never stop in a syscall, and no wait misses a signal sent just before it.
 */
static int
main_signals(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &block, &main_wait_mask) != 0 ||
			sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
		return -1;
	sigdelset(&main_wait_mask, SIGINT);
	sigdelset(&main_wait_mask, SIGTERM);
	return 0;
}

/* Frames received so far on every queue. */
static uint64_t
main_rx_total(const struct peer_ctx *ctx)
{
	struct peer_qstats s;
	uint64_t n = 0;
	uint16_t i;

	for (i = 0; i < ctx->o->nb_qp; i++) {
		stats_read(ctx->q[i], &s);
		n += s.rx_packets;
	}
	return n;
}

/* Serve one peer until it leaves or we stop. Returns why (enum peer_run). */
static int
main_session(struct peer_ctx *ctx)
{
	const struct peer_opts *o = ctx->o;

	stats_mark(ctx);
	for (;;) {
		double now = peer_now();
		int ms = MAIN_WATCH_MS;

		/* Wake up in time for the next print and the end of the run. */
		if (o->stats_period > 0 && (ctx->t_last_print + o->stats_period - now) * 1e3 < ms)
			ms = (int)((ctx->t_last_print + o->stats_period - now) * 1e3);
		if (ctx->deadline > 0 && (ctx->deadline - now) * 1e3 < ms)
			ms = (int)((ctx->deadline - now) * 1e3);
		if (o->rx_count > 0 && ms > MAIN_COUNT_MS)
			ms = MAIN_COUNT_MS;
		if (link_watch(ctx, ms < 0 ? 0 : ms))
			return PEER_STOP_PEER_LEFT;
		if (peer_stop_signal != 0) {
			peer_log("%s: stopping", strsignal(peer_stop_signal));
			return PEER_STOP_LOCAL;
		}
		now = peer_now();
		if (ctx->deadline > 0 && now >= ctx->deadline)
			return PEER_STOP_LOCAL;
		if (o->rx_count > 0 && main_rx_total(ctx) >= o->rx_count) {
			peer_log("received %" PRIu64 " frames: stopping", o->rx_count);
			return PEER_STOP_LOCAL;
		}
		if (fwd_broken(ctx)) {
			peer_log("%s: a ring is damaged: the peer broke the protocol; dropping it",
					o->socket_path);
			return PEER_STOP_PEER_LEFT;
		}
		if (o->stats_period > 0 && now - ctx->t_last_print >= o->stats_period)
			stats_print_period(ctx);
	}
}

/* Attach, serve, and with --reconnect do it again. Returns an exit status. */
static int
main_run(struct peer_ctx *ctx)
{
	const struct peer_opts *o = ctx->o;

	for (;;) {
		int rc = link_attach(ctx), why;

		if (rc > 0)
			return PEER_EXIT_OK;
		if (rc < 0)
			return PEER_EXIT_FAIL;
		if (link_endpoints(ctx) != 0 || fwd_start(ctx) != 0) {
			link_detach(ctx);
			return PEER_EXIT_FAIL;
		}
		why = main_session(ctx);
		fwd_stop(ctx, why);
		link_detach(ctx);
		if (why != PEER_STOP_PEER_LEFT || !o->reconnect)
			return PEER_EXIT_OK;
		peer_log("%s: waiting for the next peer (--reconnect)", o->socket_path);
	}
}

/* The exit status the counters call for. */
static int
main_verdict(struct peer_ctx *ctx, int status)
{
	const struct peer_opts *o = ctx->o;
	struct shmlink_ep_stats e;
	struct peer_qstats t;

	stats_total(ctx, &t, &e);
	if (o->expect_min_set && t.rx_packets < o->expect_min) {
		peer_log("expected at least %" PRIu64 " frames, received %" PRIu64,
				o->expect_min, t.rx_packets);
		status = PEER_EXIT_FAIL;
	}
	if (o->fail_on_errors && (t.rx_lost > 0 || t.rx_corrupt > 0 || t.rx_reordered > 0 ||
			stats_ep_errors(&e) > 0)) {
		peer_log("errors: %" PRIu64 " lost, %" PRIu64 " corrupt, %" PRIu64 " reordered, "
				"%" PRIu64 " protocol violations by the peer", t.rx_lost,
				t.rx_corrupt, t.rx_reordered, stats_ep_errors(&e));
		status = PEER_EXIT_FAIL;
	}
	return status;
}

int
main(int argc, char **argv)
{
	struct peer_opts o;
	struct peer_ctx ctx;
	int status;

	status = opts_parse(argc, argv, &o);
	if (status >= 0)
		return status;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pkt_init();
	if (o.mode == PEER_MODE_TXONLY)
		pkt_gen_prepare(&o);
	memset(&ctx, 0, sizeof(ctx));
	ctx.o = &o;
	ctx.listen_fd = -1;
	ctx.conn_fd = -1;
	if (main_signals() != 0) {
		peer_log("cannot set up signal handling: %s", strerror(errno));
		return PEER_EXIT_FAIL;
	}
	if (fwd_init(&ctx) != 0)
		return PEER_EXIT_FAIL;
	if (link_open(&ctx) != 0) {
		fwd_fini(&ctx);
		return PEER_EXIT_FAIL;
	}
	if (o.listen)
		peer_log("%s: listening", o.socket_path);
	status = main_run(&ctx);
	stats_finish(&ctx);
	if (ctx.attaches > 0)
		stats_print_summary(&ctx, stdout);
	if (o.json_path != NULL && stats_write_json(&ctx, o.json_path) != 0)
		status = PEER_EXIT_FAIL;
	status = main_verdict(&ctx, status);
	link_close(&ctx);
	fwd_fini(&ctx);
	return status;
}
