/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shmlink_ctl.h"
#include "shmlink_le.h"

/* Header field offsets (see shmlink_ctl.h). */
#define CTL_OFF_MAGIC	0
#define CTL_OFF_VERSION	4
#define CTL_OFF_HDRLEN	6
#define CTL_OFF_TYPE	8
#define CTL_OFF_ROLE	9
#define CTL_OFF_NB_QP	10
#define CTL_OFF_QP	12
#define CTL_OFF_FLAGS	14
#define CTL_OFF_MTU	16
#define CTL_OFF_BUFSZ	20
#define CTL_OFF_MAC	24
#define CTL_OFF_REASON	32
#define CTL_OFF_TEXTLEN	36
/* The extension of minor version 1 (OFFER and ACCEPT). */
#define CTL_OFF_MINOR	64
#define CTL_OFF_OFFLOAD	66

/* Whether messages of type @type carry the extension: a REJECT keeps the 64-byte
 * header, so that its text still fits in the 256 bytes every version accepts. */
static bool
ctl_extended(uint8_t type)
{
	return type == SHMLINK_CTL_OFFER || type == SHMLINK_CTL_ACCEPT;
}

/* The kernel's per-message FD limit (SCM_MAX_FD): room to see and close them all. */
#define CTL_MAX_FDS_SEEN 253

static const char *const ctl_reasons[] = {
	[SHMLINK_CTL_R_BUSY] = "busy",
	[SHMLINK_CTL_R_PROTOCOL] = "protocol",
	[SHMLINK_CTL_R_FDS] = "fds",
	[SHMLINK_CTL_R_FILES] = "files",
	[SHMLINK_CTL_R_ROLE] = "role",
	[SHMLINK_CTL_R_CONFIG] = "config",
	[SHMLINK_CTL_R_DENIED] = "denied",
	[SHMLINK_CTL_R_INTERNAL] = "internal",
};

const char *
shmlink_ctl_reason_name(uint32_t reason)
{
	if (reason >= sizeof(ctl_reasons) / sizeof(ctl_reasons[0]) || ctl_reasons[reason] == NULL)
		return "unknown";
	return ctl_reasons[reason];
}

uint32_t
shmlink_ctl_encode(const struct shmlink_ctl_msg *m, uint8_t *buf)
{
	uint32_t hdr_len = ctl_extended(m->type) ? SHMLINK_CTL_HDR_LEN_1_1 : SHMLINK_CTL_HDR_LEN;
	uint32_t text_len = 0;

	memset(buf, 0, hdr_len);
	if (m->type == SHMLINK_CTL_REJECT) {
		text_len = (uint32_t)strnlen(m->text, SHMLINK_CTL_TEXT_MAX);
		memcpy(buf + hdr_len, m->text, text_len);
	} else if (ctl_extended(m->type)) {
		put_le16(buf + CTL_OFF_MINOR, SHMLINK_CTL_MINOR);
		put_le16(buf + CTL_OFF_OFFLOAD, m->offloads & SHMLINK_CTL_O_KNOWN);
	}
	put_le32(buf + CTL_OFF_MAGIC, SHMLINK_CTL_MAGIC);
	put_le16(buf + CTL_OFF_VERSION, SHMLINK_CTL_VERSION);
	put_le16(buf + CTL_OFF_HDRLEN, (uint16_t)hdr_len);
	buf[CTL_OFF_TYPE] = m->type;
	buf[CTL_OFF_ROLE] = m->role;
	put_le16(buf + CTL_OFF_NB_QP, m->nb_qp);
	put_le16(buf + CTL_OFF_QP, m->qp);
	put_le16(buf + CTL_OFF_FLAGS, m->flags);
	put_le32(buf + CTL_OFF_MTU, m->mtu);
	put_le32(buf + CTL_OFF_BUFSZ, m->buffer_size);
	memcpy(buf + CTL_OFF_MAC, m->mac, sizeof(m->mac));
	put_le32(buf + CTL_OFF_REASON, m->reason);
	put_le32(buf + CTL_OFF_TEXTLEN, text_len);
	return hdr_len + text_len;
}

int
shmlink_ctl_decode(const uint8_t *buf, uint32_t len, struct shmlink_ctl_msg *m,
		const char **why)
{
	uint32_t hdr_len, text_len;

	memset(m, 0, sizeof(*m));
	*why = NULL;
	if (len < 8 || get_le32(buf + CTL_OFF_MAGIC) != SHMLINK_CTL_MAGIC)
		*why = "bad magic (not a shmlink control message)";
	else if (get_le16(buf + CTL_OFF_VERSION) != SHMLINK_CTL_VERSION)
		*why = "unsupported protocol version (this side speaks version 1)";
	else if (len < SHMLINK_CTL_HDR_LEN)
		*why = "message shorter than the 64-byte header";
	if (*why != NULL)
		return -EPROTO;
	hdr_len = get_le16(buf + CTL_OFF_HDRLEN);
	text_len = get_le32(buf + CTL_OFF_TEXTLEN);
	m->type = buf[CTL_OFF_TYPE];
	m->role = buf[CTL_OFF_ROLE];
	m->nb_qp = get_le16(buf + CTL_OFF_NB_QP);
	m->qp = get_le16(buf + CTL_OFF_QP);
	m->flags = get_le16(buf + CTL_OFF_FLAGS);
	m->mtu = get_le32(buf + CTL_OFF_MTU);
	m->buffer_size = get_le32(buf + CTL_OFF_BUFSZ);
	memcpy(m->mac, buf + CTL_OFF_MAC, sizeof(m->mac));
	m->reason = get_le32(buf + CTL_OFF_REASON);

	if (hdr_len < SHMLINK_CTL_HDR_LEN || hdr_len > len)
		*why = "bad header length";
	else if (m->type < SHMLINK_CTL_OFFER || m->type > SHMLINK_CTL_REJECT)
		*why = "unknown message type";
	else if (m->role > 1)
		*why = "unknown role";
	else if (m->type == SHMLINK_CTL_OFFER &&
			(m->nb_qp == 0 || m->nb_qp > SHMLINK_CTL_MAX_QUEUE_PAIRS || m->qp >= m->nb_qp))
		*why = "queue-pair count or index out of range (1..16)";
	else if (m->flags & ~SHMLINK_CTL_F_KNOWN)
		*why = "unknown flags";
	else if (m->type == SHMLINK_CTL_REJECT &&
			(text_len > SHMLINK_CTL_TEXT_MAX || text_len > len - hdr_len))
		*why = "bad reason text length";
	if (*why != NULL)
		return -EPROTO;
	/* Minor 1's extension; a minor 0 peer sends none and offers no offload. */
	if (ctl_extended(m->type) && hdr_len >= SHMLINK_CTL_HDR_LEN_1_1) {
		m->minor = get_le16(buf + CTL_OFF_MINOR);
		if (m->minor >= 1)
			m->offloads = get_le16(buf + CTL_OFF_OFFLOAD) & SHMLINK_CTL_O_KNOWN;
	}
	if (m->type == SHMLINK_CTL_REJECT) {
		uint32_t i;

		/* Keep the text printable: it goes to logs. */
		for (i = 0; i < text_len; i++) {
			char c = (char)buf[hdr_len + i];

			m->text[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
		}
		m->text[text_len] = '\0';
	}
	return 0;
}

int
shmlink_ctl_send(int sock, const struct shmlink_ctl_msg *m, const int *fds, unsigned int nfds)
{
	uint8_t buf[SHMLINK_CTL_MSG_MAX];
	union {
		char raw[CMSG_SPACE(sizeof(int) * SHMLINK_CTL_FDS_PER_QP)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = shmlink_ctl_encode(m, buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t rc;

	if (nfds > SHMLINK_CTL_FDS_PER_QP)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.raw;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		rc = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return (size_t)rc == iov.iov_len ? 0 : -EMSGSIZE;
}

/* Collect the FDs of a received message; close all of them if there are too many. */
static int
ctl_take_fds(struct msghdr *mh, int *fds, unsigned int max_fds, unsigned int *nfds)
{
	struct cmsghdr *c;
	unsigned int n = 0;
	bool too_many = false;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		unsigned int k, cnt;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (k = 0; k < cnt; k++) {
			memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (n < max_fds)
				fds[n++] = fd;
			else {
				close(fd);
				too_many = true;
			}
		}
	}
	*nfds = n;
	if (too_many || (mh->msg_flags & MSG_CTRUNC)) {
		while (n > 0)
			close(fds[--n]);
		*nfds = 0;
		return -EPROTO;
	}
	return 0;
}

int
shmlink_ctl_recv(int sock, struct shmlink_ctl_msg *m, int *fds, unsigned int max_fds,
		unsigned int *nfds, int timeout_ms, const char **why)
{
	uint8_t buf[SHMLINK_CTL_MSG_MAX + 1];	/* one more: to see a message too long */
	union {
		char raw[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS_SEEN)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl.raw, .msg_controllen = sizeof(ctrl.raw),
	};
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	ssize_t len;
	int rc;

	*nfds = 0;
	*why = NULL;
	do {
		rc = poll(&pfd, 1, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (rc == 0) {
		*why = "timed out waiting for a control message";
		return -ETIMEDOUT;
	}
	do {
		len = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (len < 0 && errno == EINTR);
	if (len < 0)
		return -errno;
	if (ctl_take_fds(&mh, fds, max_fds, nfds) != 0) {
		*why = "too many FDs in a control message";
		return -ETOOMANYREFS;
	}
	if (len == 0 && *nfds == 0) {
		*why = "the peer closed the connection";
		return -ECONNRESET;
	}
	if ((mh.msg_flags & MSG_TRUNC) || len > SHMLINK_CTL_MSG_MAX) {
		rc = -EPROTO;
		*why = "control message longer than 256 bytes";
	} else {
		rc = shmlink_ctl_decode(buf, (uint32_t)len, m, why);
	}
	if (rc != 0) {
		while (*nfds > 0)
			close(fds[--(*nfds)]);
	}
	return rc;
}

int
shmlink_ctl_reject(int sock, uint32_t reason, const char *fmt, ...)
{
	struct shmlink_ctl_msg m = { .type = SHMLINK_CTL_REJECT, .reason = reason };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	return shmlink_ctl_send(sock, &m, NULL, 0);
}
