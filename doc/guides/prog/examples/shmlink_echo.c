/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * shmlink-echo: the smallest sandbox side on libshmlink. It connects to the control
 * socket of a net_shmlink port (or any listener of the control protocol), attaches one
 * queue pair in the role the listener assigns, and sends back every frame it receives,
 * sleeping on the queue's eventfd when there is nothing to do. It stops when the peer
 * leaves, after SECONDS, or when the link breaks.
 *
 * Usage: shmlink-echo SOCKET [SECONDS]
 */

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shmlink.h>

#define ECHO_BURST	32
#define ECHO_SEGS	(ECHO_BURST * 8)
#define ECHO_IDLE_MS	100

static double
echo_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until the peer signals our receive direction or writes to / closes the control
 * socket. Returns false if the peer is gone. */
static bool
echo_sleep(struct shmlink_ep *ep, int sock)
{
	const struct shmlink_notify *n = shmlink_ep_rx_notify(ep);
	struct pollfd pfd[2] = {
		{ .fd = n->efd, .events = POLLIN },
		{ .fd = sock, .events = POLLIN },
	};
	bool alive = true;

	/* Arm, then look once more: a frame published before the arm sent no signal. */
	shmlink_notify_arm(n);
	if (!shmlink_ep_rx_ready(ep) && poll(pfd, 2, ECHO_IDLE_MS) > 0) {
		/* Nobody writes to the socket after the handshake: input or EOF means gone. */
		alive = pfd[1].revents == 0;
		shmlink_notify_drain(n);
	}
	shmlink_notify_disarm(n);
	return alive;
}

int
main(int argc, char **argv)
{
	struct shmlink_attach_conf conf = {
		.role_any = true,	/* take the role the listener assigns */
		.nb_qp = 1,		/* must equal the port's queues= */
		.mtu = 1500,
		.timeout_ms = 5000,
	};
	struct shmlink_frame frames[ECHO_BURST];
	struct shmlink_seg segs[ECHO_SEGS];
	struct shmlink_ep_conf ep_conf = { 0 };
	struct shmlink_attach att;
	struct shmlink_ep_stats st;
	struct shmlink_ep *ep;
	unsigned long echoed = 0;
	bool broken;
	double end;
	char why[256] = "";
	int sock, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SOCKET [SECONDS]\n", argv[0]);
		return 2;
	}
	end = echo_now() + (argc > 2 ? atof(argv[2]) : 10);

	/* 1. Connect and attach: the listener offers the queue files, we check, map and
	 *    accept them. The socket stays open as the "peer is alive" signal. */
	sock = shmlink_ctl_connect(argv[1]);
	if (sock < 0) {
		fprintf(stderr, "%s: cannot connect: %s\n", argv[1], strerror(-sock));
		return 1;
	}
	rc = shmlink_attach_answer(sock, &conf, &att, why, sizeof(why));
	if (rc != 0) {
		fprintf(stderr, "%s: attach failed: %s\n", argv[1], why);
		close(sock);
		return 1;
	}

	/* 2. An endpoint over queue pair 0, configured as both sides agreed: the
	 *    listener's buffer size (the files are cut for it), the framing, the largest
	 *    frame of our MTU, trimming in the client role. */
	ep_conf = shmlink_attach_ep_conf(&att, SHMLINK_TRIM_AUTO);
	ep = shmlink_ep_create(att.role, &att.txq[0], &att.rxq[0], &ep_conf);
	if (ep == NULL) {
		perror("shmlink_ep_create");
		shmlink_attach_release(&att);
		close(sock);
		return 1;
	}
	printf("attached as the %s\n", att.role == SHMLINK_ROLE_CLIENT ? "client" : "server");
	fflush(stdout);

	/* 3. Echo: receive a burst, send the same frames back (tx copies them out of the
	 *    received buffers), then give the received buffers back. */
	while (echo_now() < end && !shmlink_ep_broken(ep)) {
		unsigned int n = shmlink_ep_rx_burst(ep, frames, ECHO_BURST, segs, ECHO_SEGS);
		unsigned int sent = 0;

		if (n == 0) {
			if (!echo_sleep(ep, sock))
				break;
			continue;
		}
		/* Back-pressure: retry until the peer has made room, or give up the rest. */
		while (sent < n && echo_now() < end && !shmlink_ep_broken(ep))
			sent += shmlink_ep_tx_burst(ep, frames + sent, n - sent);
		echoed += sent;
		shmlink_ep_rx_release(ep);
	}

	shmlink_ep_stats_get(ep, &st);
	broken = shmlink_ep_broken(ep);
	printf("echoed %lu frames; peer errors: ring %lu, tx %lu, rx %lu; link %s\n", echoed,
			(unsigned long)st.err[SHMLINK_ERR_RING],
			(unsigned long)(st.err[SHMLINK_ERR_TX_DESC] + st.err[SHMLINK_ERR_TX_COMPL]),
			(unsigned long)(st.err[SHMLINK_ERR_POSTED_BUF] +
					st.err[SHMLINK_ERR_RX_COMPL]),
			broken ? "broken" : "intact");
	/* 4. Tear down: the endpoint, then the mappings, then the socket (the peer sees
	 *    EOF and knows we are gone). */
	shmlink_ep_destroy(ep);
	shmlink_attach_release(&att);
	close(sock);
	return broken ? 1 : 0;
}
