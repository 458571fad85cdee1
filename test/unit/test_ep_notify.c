/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Notification: the eventfd protocol, signals deferred and coalesced, frames evicted
 * from a receiver that stopped reading.
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
#include <sys/eventfd.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "endpoint_harness.h"

/* ---------------------------------------------------------------------------------------
 * 8. Notification
 */

static uint32_t
word_of(const struct shmlink_qmap *q)
{
	return __atomic_load_n((uint32_t *)(void *)q->shared, __ATOMIC_SEQ_CST);
}

/* Take the eventfd's counter, through a dup of it (non-blocking, as created). */
static uint64_t
efd_take(int efd)
{
	uint64_t v = 0;
	int fd = fcntl(efd, F_DUPFD_CLOEXEC, 0);

	if (!CHECK(fd >= 0, "dup of eventfd failed: %d", errno))
		return UINT64_MAX;
	CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, "%s", "eventfd is blocking");
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
		CHECK(errno == EAGAIN, "eventfd read failed: %d", errno);
		v = 0;
	}
	close(fd);
	return v;
}

static void
test_notification(void)
{
	struct shmlink_ep_conf sc = { 0 };
	struct link l;
	struct shmlink_frame frames[8];
	unsigned int k, got;
	int tx_efd, rx_efd;

	if (!link_open(&l, NULL, NULL, &conf_default, NULL))
		return;
	tx_efd = l.txfds[SHMLINK_QFD_EVENT];
	rx_efd = l.rxfds[SHMLINK_QFD_EVENT];
	/* The client consumes the RX queue: it polls, so it asks for no signal. */
	CHECK_EQ(word_of(&l.c_rxq), SHMLINK_NOTIFY_OFF);
	/* Nobody consumes the TX queue yet: its word is still 0, which asks for one. */
	CHECK_EQ(word_of(&l.c_txq), SHMLINK_NOTIFY_UNSET);
	src_pattern(&src_pool[0], 0, 100, false);
	CHECK_EQ(shmlink_ep_tx_burst(l.client, &src_pool[0].f, 1), 1);
	CHECK_EQ(efd_take(tx_efd), 1);
	CHECK_EQ(stats_of(l.client).signals, 1);

	l.server = shmlink_ep_create(SHMLINK_ROLE_SERVER, &l.s_txq, &l.s_rxq, &sc);
	if (!CHECK(l.server != NULL, "server create failed: %d", errno)) {
		link_close(&l);
		return;
	}
	CHECK_EQ(word_of(&l.s_txq), SHMLINK_NOTIFY_OFF);
	CHECK(shmlink_ep_rx_ready(l.server), "%s", "server not ready with a frame waiting");
	CHECK(!shmlink_ep_rx_idle(l.server), "%s", "server idle with a frame waiting");
	CHECK_EQ(server_rx(&l), 1);
	CHECK(!shmlink_ep_rx_idle(l.server), "%s", "server idle with a burst to release");
	shmlink_ep_rx_release(l.server);
	CHECK(!shmlink_ep_rx_ready(l.server), "%s", "server ready with nothing waiting");
	CHECK(shmlink_ep_rx_idle(l.server), "%s", "server not idle with nothing to do");

	/* The server polls: a burst of 8 makes no system call. */
	for (k = 0; k < 8; k++) {
		src_pattern(&src_pool[k], k + 1, 100 + k, false);
		frames[k] = src_pool[k].f;
	}
	CHECK_EQ(shmlink_ep_tx_burst(l.client, frames, 8), 8);
	CHECK_EQ(efd_take(tx_efd), 0);
	CHECK_EQ(stats_of(l.client).signals, 1);
	CHECK_EQ(server_rx(&l), 8);
	shmlink_ep_rx_release(l.server);

	/* Same for the other direction while the client polls. */
	CHECK_EQ(shmlink_ep_tx_burst(l.server, frames, 8), 8);
	CHECK_EQ(efd_take(rx_efd), 0);
	CHECK_EQ(stats_of(l.server).signals, 0);
	CHECK(shmlink_ep_rx_ready(l.client), "%s", "client not ready with frames waiting");
	CHECK(!shmlink_ep_rx_idle(l.client), "%s", "client idle with frames waiting");
	CHECK_EQ(client_rx(&l), 8);
	shmlink_ep_rx_release(l.client);
	/* Buffers left to post again (a full fill pipe) are posted by the next burst. */
	CHECK_EQ(client_rx(&l), 0);
	CHECK(shmlink_ep_rx_idle(l.client), "%s", "client not idle with nothing to do");

	/* The client may sleep: one signal per burst, not per frame. */
	shmlink_notify_arm(shmlink_ep_rx_notify(l.client));
	CHECK_EQ(word_of(&l.s_rxq), SHMLINK_NOTIFY_ON);
	CHECK_EQ(shmlink_ep_tx_burst(l.server, frames, 8), 8);
	CHECK_EQ(efd_take(rx_efd), 1);
	CHECK_EQ(stats_of(l.server).signals, 1);
	got = client_rx(&l);
	CHECK_EQ(got, 8);
	shmlink_notify_disarm(shmlink_ep_rx_notify(l.client));
	shmlink_ep_rx_release(l.client);

	/* The server may sleep: the client signals it. */
	shmlink_notify_arm(shmlink_ep_rx_notify(l.server));
	CHECK_EQ(word_of(&l.c_txq), SHMLINK_NOTIFY_ON);
	CHECK_EQ(shmlink_ep_tx_burst(l.client, frames, 8), 8);
	CHECK_EQ(efd_take(tx_efd), 1);
	CHECK_EQ(stats_of(l.client).signals, 2);
	CHECK_EQ(server_rx(&l), 8);
	shmlink_ep_rx_release(l.server);

	/* Back to polling: no more signals. */
	shmlink_notify_disarm(shmlink_ep_rx_notify(l.server));
	CHECK_EQ(word_of(&l.c_txq), SHMLINK_NOTIFY_OFF);
	CHECK_EQ(shmlink_ep_tx_burst(l.client, frames, 8), 8);
	CHECK_EQ(efd_take(tx_efd), 0);
	CHECK_EQ(stats_of(l.client).signals, 2);
	CHECK_EQ(server_rx(&l), 8);
	shmlink_ep_rx_release(l.server);
	CHECK_EQ(shmlink_ep_tx_burst(l.server, frames, 8), 8);
	CHECK_EQ(efd_take(rx_efd), 0);
	CHECK_EQ(stats_of(l.server).signals, 1);
	CHECK_EQ(client_rx(&l), 8);
	link_settle(&l);
	CHECK_CLIENT_QUIESCENT(l.client);
	link_close(&l);
}

/* defer_signals: bursts publish without a system call, shmlink_ep_tx_signal() signals
 * once for all of them, and only a peer that asked for signals gets one. */
static void
test_deferred_signals(void)
{
	static const struct shmlink_ep_conf dc = { .defer_signals = true };
	struct link l;
	struct shmlink_frame frames[8];
	unsigned int k, round, got;
	int tx_efd, rx_efd;

	if (!link_open(&l, NULL, NULL, &dc, &dc))
		return;
	tx_efd = l.txfds[SHMLINK_QFD_EVENT];
	rx_efd = l.rxfds[SHMLINK_QFD_EVENT];
	for (k = 0; k < 8; k++) {
		src_pattern(&src_pool[k], k + 1, 60 + 50 * k, false);
		frames[k] = src_pool[k].f;
	}
	/* Both sides poll: nobody waits, nothing to signal. */
	CHECK(!shmlink_ep_tx_peer_waits(l.client), "%s", "client: the polling server waits");
	CHECK(!shmlink_ep_tx_peer_waits(l.server), "%s", "server: the polling client waits");
	CHECK(!shmlink_ep_tx_signal(l.client), "%s", "client signalled a polling server");
	CHECK_EQ(efd_take(tx_efd), 0);

	/* Each side may sleep in turn: three bursts, no signal, then one for all three. */
	for (round = 0; round < 2; round++) {
		struct shmlink_ep *tx = round == 0 ? l.client : l.server;
		struct shmlink_ep *rx = round == 0 ? l.server : l.client;
		int efd = round == 0 ? tx_efd : rx_efd;

		shmlink_notify_arm(shmlink_ep_rx_notify(rx));
		CHECK(shmlink_ep_tx_peer_waits(tx), "round %u: a sleeping peer does not wait",
				round);
		for (k = 0; k < 3; k++)
			CHECK_EQ(shmlink_ep_tx_burst(tx, frames, 8), 8);
		CHECK_EQ(efd_take(efd), 0);
		CHECK_EQ(stats_of(tx).signals, 0);
		CHECK(shmlink_ep_tx_signal(tx), "round %u: no signal to a sleeping peer", round);
		CHECK_EQ(efd_take(efd), 1);
		CHECK_EQ(stats_of(tx).signals, 1);
		/* Through another FD of the same eventfd: what a second process sharing the
		 * endpoint does. */
		{
			int other = dup(efd);

			CHECK(shmlink_ep_tx_signal_fd(tx, other), "round %u: no signal through "
					"another FD", round);
			CHECK_EQ(efd_take(efd), 1);
			CHECK_EQ(stats_of(tx).signals, 2);
			close(other);
		}
		/* The frames were all there before the signal. */
		for (got = 0, k = 0; k < 24; k++) {
			unsigned int n = round == 0 ? server_rx(&l) : client_rx(&l);

			shmlink_ep_rx_release(rx);
			if (n == 0)
				break;
			got += n;
		}
		CHECK_EQ(got, 24);
		shmlink_notify_disarm(shmlink_ep_rx_notify(rx));
		CHECK(!shmlink_ep_tx_signal(tx), "round %u: signalled a polling peer", round);
		CHECK_EQ(efd_take(efd), 0);
	}
	link_settle(&l);
	CHECK_CLIENT_QUIESCENT(l.client);
	link_close(&l);
}

/*
 * shmlink_frame_evict() on every received frame, as net_shmlink's rx_evict does: the
 * frames still arrive whole at every size, cut into pieces that start and end anywhere
 * in a line (1000-byte buffers, the virtio header).
 */
static void
test_evicted_frames(void)
{
	static const struct shmlink_ep_conf c1000 = { .virtio_hdr = true, .buffer_size = 1000 };
	static const struct shmlink_ep_conf *const confs[] = { &conf_default, &c1000 };
	unsigned int i;

	flow_evict = true;
	for (i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		struct link l;

		if (!link_open(&l, NULL, NULL, confs[i], confs[i]))
			break;
		sample_flows_and_close(&l, "evicted");
	}
	flow_evict = false;
#if defined(__x86_64__)
	/* Where the CPU has CLFLUSHOPT, eviction must not quietly be a no-op. */
	{
		unsigned int a, b, c, d;

		if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 23)) != 0)
			CHECK(shmlink_frame_evict_works(), "%s", "CLFLUSHOPT present, evict off");
	}
#endif
}

/*
 * A peer that clears O_NONBLOCK on an eventfd it shares (the flag belongs to the open
 * file): draining an empty counter and kicking a full one must still return at once.
 * SIGALRM ends the test if either blocks.
 */
static void
test_blocking_eventfd(void)
{
	uint32_t word = SHMLINK_NOTIFY_ON;
	struct shmlink_notify n = { .word = &word, .efd = eventfd(0, EFD_CLOEXEC) };
	uint64_t full = UINT64_MAX - 1;

	if (!CHECK(n.efd >= 0, "eventfd: %d", errno))
		return;
	alarm(10);
	CHECK(!shmlink_notify_drain(&n), "%s", "drained an empty counter");
	CHECK(shmlink_notify_kick(&n), "%s", "no kick on an empty counter");
	CHECK(shmlink_notify_drain(&n), "%s", "the kick was not there to drain");
	CHECK(write(n.efd, &full, sizeof(full)) == (ssize_t)sizeof(full), "fill: %d", errno);
	CHECK(!shmlink_notify_kick(&n), "%s", "kicked a full counter");
	CHECK(!shmlink_notify_signal(&n), "%s", "signalled a full counter");
	CHECK(shmlink_notify_drain(&n), "%s", "the full counter was not drained");
	CHECK(shmlink_notify_wait(&n, 0) == 0, "%s", "a wait on nothing");
	alarm(0);
	close(n.efd);
}

static const struct ep_test tests[] = {
	{ "notification", test_notification },
	{ "blocking_eventfd", test_blocking_eventfd },
	{ "deferred_signals", test_deferred_signals },
	{ "evicted_frames", test_evicted_frames },
};

int
main(int argc, char **argv)
{
	return ep_test_main("endpoint notify", tests, sizeof(tests) / sizeof(tests[0]), argc,
			argv);
}
