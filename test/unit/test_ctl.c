/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Control protocol v1: the encoder against the bytes of the specification's worked
 * example (doc/guides/prog/control_protocol.rst), the decoder's checks, FD passing, and
 * the attach handshake with its reject paths, over socketpairs.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmlink.h"
#include "../common/test_common.h"

/* The OFFER of the worked example: server listener, 1 qp, eth, MTU 1500, 2048 B. */
static const uint8_t example_offer[64] = {
	0x53, 0x48, 0x4d, 0x4c, 0x01, 0x00, 0x40, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xdc, 0x05, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x01,
};

static void
test_encode_example(void)
{
	struct shmlink_ctl_msg m = {
		.type = SHMLINK_CTL_OFFER, .role = SHMLINK_ROLE_CLIENT, .nb_qp = 1, .qp = 0,
		.mtu = 1500, .buffer_size = 2048, .mac = { 2, 0, 0, 0, 0, 1 },
	};
	uint8_t buf[SHMLINK_CTL_MSG_MAX];
	struct shmlink_ctl_msg d;
	const char *why;
	uint32_t len;

	len = shmlink_ctl_encode(&m, buf);
	CHECK(len == 64, "offer length %u", len);
	CHECK(memcmp(buf, example_offer, 64) == 0, "offer bytes differ from the spec");
	CHECK(shmlink_ctl_decode(buf, len, &d, &why) == 0, "decode: %s", why);
	CHECK(d.type == m.type && d.role == m.role && d.nb_qp == 1 && d.mtu == 1500 &&
			d.buffer_size == 2048 && memcmp(d.mac, m.mac, 6) == 0, "round trip");
}

/* One field changed at a time: each is refused with a reason. */
static void
test_decode_rejects(void)
{
	static const struct {
		unsigned int off;
		uint8_t val;
		const char *what;
	} cases[] = {
		{ 0, 0x54, "magic" }, { 4, 2, "version" }, { 6, 0x3f, "header length" },
		{ 6, 0xff, "header length past the message" }, { 8, 0, "type 0" },
		{ 8, 4, "type 4" }, { 9, 2, "role" }, { 10, 0, "qp count 0" },
		{ 10, 17, "qp count 17" }, { 12, 1, "qp index = count" }, { 14, 4, "flag bit 2" },
	};
	uint8_t buf[SHMLINK_CTL_MSG_MAX];
	struct shmlink_ctl_msg d;
	const char *why;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(buf, example_offer, 64);
		buf[cases[i].off] = cases[i].val;
		why = NULL;
		CHECK(shmlink_ctl_decode(buf, 64, &d, &why) == -EPROTO && why != NULL,
				"%s accepted", cases[i].what);
	}
	CHECK(shmlink_ctl_decode(example_offer, 63, &d, &why) == -EPROTO, "63 bytes accepted");
	CHECK(shmlink_ctl_decode(example_offer, 4, &d, &why) == -EPROTO, "4 bytes accepted");

	/* A longer header (a later extension) is accepted, its extra bytes ignored. */
	memcpy(buf, example_offer, 64);
	memset(buf + 64, 0xee, 16);
	buf[6] = 80;
	CHECK(shmlink_ctl_decode(buf, 80, &d, &why) == 0, "80-byte header refused: %s", why);
}

static void
test_reject_text(void)
{
	int sv[2];
	struct shmlink_ctl_msg m;
	const char *why;
	unsigned int nfds;
	int fds[1];

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	CHECK(shmlink_ctl_reject(sv[0], SHMLINK_CTL_R_ROLE, "role %s\x01", "server") == 0,
			"send reject");
	CHECK(shmlink_ctl_recv(sv[1], &m, fds, 0, &nfds, 1000, &why) == 0, "recv: %s", why);
	CHECK(m.type == SHMLINK_CTL_REJECT && m.reason == SHMLINK_CTL_R_ROLE, "reject fields");
	CHECK(strcmp(m.text, "role server?") == 0, "text '%s' (control bytes must be masked)",
			m.text);
	CHECK(strcmp(shmlink_ctl_reason_name(m.reason), "role") == 0, "reason name");
	close(sv[0]);
	CHECK(shmlink_ctl_recv(sv[1], &m, fds, 0, &nfds, 1000, &why) == -ECONNRESET, "EOF");
	close(sv[1]);
}

static int
count_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* FDs beyond what the receiver takes are closed, and the message refused. */
static void
test_too_many_fds(void)
{
	struct shmlink_ctl_msg m = { .type = SHMLINK_CTL_ACCEPT, .nb_qp = 1 };
	int sv[2], fds[3], got[2], before;
	const char *why;
	unsigned int nfds;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	fds[0] = eventfd(0, 0);
	fds[1] = eventfd(0, 0);
	fds[2] = eventfd(0, 0);
	before = count_fds();
	CHECK(shmlink_ctl_send(sv[0], &m, fds, 3) == 0, "send");
	CHECK(shmlink_ctl_recv(sv[1], &m, got, 2, &nfds, 1000, &why) == -ETOOMANYREFS &&
			nfds == 0,
			"3 FDs taken where 2 were allowed");
	CHECK(count_fds() == before, "FDs leaked: %d -> %d", before, count_fds());
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	close(sv[0]);
	close(sv[1]);
}

/* A raw message of @len bytes with @nfds copies of @fd, as a hostile listener sends. */
static void
send_raw(int sock, const uint8_t *buf, size_t len, int fd, unsigned int nfds)
{
	union {
		char raw[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int i;

	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.raw;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		for (i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	}
	if (sendmsg(sock, &mh, 0) < 0)
		perror("sendmsg");
}

static const struct shmlink_attach_conf answer_conf = {
	.role = SHMLINK_ROLE_CLIENT, .role_any = true, .nb_qp = 1, .mtu = 1500,
	.buffer_size = 2048, .mac = { 2, 0, 0, 0, 0, 2 }, .timeout_ms = 2000,
};

/* Answer a bad offer: the connector must reject with @reason and leak nothing. */
static void
expect_reject(const char *what, const uint8_t *msg, size_t len, int fd, unsigned int nfds,
		uint32_t reason)
{
	struct shmlink_attach a;
	struct shmlink_ctl_msg r;
	char why[256] = "";
	const char *rwhy;
	unsigned int n;
	int sv[2], rfds[1], before;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	before = count_fds();
	send_raw(sv[0], msg, len, fd, nfds);
	CHECK(shmlink_attach_answer(sv[1], &answer_conf, &a, why, sizeof(why)) != 0,
			"%s: accepted", what);
	CHECK(count_fds() == before, "%s: FDs leaked (%d -> %d)", what, before, count_fds());
	CHECK(shmlink_ctl_recv(sv[0], &r, rfds, 0, &n, 1000, &rwhy) == 0 &&
			r.type == SHMLINK_CTL_REJECT, "%s: no reject sent", what);
	CHECK(r.reason == reason, "%s: reason %u (%s), want %u; text: %s", what, r.reason,
			shmlink_ctl_reason_name(r.reason), reason, r.text);
	CHECK(r.text[0] != '\0' && strcmp(r.text, why) == 0, "%s: text '%s' vs log '%s'",
			what, r.text, why);
	close(sv[0]);
	close(sv[1]);
}

static void
test_answer_rejects(void)
{
	uint8_t msg[SHMLINK_CTL_MSG_MAX];
	int efd = eventfd(0, EFD_NONBLOCK);
	int pfd[2];

	REQUIRE(pipe(pfd) == 0, "pipe");
	memcpy(msg, example_offer, 64);
	msg[0] = 0;
	expect_reject("bad magic", msg, 64, efd, 10, SHMLINK_CTL_R_PROTOCOL);
	memcpy(msg, example_offer, 64);
	msg[4] = 9;
	expect_reject("version 9", msg, 64, efd, 10, SHMLINK_CTL_R_PROTOCOL);
	expect_reject("truncated", example_offer, 40, efd, 10, SHMLINK_CTL_R_PROTOCOL);
	expect_reject("no FDs", example_offer, 64, -1, 0, SHMLINK_CTL_R_FDS);
	expect_reject("9 FDs", example_offer, 64, efd, 9, SHMLINK_CTL_R_FDS);
	expect_reject("pipes for files", example_offer, 64, pfd[0], 10, SHMLINK_CTL_R_FDS);
	expect_reject("eventfds for files", example_offer, 64, efd, 10, SHMLINK_CTL_R_FDS);
	memcpy(msg, example_offer, 64);
	msg[14] = SHMLINK_CTL_F_RAW_IP;
	expect_reject("framing differs", msg, 64, efd, 10, SHMLINK_CTL_R_CONFIG);
	memcpy(msg, example_offer, 64);
	msg[10] = 2;
	expect_reject("queue count differs", msg, 64, efd, 10, SHMLINK_CTL_R_CONFIG);
	close(efd);
	close(pfd[0]);
	close(pfd[1]);
}

/* The full handshake in two processes; then a connector insisting on the other role. */
static void
test_attach_pair(bool insist_wrong_role)
{
	struct shmlink_attach_conf lc = {
		.role = SHMLINK_ROLE_SERVER, .nb_qp = 2, .mtu = 1500, .buffer_size = 2048,
		.mac = { 2, 0, 0, 0, 0, 1 }, .timeout_ms = 2000,
	};
	struct shmlink_attach a;
	char why[256] = "";
	int sv[2], status, rc;
	pid_t pid;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	pid = fork();
	REQUIRE(pid >= 0, "fork");
	if (pid == 0) {
		struct shmlink_attach_conf cc = answer_conf;

		close(sv[0]);
		cc.nb_qp = 2;
		if (insist_wrong_role) {
			cc.role_any = false;
			cc.role = SHMLINK_ROLE_SERVER;
		}
		rc = shmlink_attach_answer(sv[1], &cc, &a, why, sizeof(why));
		if (rc == 0 && (a.role != SHMLINK_ROLE_CLIENT || a.nb_qp != 2 ||
				a.txq[1].data_size != SHMLINK_DEFAULT_DATA_SIZE))
			rc = -1;
		_exit(rc == 0 ? 0 : 3);
	}
	close(sv[1]);
	rc = shmlink_attach_offer(sv[0], &lc, &a, why, sizeof(why));
	waitpid(pid, &status, 0);
	if (insist_wrong_role) {
		CHECK(rc == -ECONNREFUSED && strstr(why, "role") != NULL,
				"wrong role: rc %d, why '%s'", rc, why);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "connector accepted");
	} else {
		CHECK(rc == 0, "offer: %s", why);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "connector failed");
		CHECK(a.nb_qp == 2 && a.role == SHMLINK_ROLE_SERVER &&
				a.peer.type == SHMLINK_CTL_ACCEPT && a.peer.mac[5] == 2,
				"attach result");
		shmlink_attach_release(&a);
	}
	close(sv[0]);
}

static unsigned int
open_fds(void)
{
	unsigned int n = 0;
	int fd;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/*
 * The non-blocking handshake, both sides driven by one thread that never waits: a
 * connector that runs before any offer came, one queue pair's offer at a time, and a
 * listener that is not answered yet, all say -EINPROGRESS instead of blocking.
 */
static void
test_attach_nonblocking(void)
{
	struct shmlink_attach_conf lc = {
		.role = SHMLINK_ROLE_CLIENT, .nb_qp = 3, .mtu = 1500, .buffer_size = 2048,
		.mac = { 2, 0, 0, 0, 0, 1 },
	};
	struct shmlink_attach_conf cc = answer_conf;
	struct shmlink_attach_hs l, c;
	unsigned int fds_before = open_fds();
	char why[256] = "";
	int sv[2], rc;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0,
			"socketpair");
	cc.nb_qp = 3;
	CHECK(shmlink_attach_begin(&c, sv[1], &cc, false, why, sizeof(why)) ==
			-EINPROGRESS, "connector begin: %s", why);
	CHECK(shmlink_attach_step(&c, why, sizeof(why)) == -EINPROGRESS,
			"connector with nothing to read: %s", why);
	rc = shmlink_attach_begin(&l, sv[0], &lc, true, why, sizeof(why));
	CHECK(rc == -EINPROGRESS, "listener begin: %d %s", rc, why);
	CHECK(shmlink_attach_step(&l, why, sizeof(why)) == -EINPROGRESS,
			"listener before the answer: %s", why);
	rc = shmlink_attach_step(&c, why, sizeof(why));
	CHECK(rc == 0, "connector: %d %s", rc, why);
	CHECK(c.a.nb_qp == 3 && c.a.role == SHMLINK_ROLE_SERVER && c.next_qp == 3,
			"connector result: %u qp, role %d", c.a.nb_qp, c.a.role);
	rc = shmlink_attach_step(&l, why, sizeof(why));
	CHECK(rc == 0, "listener: %d %s", rc, why);
	CHECK(l.a.nb_qp == 3 && l.a.peer.type == SHMLINK_CTL_ACCEPT, "listener result");
	shmlink_attach_release(&c.a);
	shmlink_attach_release(&l.a);

	/* A listener given up on before its answer leaves nothing mapped or open. */
	rc = shmlink_attach_begin(&l, sv[0], &lc, true, why, sizeof(why));
	CHECK(rc == -EINPROGRESS, "second listener begin: %d %s", rc, why);
	shmlink_attach_abort(&l);
	close(sv[0]);
	close(sv[1]);
	CHECK(open_fds() == fds_before, "fds: %u before, %u after", fds_before, open_fds());
}

int
main(void)
{
	test_encode_example();
	test_decode_rejects();
	test_reject_text();
	test_too_many_fds();
	test_answer_rejects();
	test_attach_pair(false);
	test_attach_pair(true);
	test_attach_nonblocking();
	return check_report("test_ctl");
}
