/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The attach handshake (shmlink_attach.c) against a peer whose messages and file
 * descriptors are fuzzed, over a real AF_UNIX SOCK_SEQPACKET socketpair.
 *
 * Input:  u8 side and settings | messages...
 *   side bit 0 clear: we are the connecting side (shmlink_attach_answer): the peer's
 *   offers are queued on the socket, then its end is shut down, then we answer.
 *   side bit 0 set: we are the listening side (shmlink_attach_offer): the peer's answer
 *   is queued before we offer.
 * Each message is either raw bytes or a header built from fuzzed fields and then
 * mutated, and carries 0 to 12 FDs: by default the right kind for each index (sealed
 * memfds of chosen sizes, pipes starting with the free word, eventfds), or a wrong one:
 * unsealed, read-only, zero-length, too small, larger than 4 GiB, a pipe, a socket, a
 * directory, /dev/null.
 *
 * Checked: every FD the library received is closed again (the process's open FDs are
 * the same before and after) and no queue file stays mapped once the link is released;
 * a refused offer is answered with a REJECT that decodes, an accepted one with an
 * ACCEPT that states what was offered; an attached link has every queue mapped.
 */

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "shmlink.h"

#define MAX_MSGS	4
#define MAX_FDS		12

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	FZ_CHECK(d != NULL, "opendir /proc/self/fd");
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Mappings of files whose name contains @word (memfds show as /memfd:NAME). */
static int
count_maps(const char *word)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	FZ_CHECK(f != NULL, "fopen /proc/self/maps");
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, word) != NULL;
	fclose(f);
	return n;
}

static int
memfd_of(uint64_t size, bool pipe, bool sealed)
{
	int fd = memfd_create("fzpeer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint64_t free_word = SHMLINK_PIPE_SLOT_FREE;

	FZ_CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0, "memfd of %llu bytes",
			(unsigned long long)size);
	if (pipe && size >= 8)
		FZ_CHECK(pwrite(fd, &free_word, 8, 0) == 8, "pwrite");
	if (sealed)
		FZ_CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0,
				"seal");
	return fd;
}

/* One FD for index @i of a queue pair's ten: the right kind, or a fuzzed wrong one. */
static int
make_fd(struct fz_in *in, unsigned int i, uint8_t sizes)
{
	static const uint64_t data_sz[] = { 8192, 2048, 100 };
	static const uint64_t pipe_sz[] = { 4096, 24, 23, 1024 };
	static const uint64_t shared_sz[] = { 4096, 4, 3 };
	unsigned int k = i % SHMLINK_QFD_COUNT;
	uint8_t m = fz_u8(in);
	int fd, sp[2];

	if (m < 224) {
		switch (k) {
		case SHMLINK_QFD_DATA:
			return memfd_of(data_sz[sizes % 3], false, true);
		case SHMLINK_QFD_EVENT:
			return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		case SHMLINK_QFD_SHARED:
			return memfd_of(shared_sz[(sizes >> 4) % 3], false, true);
		default:
			return memfd_of(pipe_sz[(sizes >> 2) % 4], true, true);
		}
	}
	switch (m % 10) {
	case 0:		/* unsealed */
		return memfd_of(k == SHMLINK_QFD_DATA ? 8192 : 4096, k != SHMLINK_QFD_DATA,
				false);
	case 1:		/* read-only */
		fd = memfd_of(4096, true, true);
		{
			char path[64];
			int ro;

			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			ro = open(path, O_RDONLY | O_CLOEXEC);
			close(fd);
			FZ_CHECK(ro >= 0, "reopen read-only");
			return ro;
		}
	case 2:
		return memfd_of(0, false, true);
	case 3:		/* larger than 4 GiB (sparse) */
		return memfd_of((UINT64_C(1) << 32) + 4096, true, true);
	case 4:
		FZ_CHECK(pipe2(sp, O_CLOEXEC) == 0, "pipe");
		close(sp[1]);
		return sp[0];
	case 5:
		FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "socketpair");
		close(sp[1]);
		return sp[0];
	case 6:
		return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	case 7:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case 8:
		return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	default:
		return memfd_of(4096, true, true);
	}
}

/* Build one message from the input: raw bytes, or fields encoded and then mutated. */
static uint32_t
make_msg(struct fz_in *in, uint8_t *buf, bool answer_side)
{
	static const uint32_t bufsz[] = { 2048, 0, 256, 1u << 20, 9000, 8192 };
	uint8_t how = fz_u8(in);
	struct shmlink_ctl_msg m;
	uint32_t len, n;

	if (how >= 240) {	/* raw */
		len = fz_u8(in) + (how & 1 ? 64 : 0);
		if (len > SHMLINK_CTL_MSG_MAX + 8)
			len = SHMLINK_CTL_MSG_MAX + 8;
		fz_bytes(in, buf, len);
		return len;
	}
	memset(&m, 0, sizeof(m));
	m.type = how % 8 < 6 ? (answer_side ? SHMLINK_CTL_OFFER : SHMLINK_CTL_ACCEPT) :
			1 + how % 4;
	m.role = fz_u8(in) % 3;
	m.nb_qp = 1 + fz_u8(in) % 3;
	m.qp = fz_u8(in) % 3;
	m.flags = fz_u8(in) % 5;
	m.mtu = fz_u8(in) & 1 ? fz_u32(in) : 1500;
	m.buffer_size = bufsz[fz_u8(in) % 6];
	m.reason = fz_u8(in) % 10;
	if (m.type == SHMLINK_CTL_REJECT)
		fz_bytes(in, m.text, fz_u8(in) % (SHMLINK_CTL_TEXT_MAX + 1));
	len = shmlink_ctl_encode(&m, buf);
	/* A few byte flips anywhere in the message. */
	for (n = fz_u8(in) % 4; n > 0 && len > 0; n--) {
		uint32_t at = fz_u8(in) % len;

		buf[at] = fz_u8(in);
	}
	return len;
}

static int
send_msg(int sock, const uint8_t *buf, uint32_t len, const int *fds, unsigned int nfds)
{
	union {
		char raw[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

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
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}

/* Read what the library sent us; close the FDs that came with it. Returns the number
 * of messages; @last gets the last one decoded (type 0 if it did not decode). */
static unsigned int
drain(int sock, struct shmlink_ctl_msg *last)
{
	unsigned int n = 0;

	for (;;) {
		uint8_t buf[SHMLINK_CTL_MSG_MAX + 1];
		union {
			char raw[CMSG_SPACE(sizeof(int) * 64)];
			struct cmsghdr align;
		} ctrl;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctrl.raw, .msg_controllen = sizeof(ctrl.raw) };
		struct cmsghdr *c;
		const char *why;
		ssize_t len = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (len <= 0)
			return n;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			unsigned int k, cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (k = 0; k < cnt; k++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
				close(fd);
			}
		}
		if (shmlink_ctl_decode(buf, (uint32_t)len, last, &why) != 0)
			last->type = 0;
		n++;
	}
}

static void
check_released(const struct shmlink_attach *a)
{
	unsigned int i;

	for (i = 0; i < SHMLINK_CTL_MAX_QUEUE_PAIRS; i++)
		FZ_CHECK(a->txq[i].data == NULL && a->rxq[i].data == NULL &&
				a->txq[i].notify.efd < 0 && a->rxq[i].notify.efd < 0,
				"queue pair %u still mapped", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t side = fz_u8(&in);
	bool listener = side & 1;
	struct shmlink_attach_conf conf = {
		.role = side & 2 ? SHMLINK_ROLE_SERVER : SHMLINK_ROLE_CLIENT,
		.role_any = side & 4,
		.nb_qp = 1 + ((side >> 3) & 1),
		.flags = (side >> 4) & 3,
		.mtu = 1500,
		.buffer_size = side & 64 ? 256 : 2048,
		.sizes = { 8192, 4096, 4096, 4096 },
		.timeout_ms = 1,
		.allow_unsealed = side & 128,
	};
	static struct shmlink_attach a;
	struct shmlink_ctl_msg last;
	unsigned int nmsg = 0;
	int fds_before, sp[2], rc;
	char why[256];

	fds_before = count_fds();
	FZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0, "socketpair");
	while (fz_more(&in) && nmsg < MAX_MSGS) {
		uint8_t buf[SHMLINK_CTL_MSG_MAX + 8];
		uint32_t len = make_msg(&in, buf, !listener);
		uint8_t nf = fz_u8(&in), sizes = fz_u8(&in);
		unsigned int nfds = nf < 200 ? (listener ? 0 : SHMLINK_CTL_FDS_PER_QP) :
				nf % (MAX_FDS + 1);
		int fds[MAX_FDS];
		unsigned int i;

		for (i = 0; i < nfds; i++)
			fds[i] = make_fd(&in, i, sizes);
		send_msg(sp[1], buf, len, fds, nfds);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		nmsg++;
	}
	/* Nothing more comes from the peer: a wait for it ends at once. */
	if (!listener || fz_u8(&in) & 1)
		shutdown(sp[1], SHUT_WR);

	if (listener) {
		rc = shmlink_attach_offer(sp[0], &conf, &a, why, sizeof(why));
		if (rc == 0) {
			FZ_CHECK(a.peer.type == SHMLINK_CTL_ACCEPT && a.peer.role != conf.role &&
					a.peer.nb_qp == conf.nb_qp && a.peer.flags == conf.flags,
					"attached on an answer that is not our offer's accept");
			FZ_CHECK(a.nb_qp == conf.nb_qp && a.txq[a.nb_qp - 1].data != NULL,
					"attached without mapped queues");
		}
		(void)drain(sp[1], &last);
	} else {
		rc = shmlink_attach_answer(sp[0], &conf, &a, why, sizeof(why));
		nmsg = drain(sp[1], &last);
		if (rc == 0) {
			FZ_CHECK(nmsg == 1 && last.type == SHMLINK_CTL_ACCEPT &&
					last.role == a.peer.role && last.nb_qp == a.nb_qp,
					"attached, but %u answers, the last of type %u", nmsg,
					last.type);
			FZ_CHECK(a.nb_qp >= 1 && a.nb_qp <= SHMLINK_CTL_MAX_QUEUE_PAIRS &&
					a.txq[a.nb_qp - 1].data != NULL &&
					a.rxq[a.nb_qp - 1].data != NULL,
					"attached without mapped queues");
			if (!conf.role_any)
				FZ_CHECK(a.role == conf.role, "took role %d", a.role);
		} else if (rc == -EPROTO) {
			FZ_CHECK(nmsg == 1 && last.type == SHMLINK_CTL_REJECT &&
					last.reason >= SHMLINK_CTL_R_BUSY &&
					last.reason <= SHMLINK_CTL_R_INTERNAL,
					"refused, but %u answers, the last of type %u", nmsg,
					last.type);
		}
	}
	FZ_TRACE("%s: rc %d: %s\n", listener ? "offer" : "answer", rc, rc != 0 ? why : "");
	if (rc != 0)
		check_released(&a);
	shmlink_attach_release(&a);
	check_released(&a);
	close(sp[0]);
	close(sp[1]);
	FZ_CHECK(count_fds() == fds_before, "%d FDs open, %d before", count_fds(), fds_before);
	FZ_CHECK(count_maps("memfd:shmlink-") == 0 && count_maps("memfd:fzpeer") == 0,
			"queue files still mapped");
	return 0;
}
