/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shmlink_attach.h"

#define ATTACH_DEFAULT_TIMEOUT_MS 5000
/* attach_take_qp(): the listener sent a REJECT instead of an offer. */
#define ATTACH_REFUSED UINT32_MAX
/* attach_take_qp(): nothing to read yet (non-blocking handshake). */
#define ATTACH_AGAIN (UINT32_MAX - 1)
/* attach_take_qp(): the listener went silent or hung up: busy, perhaps; not a bad offer. */
#define ATTACH_TIMED_OUT (UINT32_MAX - 2)
#define ATTACH_HUNG_UP (UINT32_MAX - 3)

static void __attribute__((format(printf, 3, 4)))
attach_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static int
attach_timeout(const struct shmlink_attach_conf *conf)
{
	return conf->timeout_ms > 0 ? conf->timeout_ms : ATTACH_DEFAULT_TIMEOUT_MS;
}

static void
attach_init(struct shmlink_attach *a)
{
	unsigned int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < SHMLINK_CTL_MAX_QUEUE_PAIRS; i++) {
		a->txq[i].notify.efd = -1;
		a->rxq[i].notify.efd = -1;
	}
}

void
shmlink_attach_release(struct shmlink_attach *a)
{
	unsigned int i;

	for (i = 0; i < SHMLINK_CTL_MAX_QUEUE_PAIRS; i++) {
		shmlink_qmap_unmap(&a->txq[i]);
		shmlink_qmap_unmap(&a->rxq[i]);
	}
	a->nb_qp = 0;
}

/* Map the two queues of queue pair @qp from @fds (TX queue's, then RX queue's), keeping
 * FDs of their files if @keep. */
static int
attach_map_qp(struct shmlink_attach *a, uint16_t qp, const int *fds, uint32_t buffer_size,
		bool keep, const char **err)
{
	struct shmlink_qmap *q[2] = { &a->txq[qp], &a->rxq[qp] };
	int i, rc = 0;

	for (i = 0; i < 2 && rc == 0; i++) {
		rc = shmlink_qmap_map(q[i], fds + i * SHMLINK_QFD_COUNT, buffer_size, err);
		if (rc == 0 && keep && (rc = shmlink_qmap_keep_files(q[i],
				fds + i * SHMLINK_QFD_COUNT)) != 0)
			*err = "cannot keep the files (out of FDs?)";
	}
	return rc;
}

/* Create, map and send the files of queue pair @qp. */
static int
attach_offer_qp(int sock, const struct shmlink_attach_conf *conf, struct shmlink_attach *a,
		uint16_t qp, char *why, size_t why_len)
{
	struct shmlink_ctl_msg m = {
		.type = SHMLINK_CTL_OFFER,
		.role = conf->role == SHMLINK_ROLE_CLIENT ? SHMLINK_ROLE_SERVER :
				SHMLINK_ROLE_CLIENT,
		.nb_qp = conf->nb_qp,
		.qp = qp,
		.flags = conf->flags,
		.mtu = conf->mtu,
		.buffer_size = conf->buffer_size,
		.offloads = conf->offloads,
	};
	int fds[SHMLINK_CTL_FDS_PER_QP];
	const char *err = NULL;
	int rc;

	memcpy(m.mac, conf->mac, sizeof(m.mac));
	rc = shmlink_qfile_create_in(&conf->sizes, &conf->files, fds, &err);
	if (rc == 0) {
		rc = shmlink_qfile_create_in(&conf->sizes, &conf->files,
				fds + SHMLINK_QFD_COUNT, &err);
		if (rc != 0)
			shmlink_qfile_close(fds);
	}
	if (rc != 0) {
		attach_why(why, why_len, "cannot create queue files: %s (%s)",
				err != NULL ? err : "", strerror(-rc));
		return rc;
	}
	if (conf->rx_efds != NULL) {
		/* We consume the TX queue as server, the RX queue as client. */
		int *q = conf->role == SHMLINK_ROLE_SERVER ? fds : fds + SHMLINK_QFD_COUNT;
		int efd = fcntl(conf->rx_efds[qp], F_DUPFD_CLOEXEC, 0);

		if (efd < 0) {
			rc = -errno;
			attach_why(why, why_len, "cannot dup our eventfd: %s", strerror(-rc));
			shmlink_qfile_close(fds);
			shmlink_qfile_close(fds + SHMLINK_QFD_COUNT);
			return rc;
		}
		close(q[SHMLINK_QFD_EVENT]);
		q[SHMLINK_QFD_EVENT] = efd;
		/* The peer before shared its open file and may have made it blocking. */
		(void)fcntl(efd, F_SETFL, fcntl(efd, F_GETFL) | O_NONBLOCK);
	}
	rc = attach_map_qp(a, qp, fds, conf->buffer_size, conf->keep_files, &err);
	if (rc != 0)
		attach_why(why, why_len, "cannot map our own queue files: %s", err);
	else if ((rc = shmlink_ctl_send(sock, &m, fds, SHMLINK_CTL_FDS_PER_QP)) != 0)
		attach_why(why, why_len, "cannot send the offer: %s", strerror(-rc));
	/* Our mappings keep the files alive; the peer has its own FDs now. */
	shmlink_qfile_close(fds);
	shmlink_qfile_close(fds + SHMLINK_QFD_COUNT);
	return rc;
}

/* Listening side: send an offer for every queue pair. */
static int
attach_offer_send(struct shmlink_attach_hs *hs, char *why, size_t why_len)
{
	const struct shmlink_attach_conf *conf = &hs->conf;
	struct shmlink_attach *a = &hs->a;
	uint16_t qp;
	int rc;

	if (conf->nb_qp == 0 || conf->nb_qp > SHMLINK_CTL_MAX_QUEUE_PAIRS) {
		attach_why(why, why_len, "queue-pair count %u out of range 1..%u", conf->nb_qp,
				SHMLINK_CTL_MAX_QUEUE_PAIRS);
		return -EINVAL;
	}
	a->role = conf->role;
	a->nb_qp = conf->nb_qp;
	a->flags = conf->flags;
	a->buffer_size = conf->buffer_size;
	a->mtu = conf->mtu;
	for (qp = 0; qp < conf->nb_qp; qp++) {
		rc = attach_offer_qp(hs->sock, conf, a, qp, why, why_len);
		/* A peer that rejected an early offer and closed: its answer says why. */
		if (rc == -EPIPE || rc == -ECONNRESET)
			break;
		if (rc != 0)
			return rc;
	}
	return -EINPROGRESS;
}

uint16_t
shmlink_attach_offloads(uint16_t ours, uint16_t theirs)
{
	uint16_t o = 0;

	if ((ours & SHMLINK_CTL_O_CSUM_TX) && (theirs & SHMLINK_CTL_O_CSUM_RX))
		o |= SHMLINK_CTL_O_CSUM_TX;
	if ((ours & SHMLINK_CTL_O_CSUM_RX) && (theirs & SHMLINK_CTL_O_CSUM_TX))
		o |= SHMLINK_CTL_O_CSUM_RX;
	return o;
}

/* Whether the offloads agreed (@agreed, from our side) are the ones this side requires;
 * reason config (and why) if not. */
static uint32_t
attach_check_required(const struct shmlink_attach_conf *conf, uint16_t agreed, char *why,
		size_t why_len)
{
	uint16_t missing = conf->offloads_required & ~agreed;

	if (missing == 0)
		return 0;
	attach_why(why, why_len, "checksum offload required but not agreed: %s%s%s",
			missing & SHMLINK_CTL_O_CSUM_TX ? "our Tx (the peer verifies)" : "",
			missing == SHMLINK_CTL_O_KNOWN ? ", " : "",
			missing & SHMLINK_CTL_O_CSUM_RX ? "the peer's Tx (it fills them)" : "");
	return SHMLINK_CTL_R_CONFIG;
}

/* Listening side: take the peer's answer (waiting up to @timeout_ms; 0: no wait). */
static int
attach_offer_step(struct shmlink_attach_hs *hs, int timeout_ms, char *why, size_t why_len)
{
	const struct shmlink_attach_conf *conf = &hs->conf;
	struct shmlink_attach *a = &hs->a;
	const char *err;
	unsigned int nfds;
	int fds[1];
	int rc;

	rc = shmlink_ctl_recv(hs->sock, &a->peer, fds, 0, &nfds, timeout_ms, &err);
	/* A peer closing with our offers unread resets the connection; its answer is
	 * still queued behind the error. */
	if (rc == -ECONNRESET)
		rc = shmlink_ctl_recv(hs->sock, &a->peer, fds, 0, &nfds, 0, &err);
	if ((rc == -ETIMEDOUT || rc == -EAGAIN) && timeout_ms == 0)
		return -EINPROGRESS;
	if (rc != 0) {
		attach_why(why, why_len, "no valid answer from the peer: %s",
				err != NULL ? err : strerror(-rc));
		return rc;
	}
	if (a->peer.type == SHMLINK_CTL_REJECT) {
		attach_why(why, why_len, "the peer rejected the offer (%s): %s",
				shmlink_ctl_reason_name(a->peer.reason), a->peer.text);
		return -ECONNREFUSED;
	}
	if (a->peer.type != SHMLINK_CTL_ACCEPT) {
		attach_why(why, why_len, "the peer answered with message type %u",
				a->peer.type);
		return -EPROTO;
	}
	/* The accept states what the peer took: it must be what we offered, and it may
	 * leave checksums unfilled only if we said we take that. */
	if (a->peer.role == conf->role || a->peer.nb_qp != conf->nb_qp ||
			a->peer.flags != conf->flags ||
			((a->peer.offloads & SHMLINK_CTL_O_CSUM_TX) &&
			 !(conf->offloads & SHMLINK_CTL_O_CSUM_RX))) {
		attach_why(why, why_len, "the peer accepted something else than offered "
				"(role %u, %u queue pairs, flags 0x%x, offloads 0x%x)",
				a->peer.role, a->peer.nb_qp, a->peer.flags, a->peer.offloads);
		return -EPROTO;
	}
	a->offloads = shmlink_attach_offloads(conf->offloads, a->peer.offloads);
	return attach_check_required(conf, a->offloads, why, why_len) == 0 ? 0 : -EPROTO;
}

/* Check an offer against what this side wants; on mismatch, say why and return the
 * reason code. */
static uint32_t
attach_check_offer(const struct shmlink_attach_conf *conf, const struct shmlink_ctl_msg *m,
		char *why, size_t why_len)
{
	if (m->type != SHMLINK_CTL_OFFER) {
		attach_why(why, why_len, "expected an offer, got message type %u", m->type);
		return SHMLINK_CTL_R_PROTOCOL;
	}
	if (!conf->role_any && m->role != conf->role) {
		attach_why(why, why_len, "the listener assigns the %s role, this side is "
				"configured as %s", m->role == SHMLINK_ROLE_CLIENT ? "client" :
				"server", conf->role == SHMLINK_ROLE_CLIENT ? "client" : "server");
		return SHMLINK_CTL_R_ROLE;
	}
	if (m->nb_qp != conf->nb_qp) {
		attach_why(why, why_len, "the listener offers %u queue pairs, this side has %u",
				m->nb_qp, conf->nb_qp);
		return SHMLINK_CTL_R_CONFIG;
	}
	if (m->flags != conf->flags) {
		attach_why(why, why_len, "framing differs: listener %s%s, this side %s%s",
				m->flags & SHMLINK_CTL_F_RAW_IP ? "ip" : "eth",
				m->flags & SHMLINK_CTL_F_VIRTIO ? "+virtio" : "",
				conf->flags & SHMLINK_CTL_F_RAW_IP ? "ip" : "eth",
				conf->flags & SHMLINK_CTL_F_VIRTIO ? "+virtio" : "");
		return SHMLINK_CTL_R_CONFIG;
	}
	if (m->buffer_size == 0) {
		attach_why(why, why_len, "buffer size 0");
		return SHMLINK_CTL_R_PROTOCOL;
	}
	return attach_check_required(conf, shmlink_attach_offloads(conf->offloads,
			m->offloads), why, why_len);
}

/* Receive offer @qp (waiting up to @timeout_ms; 0: no wait) and map its files. */
static uint32_t
attach_take_qp(int sock, const struct shmlink_attach_conf *conf, struct shmlink_attach *a,
		uint16_t qp, int timeout_ms, char *why, size_t why_len)
{
	int fds[SHMLINK_CTL_FDS_PER_QP];
	struct shmlink_ctl_msg m;
	const char *err = NULL;
	unsigned int nfds;
	uint32_t reason = 0;
	int rc;

	rc = shmlink_ctl_recv(sock, &m, fds, SHMLINK_CTL_FDS_PER_QP, &nfds, timeout_ms,
			&err);
	if ((rc == -ETIMEDOUT || rc == -EAGAIN) && timeout_ms == 0)
		return ATTACH_AGAIN;
	if (rc == -ETIMEDOUT || rc == -ECONNRESET) {
		attach_why(why, why_len, "no offer for queue pair %u: %s", qp,
				err != NULL ? err : strerror(-rc));
		return rc == -ETIMEDOUT ? ATTACH_TIMED_OUT : ATTACH_HUNG_UP;
	}
	if (rc != 0) {
		attach_why(why, why_len, "bad offer for queue pair %u: %s", qp,
				err != NULL ? err : strerror(-rc));
		return rc == -ETOOMANYREFS ? SHMLINK_CTL_R_FDS :
			rc == -EPROTO ? SHMLINK_CTL_R_PROTOCOL : SHMLINK_CTL_R_INTERNAL;
	}
	if (m.type == SHMLINK_CTL_REJECT) {
		/* The listener refused us (busy, say): nothing to answer. */
		a->peer = m;
		attach_why(why, why_len, "the listener refused (%s): %s",
				shmlink_ctl_reason_name(m.reason), m.text);
		reason = ATTACH_REFUSED;
	} else if (qp == 0) {
		a->peer = m;
		reason = attach_check_offer(conf, &m, why, why_len);
	} else if (m.type != SHMLINK_CTL_OFFER || m.nb_qp != a->peer.nb_qp ||
			m.flags != a->peer.flags || m.role != a->peer.role) {
		attach_why(why, why_len, "offer for queue pair %u differs from the first", qp);
		reason = SHMLINK_CTL_R_PROTOCOL;
	}
	if (reason == 0 && m.qp != qp) {
		attach_why(why, why_len, "offer for queue pair %u came as number %u", m.qp, qp);
		reason = SHMLINK_CTL_R_PROTOCOL;
	}
	if (reason == 0 && nfds != SHMLINK_CTL_FDS_PER_QP) {
		attach_why(why, why_len, "offer for queue pair %u carries %u FDs, want %u",
				qp, nfds, SHMLINK_CTL_FDS_PER_QP);
		reason = SHMLINK_CTL_R_FDS;
	}
	if (reason == 0) {
		rc = attach_map_qp(a, qp, fds, m.buffer_size, conf->keep_files, &err);
		if (rc != 0) {
			attach_why(why, why_len, "queue pair %u %s queue: %s", qp,
					a->txq[qp].data == NULL ? "TX" : "RX", err);
			reason = rc == -EINVAL || rc == -EBADF || rc == -EACCES ?
				SHMLINK_CTL_R_FDS : SHMLINK_CTL_R_FILES;
		}
	}
	if (reason == 0 && !conf->allow_unsealed) {
		bool tx = shmlink_qfile_check_sealed(fds, &err) != 0;

		if (tx || shmlink_qfile_check_sealed(fds + SHMLINK_QFD_COUNT, &err) != 0) {
			attach_why(why, why_len, "queue pair %u %s queue: %s", qp,
					tx ? "TX" : "RX", err);
			reason = SHMLINK_CTL_R_FILES;
		}
	}
	while (nfds > 0)
		close(fds[--nfds]);
	return reason;
}

/* Read and drop what the listener already sent (closing its FDs), so that closing our
 * end does not reset the connection before it has read our reject. */
static void
attach_drain(int sock)
{
	int fds[SHMLINK_CTL_FDS_PER_QP];
	struct shmlink_ctl_msg m;
	const char *err;
	unsigned int nfds, i;
	int rc;

	for (i = 0; i < SHMLINK_CTL_MAX_QUEUE_PAIRS; i++) {
		rc = shmlink_ctl_recv(sock, &m, fds, SHMLINK_CTL_FDS_PER_QP, &nfds, 0, &err);
		if (rc != 0 && rc != -EPROTO)
			break;
		while (nfds > 0)
			close(fds[--nfds]);
	}
}

/* Connecting side: take the offers that are there (waiting up to @timeout_ms for each;
 * 0: no wait), then accept or reject. */
static int
attach_answer_step(struct shmlink_attach_hs *hs, int timeout_ms, char *why, size_t why_len)
{
	const struct shmlink_attach_conf *conf = &hs->conf;
	struct shmlink_ctl_msg ok = { .type = SHMLINK_CTL_ACCEPT };
	struct shmlink_attach *a = &hs->a;
	uint32_t reason = 0;
	int rc;

	/* The first offer says how many follow. */
	while (hs->next_qp < (a->peer.nb_qp > 0 ? a->peer.nb_qp : 1) && reason == 0) {
		reason = attach_take_qp(hs->sock, conf, a, hs->next_qp, timeout_ms, why,
				why_len);
		if (reason == ATTACH_AGAIN)
			return -EINPROGRESS;
		if (reason == 0)
			hs->next_qp++;
	}
	if (reason == ATTACH_REFUSED)
		return -ECONNREFUSED;
	if (reason == ATTACH_HUNG_UP)
		return -ECONNRESET;
	if (reason == ATTACH_TIMED_OUT) {
		/* A listener that is only slow learns why we leave. */
		shmlink_ctl_reject(hs->sock, SHMLINK_CTL_R_INTERNAL, "%s", why);
		return -ETIMEDOUT;
	}
	if (reason != 0) {
		shmlink_ctl_reject(hs->sock, reason, "%s", why != NULL ? why : "");
		attach_drain(hs->sock);
		return -EPROTO;
	}
	a->nb_qp = a->peer.nb_qp;
	a->role = (enum shmlink_role)a->peer.role;
	a->flags = a->peer.flags;
	a->buffer_size = a->peer.buffer_size;
	a->mtu = conf->mtu;
	a->offloads = shmlink_attach_offloads(conf->offloads, a->peer.offloads);
	/* We say we would leave checksums unfilled only where the listener takes that. */
	ok.offloads = (conf->offloads & SHMLINK_CTL_O_CSUM_RX) |
		(a->offloads & SHMLINK_CTL_O_CSUM_TX);
	ok.role = a->peer.role;
	ok.nb_qp = a->nb_qp;
	ok.flags = a->peer.flags;
	ok.mtu = conf->mtu;
	ok.buffer_size = a->peer.buffer_size;
	memcpy(ok.mac, conf->mac, sizeof(ok.mac));
	rc = shmlink_ctl_send(hs->sock, &ok, NULL, 0);
	if (rc != 0)
		attach_why(why, why_len, "cannot send the accept: %s", strerror(-rc));
	return rc;
}

int
shmlink_attach_begin(struct shmlink_attach_hs *hs, int sock,
		const struct shmlink_attach_conf *conf, bool listening, char *why,
		size_t why_len)
{
	int rc;

	memset(hs, 0, sizeof(*hs));
	attach_init(&hs->a);
	hs->sock = sock;
	hs->conf = *conf;
	hs->listening = listening;
	if (!listening)
		return -EINPROGRESS;
	rc = attach_offer_send(hs, why, why_len);
	if (rc != -EINPROGRESS)
		shmlink_attach_release(&hs->a);
	return rc;
}

static int
attach_step(struct shmlink_attach_hs *hs, int timeout_ms, char *why, size_t why_len)
{
	int rc;

	rc = hs->listening ? attach_offer_step(hs, timeout_ms, why, why_len) :
			attach_answer_step(hs, timeout_ms, why, why_len);
	if (rc != 0 && rc != -EINPROGRESS)
		shmlink_attach_release(&hs->a);
	return rc;
}

int
shmlink_attach_step(struct shmlink_attach_hs *hs, char *why, size_t why_len)
{
	return attach_step(hs, 0, why, why_len);
}

void
shmlink_attach_abort(struct shmlink_attach_hs *hs)
{
	shmlink_attach_release(&hs->a);
}

/* The blocking handshake: each wait for the peer bounded by the timeout. */
static int
attach_run(int sock, const struct shmlink_attach_conf *conf, bool listening,
		struct shmlink_attach *a, char *why, size_t why_len)
{
	struct shmlink_attach_hs hs;
	int rc;

	rc = shmlink_attach_begin(&hs, sock, conf, listening, why, why_len);
	while (rc == -EINPROGRESS)
		rc = attach_step(&hs, attach_timeout(conf), why, why_len);
	/* On failure @a still carries what the peer said (a REJECT, say). */
	*a = hs.a;
	return rc;
}

int
shmlink_attach_offer(int sock, const struct shmlink_attach_conf *conf,
		struct shmlink_attach *a, char *why, size_t why_len)
{
	return attach_run(sock, conf, true, a, why, why_len);
}

int
shmlink_attach_answer(int sock, const struct shmlink_attach_conf *conf,
		struct shmlink_attach *a, char *why, size_t why_len)
{
	return attach_run(sock, conf, false, a, why, why_len);
}

static int
ctl_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int
shmlink_ctl_listen(const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, rc;

	rc = ctl_addr(path, &sa);
	if (rc != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Only the owner may connect by default: the socket hands out shared memory. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || listen(fd, 4) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int
ctl_connect(const char *path, int type)
{
	struct sockaddr_un sa;
	int fd, rc;

	rc = ctl_addr(path, &sa);
	if (rc != 0)
		return rc;
	fd = socket(AF_UNIX, type, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int
shmlink_ctl_connect(const char *path)
{
	return ctl_connect(path, SOCK_SEQPACKET | SOCK_CLOEXEC);
}

int
shmlink_ctl_connect_nonblock(const char *path)
{
	return ctl_connect(path, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK);
}

struct shmlink_ep_conf
shmlink_attach_ep_conf(const struct shmlink_attach *a, enum shmlink_trim trim)
{
	bool raw_ip = (a->flags & SHMLINK_CTL_F_RAW_IP) != 0;
	struct shmlink_ep_conf c = {
		.buffer_size = a->buffer_size,
		.max_frame = shmlink_max_frame(a->mtu, raw_ip),
		.virtio_hdr = (a->flags & SHMLINK_CTL_F_VIRTIO) != 0,
		.raw_ip = raw_ip,
		.trim = trim == SHMLINK_TRIM_ON ||
			(trim == SHMLINK_TRIM_AUTO && a->role == SHMLINK_ROLE_CLIENT),
		.offloads = a->offloads,
	};

	return c;
}
