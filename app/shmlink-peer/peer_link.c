/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The control socket (protocol v1, shmlink_ctl.h): listen or connect, attach, and then
 * only watch it. Nobody writes to it after the handshake; any input, EOF or hang-up on
 * it means the peer left.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer.h"

/* Between connection attempts, and between checks for a signal while waiting. */
#define LINK_RETRY_MS		100
/* Bound on each wait for the peer inside the handshake. */
#define LINK_HANDSHAKE_MS	5000

static const char *
link_role_name(enum shmlink_role r)
{
	return r == SHMLINK_ROLE_SERVER ? "server" : "client";
}

static bool
link_is_socket(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* A socket file nobody listens on is stale and may be replaced; a live one, or any other
 * kind of file, may not. */
int
link_open(struct peer_ctx *ctx)
{
	const char *path = ctx->o->socket_path;
	int fd;

	if (!ctx->o->listen)
		return 0;
	fd = shmlink_ctl_listen(path);
	if (fd == -EADDRINUSE) {
		int probe = shmlink_ctl_connect(path);

		if (probe >= 0) {
			close(probe);
			peer_log("%s: another process is listening on it", path);
			return -1;
		}
		/* connect() to a regular file fails with ECONNREFUSED as well. */
		if (!link_is_socket(path)) {
			peer_log("%s: exists and is not a socket; not replacing it", path);
			return -1;
		}
		if (probe != -ECONNREFUSED) {
			peer_log("%s: exists and is not a stale socket (%s)", path,
					strerror(-probe));
			return -1;
		}
		unlink(path);
		fd = shmlink_ctl_listen(path);
	}
	if (fd < 0) {
		peer_log("%s: cannot listen: %s", path, strerror(-fd));
		return -1;
	}
	ctx->listen_fd = fd;
	ctx->sock_created = true;
	return 0;
}

void
link_close(struct peer_ctx *ctx)
{
	if (ctx->listen_fd >= 0) {
		close(ctx->listen_fd);
		ctx->listen_fd = -1;
	}
	if (ctx->sock_created) {
		unlink(ctx->o->socket_path);
		ctx->sock_created = false;
	}
}

static void
link_conf(const struct peer_ctx *ctx, struct shmlink_attach_conf *c)
{
	const struct peer_opts *o = ctx->o;

	memset(c, 0, sizeof(*c));
	c->role = o->role;
	c->role_any = !o->listen && !o->role_set;
	c->nb_qp = o->nb_qp;
	c->flags = (uint16_t)((o->raw_ip ? SHMLINK_CTL_F_RAW_IP : 0) |
			(o->virtio_hdr ? SHMLINK_CTL_F_VIRTIO : 0));
	c->mtu = o->mtu;
	c->buffer_size = o->buffer_size;
	memcpy(c->mac, o->mac, sizeof(c->mac));
	/* Listening, the sizes of a listening net_shmlink port by default (room for a TCP
	 * window), not the library's (gVisor's). */
	c->sizes.data = o->data_size != 0 ? o->data_size : SHMLINK_LISTEN_DATA_SIZE;
	c->sizes.tx_pipe = o->pipe_size != 0 ? o->pipe_size : SHMLINK_LISTEN_PIPE_SIZE;
	c->sizes.rx_pipe = c->sizes.tx_pipe;
	c->timeout_ms = LINK_HANDSHAKE_MS;
	c->offloads = o->offloads;
	c->allow_unsealed = o->allow_unsealed;
}

/* Whether to give up waiting: 1 on a signal or the end of --duration, -1 on timeout. */
static int
link_give_up(const struct peer_ctx *ctx, double t0)
{
	double now = peer_now();

	if (peer_stop_signal != 0)
		return 1;
	if (ctx->deadline > 0 && now >= ctx->deadline)
		return 1;
	if (ctx->o->connect_timeout > 0 && now - t0 >= ctx->o->connect_timeout)
		return -1;
	return 0;
}

static void
link_peer_pid(int fd, char *buf, size_t len)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		snprintf(buf, len, "pid %d", (int)cred.pid);
	else
		snprintf(buf, len, "pid unknown");
}

/* Listening: accept one peer and offer it the queues. Returns the socket, or -1/-2. */
static int
link_accept(struct peer_ctx *ctx, char *why, size_t why_len)
{
	struct shmlink_attach_conf conf;
	double t0 = peer_now();
	int fd, rc;

	link_conf(ctx, &conf);
	for (;;) {
		struct pollfd pfd = { .fd = ctx->listen_fd, .events = POLLIN };

		rc = link_give_up(ctx, t0);
		if (rc > 0)
			return -2;
		if (rc < 0) {
			snprintf(why, why_len, "no peer connected within %.1f s",
					ctx->o->connect_timeout);
			return -1;
		}
		if (peer_poll(&pfd, 1, LINK_RETRY_MS) <= 0)
			continue;
		fd = accept4(ctx->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		rc = shmlink_attach_offer(fd, &conf, &ctx->att, why, why_len);
		if (rc == 0)
			return fd;
		close(fd);
		if (!ctx->o->reconnect)
			return -1;
		/* One misconfigured peer does not end a long-running listener. */
		peer_log("%s: attach failed: %s; still listening", ctx->o->socket_path, why);
	}
}

/* Connecting: wait for the socket to appear and take the listener's offer. */
static int
link_connect(struct peer_ctx *ctx, char *why, size_t why_len)
{
	struct shmlink_attach_conf conf;
	double t0 = peer_now();
	const char *last = "the socket does not exist";
	int fd, rc;

	link_conf(ctx, &conf);
	for (;;) {
		fd = shmlink_ctl_connect(ctx->o->socket_path);
		if (fd >= 0) {
			rc = shmlink_attach_answer(fd, &conf, &ctx->att, why, why_len);
			if (rc == 0)
				return fd;
			close(fd);
			/* The listener's refusal says more than our answer to it. */
			if (ctx->att.peer.type == SHMLINK_CTL_REJECT) {
				snprintf(why, why_len, "the listener refused us (%s): %s",
						shmlink_ctl_reason_name(ctx->att.peer.reason),
						ctx->att.peer.text);
				/* Busy: its previous peer (maybe us) is not gone yet. */
				if (ctx->att.peer.reason != SHMLINK_CTL_R_BUSY)
					return -1;
				last = "the listener is busy with another peer";
			} else if (rc == -ETIMEDOUT || rc == -ECONNRESET) {
				/* A listener too busy to finish in time gives up on us. */
				peer_log("%s: attach failed: %s; trying again",
						ctx->o->socket_path, why);
				last = "the listener did not finish the handshake";
			} else {
				return -1;
			}
		} else if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -EAGAIN) {
			last = fd == -ENOENT ? "the socket does not exist" :
					"nobody listens on the socket";
		} else {
			snprintf(why, why_len, "cannot connect: %s", strerror(-fd));
			return -1;
		}
		rc = link_give_up(ctx, t0);
		if (rc > 0)
			return -2;
		if (rc < 0) {
			snprintf(why, why_len, "no listener within %.1f s: %s",
					ctx->o->connect_timeout, last);
			return -1;
		}
		peer_poll(NULL, 0, LINK_RETRY_MS);
	}
}

int
link_attach(struct peer_ctx *ctx)
{
	const struct peer_opts *o = ctx->o;
	char why[320] = "", pid[32];
	const uint8_t *m;
	int fd;

	memset(&ctx->att, 0, sizeof(ctx->att));
	fd = o->listen ? link_accept(ctx, why, sizeof(why)) :
			link_connect(ctx, why, sizeof(why));
	if (fd == -2)
		return 1;
	if (fd < 0) {
		peer_log("%s: attach failed: %s", o->socket_path, why);
		return -1;
	}
	ctx->conn_fd = fd;
	ctx->attached = true;
	ctx->attaches++;
	ctx->refused = 0;
	ctx->role = ctx->att.role;
	ctx->buffer_size = ctx->att.buffer_size;
	memcpy(ctx->dst_mac, o->peer_mac_set ? o->peer_mac : ctx->att.peer.mac,
			PEER_ETH_ALEN);
	ctx->t_attach = peer_now();
	if (ctx->attaches == 1) {
		ctx->t_first = ctx->t_attach;
		if (o->duration > 0)
			ctx->deadline = ctx->t_first + o->duration;
	}
	m = ctx->att.peer.mac;
	link_peer_pid(fd, pid, sizeof(pid));
	peer_log("%s: attached to peer %s: we are the %s, %u queue pair(s), %s framing%s, "
			"buffer size %u, peer MAC %02x:%02x:%02x:%02x:%02x:%02x, peer MTU %u",
			o->socket_path, pid, link_role_name(ctx->role), ctx->att.nb_qp,
			o->raw_ip ? "ip" : "eth", o->virtio_hdr ? " + virtio header" : "",
			ctx->buffer_size, m[0], m[1], m[2], m[3], m[4], m[5], ctx->att.peer.mtu);
	peer_log("%s: protocol 1.%u; unfilled UDP/TCP checksums: from us %s, to us %s",
			o->socket_path, ctx->att.peer.minor,
			ctx->att.offloads & SHMLINK_CTL_O_CSUM_TX ? "yes" : "no",
			ctx->att.offloads & SHMLINK_CTL_O_CSUM_RX ? "yes" : "no");
	if (ctx->att.peer.mtu != 0 && ctx->att.peer.mtu != o->mtu)
		peer_log("warning: the peer's MTU is %u, ours %u", ctx->att.peer.mtu, o->mtu);
	return 0;
}

int
link_endpoints(struct peer_ctx *ctx)
{
	const struct peer_opts *o = ctx->o;
	struct shmlink_ep_conf conf = shmlink_attach_ep_conf(&ctx->att, o->trim);
	uint16_t i;

	/* A client posts its receive buffers when its endpoint is made: until then a
	 * server cannot send it anything (--attach-delay shows the port waits for that). */
	if (o->attach_delay_ms > 0)
		usleep(o->attach_delay_ms * 1000u);
	for (i = 0; i < o->nb_qp; i++) {
		struct peer_queue *q = ctx->q[i];

		q->ep = shmlink_ep_create(ctx->role, &ctx->att.txq[i], &ctx->att.rxq[i], &conf);
		if (q->ep == NULL) {
			peer_log("queue %u: cannot create the endpoint: %s", i, strerror(errno));
			while (i > 0) {
				q = ctx->q[--i];
				shmlink_ep_destroy(q->ep);
				q->ep = NULL;
			}
			return -1;
		}
	}
	if (o->attach_delay_ms > 0)
		peer_log("endpoints made %u ms after the handshake", o->attach_delay_ms);
	return 0;
}

/* Listening, with a peer attached: turn away anyone else, as the driver does. */
static void
link_refuse(struct peer_ctx *ctx)
{
	char pid[32];
	int fd = accept4(ctx->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* A connecting peer retries: say it once per attached peer. */
	if (ctx->refused++ == 0) {
		link_peer_pid(fd, pid, sizeof(pid));
		peer_log("%s: refused a second peer (%s): one is attached", ctx->o->socket_path,
				pid);
	}
	shmlink_ctl_reject(fd, SHMLINK_CTL_R_BUSY, "a peer is already attached");
	close(fd);
}

int
link_watch(struct peer_ctx *ctx, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = ctx->conn_fd, .events = POLLIN | POLLRDHUP },
		{ .fd = ctx->listen_fd, .events = POLLIN },
	};
	nfds_t n = ctx->listen_fd >= 0 ? 2 : 1;

	if (peer_poll(pfd, n, timeout_ms) <= 0)
		return 0;
	if (pfd[0].revents != 0) {
		/* Never read: the bytes mean nothing, only that the peer is gone. */
		peer_log("%s: the peer left (%s)", ctx->o->socket_path,
				pfd[0].revents & (POLLHUP | POLLRDHUP | POLLERR) ?
				"control socket closed" : "it wrote to the control socket");
		return 1;
	}
	if (n == 2 && (pfd[1].revents & POLLIN))
		link_refuse(ctx);
	return 0;
}

void
link_detach(struct peer_ctx *ctx)
{
	uint16_t i;

	for (i = 0; i < ctx->o->nb_qp; i++) {
		struct peer_queue *q = ctx->q[i];
		struct shmlink_ep_stats st;

		if (q->ep == NULL)
			continue;
		shmlink_ep_stats_get(q->ep, &st);
		shmlink_ep_stats_add(&q->ep_saved, &st);
		shmlink_ep_destroy(q->ep);
		q->ep = NULL;
	}
	if (ctx->attached) {
		shmlink_attach_release(&ctx->att);
		close(ctx->conn_fd);
		ctx->conn_fd = -1;
		ctx->attached = false;
		ctx->active += peer_now() - ctx->t_attach;
	}
}
