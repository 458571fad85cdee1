/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Control protocol 1.1: the encoder against the bytes of the specification's worked
 * example (doc/guides/prog/control_protocol.rst), the decoder's checks (and a 1.0 peer's
 * messages), FD passing, the attach handshake with its reject paths, and the checksum
 * offloads every pair of sides agrees on, over socketpairs.
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

/* The OFFER of the worked example: server listener, 1 qp, eth, MTU 1500, 2048 B, both
 * checksum offloads said; version 1.1, a 72-byte header. */
static const uint8_t example_offer[72] = {
	0x53, 0x48, 0x4d, 0x4c, 0x01, 0x00, 0x48, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xdc, 0x05, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x01, [64] = 0x01, [66] = 0x03,
};
/* The example's ACCEPT: the connector took the client role and says csum_tx. */
static const uint8_t example_accept[72] = {
	0x53, 0x48, 0x4d, 0x4c, 0x01, 0x00, 0x48, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xdc, 0x05, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x02, [64] = 0x01, [66] = 0x01,
};
/* The same offer from a 1.0 listener: the 64-byte header, no offload. */
static const uint8_t example_offer_1_0[64] = {
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
		.offloads = SHMLINK_CTL_O_CSUM_TX | SHMLINK_CTL_O_CSUM_RX,
	};
	struct shmlink_ctl_msg r = { .type = SHMLINK_CTL_REJECT, .offloads = 3 };
	uint8_t buf[SHMLINK_CTL_MSG_MAX];
	struct shmlink_ctl_msg d;
	const char *why;
	uint32_t len;

	len = shmlink_ctl_encode(&m, buf);
	CHECK(len == 72, "offer length %u", len);
	CHECK(memcmp(buf, example_offer, 72) == 0, "offer bytes differ from the spec");
	CHECK(shmlink_ctl_decode(buf, len, &d, &why) == 0, "decode: %s", why);
	CHECK(d.type == m.type && d.role == m.role && d.nb_qp == 1 && d.mtu == 1500 &&
			d.buffer_size == 2048 && memcmp(d.mac, m.mac, 6) == 0 && d.minor == 1 &&
			d.offloads == 3, "round trip");

	m.type = SHMLINK_CTL_ACCEPT;
	m.mac[5] = 2;
	m.offloads = SHMLINK_CTL_O_CSUM_TX;
	len = shmlink_ctl_encode(&m, buf);
	CHECK(len == 72 && memcmp(buf, example_accept, 72) == 0,
			"accept bytes differ from the spec");

	/* A 1.0 peer's offer: minor 0, no offload. */
	CHECK(shmlink_ctl_decode(example_offer_1_0, 64, &d, &why) == 0 && d.minor == 0 &&
			d.offloads == 0, "1.0 offer: %s, minor %u offloads %u", why, d.minor,
			d.offloads);
	/* Offload bits a later minor version defines are not ours to act on. */
	memcpy(buf, example_offer, 72);
	buf[66] = 0xff;
	buf[67] = 0xff;
	CHECK(shmlink_ctl_decode(buf, 72, &d, &why) == 0 && d.offloads == 3,
			"unknown offload bits: offloads 0x%x", d.offloads);
	/* Minor 0 in a 72-byte header: the offload field means nothing. */
	buf[64] = 0;
	CHECK(shmlink_ctl_decode(buf, 72, &d, &why) == 0 && d.offloads == 0, "minor 0");
	/* A REJECT keeps the 64-byte header: its text still fits in 256 bytes. */
	memset(r.text, 'x', SHMLINK_CTL_TEXT_MAX);
	len = shmlink_ctl_encode(&r, buf);
	CHECK(len == SHMLINK_CTL_MSG_MAX && buf[6] == 64, "reject length %u, header %u",
			len, buf[6]);
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
		memcpy(buf, example_offer_1_0, 64);
		buf[cases[i].off] = cases[i].val;
		why = NULL;
		CHECK(shmlink_ctl_decode(buf, 64, &d, &why) == -EPROTO && why != NULL,
				"%s accepted", cases[i].what);
	}
	CHECK(shmlink_ctl_decode(example_offer, 63, &d, &why) == -EPROTO, "63 bytes accepted");
	CHECK(shmlink_ctl_decode(example_offer, 4, &d, &why) == -EPROTO, "4 bytes accepted");

	/* A longer header (a later extension) is accepted, its extra bytes ignored. */
	memcpy(buf, example_offer, 72);
	memset(buf + 72, 0xee, 8);
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
	memcpy(msg, example_offer_1_0, 64);
	msg[0] = 0;
	expect_reject("bad magic", msg, 64, efd, 10, SHMLINK_CTL_R_PROTOCOL);
	memcpy(msg, example_offer_1_0, 64);
	msg[4] = 9;
	expect_reject("version 9", msg, 64, efd, 10, SHMLINK_CTL_R_PROTOCOL);
	expect_reject("truncated", example_offer_1_0, 40, efd, 10, SHMLINK_CTL_R_PROTOCOL);
	expect_reject("no FDs", example_offer_1_0, 64, -1, 0, SHMLINK_CTL_R_FDS);
	expect_reject("9 FDs", example_offer_1_0, 64, efd, 9, SHMLINK_CTL_R_FDS);
	expect_reject("pipes for files", example_offer_1_0, 64, pfd[0], 10, SHMLINK_CTL_R_FDS);
	expect_reject("eventfds for files", example_offer_1_0, 64, efd, 10, SHMLINK_CTL_R_FDS);
	memcpy(msg, example_offer_1_0, 64);
	msg[14] = SHMLINK_CTL_F_RAW_IP;
	expect_reject("framing differs", msg, 64, efd, 10, SHMLINK_CTL_R_CONFIG);
	memcpy(msg, example_offer_1_0, 64);
	msg[10] = 2;
	expect_reject("queue count differs", msg, 64, efd, 10, SHMLINK_CTL_R_CONFIG);
	close(efd);
	close(pfd[0]);
	close(pfd[1]);
}

/* A listener that goes silent or hangs up leaves the handshake unfinished: not a bad
 * offer (-EPROTO) but an error worth trying again after; the silent one hears why. */
static void
test_answer_unfinished(void)
{
	struct shmlink_attach_conf c = answer_conf;
	struct shmlink_ctl_msg r;
	struct shmlink_attach a;
	char why[256] = "";
	const char *rwhy;
	unsigned int n;
	int sv[2], rfds[1], rc;

	c.timeout_ms = 50;
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	rc = shmlink_attach_answer(sv[1], &c, &a, why, sizeof(why));
	CHECK(rc == -ETIMEDOUT, "silent listener: %d (%s), want -ETIMEDOUT", rc, why);
	CHECK(shmlink_ctl_recv(sv[0], &r, rfds, 0, &n, 1000, &rwhy) == 0 &&
			r.type == SHMLINK_CTL_REJECT && r.reason == SHMLINK_CTL_R_INTERNAL &&
			strcmp(r.text, why) == 0, "silent listener: no reject that says why");
	close(sv[0]);
	close(sv[1]);

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	close(sv[0]);
	rc = shmlink_attach_answer(sv[1], &c, &a, why, sizeof(why));
	CHECK(rc == -ECONNRESET, "listener gone: %d (%s), want -ECONNRESET", rc, why);
	close(sv[1]);
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

/* One handshake in one thread, listener offloads @lo (@lreq required), connector @co
 * (@creq). Returns the listener's result; the agreed offloads in *lagreed, *cagreed. */
static int
negotiate(uint16_t lo, uint16_t lreq, uint16_t co, uint16_t creq, uint16_t *lagreed,
		uint16_t *cagreed, int *crc)
{
	struct shmlink_attach_conf lc = {
		.role = SHMLINK_ROLE_SERVER, .nb_qp = 1, .mtu = 1500, .buffer_size = 2048,
		.offloads = lo, .offloads_required = lreq,
	};
	struct shmlink_attach_conf cc = answer_conf;
	struct shmlink_attach_hs l, c;
	char why[256] = "";
	int sv[2], rc;

	memset(&l, 0, sizeof(l));
	memset(&c, 0, sizeof(c));
	if (!CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0,
			"socketpair"))
		return -1;
	cc.offloads = co;
	cc.offloads_required = creq;
	rc = shmlink_attach_begin(&l, sv[0], &lc, true, why, sizeof(why));
	if (rc == -EINPROGRESS)
		rc = shmlink_attach_begin(&c, sv[1], &cc, false, why, sizeof(why));
	*crc = rc == -EINPROGRESS ? shmlink_attach_step(&c, why, sizeof(why)) : rc;
	rc = shmlink_attach_step(&l, why, sizeof(why));
	*lagreed = l.a.offloads;
	*cagreed = c.a.offloads;
	if (*crc == 0)
		shmlink_attach_release(&c.a);
	if (rc == 0)
		shmlink_attach_release(&l.a);
	else if (rc == -EINPROGRESS)
		shmlink_attach_abort(&l);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

/* Every pair of what the two sides say: each side agrees on the same two directions,
 * mirrored; a side that requires what the other does not say gets no link. */
static void
test_offload_agreement(void)
{
	const uint16_t tx = SHMLINK_CTL_O_CSUM_TX, rx = SHMLINK_CTL_O_CSUM_RX;
	uint16_t lo, co, la, ca;
	int lrc, crc;

	for (lo = 0; lo < 4; lo++) {
		for (co = 0; co < 4; co++) {
			uint16_t want_l = ((lo & tx) && (co & rx) ? tx : 0) |
				((lo & rx) && (co & tx) ? rx : 0);
			uint16_t want_c = ((co & tx) && (lo & rx) ? tx : 0) |
				((co & rx) && (lo & tx) ? rx : 0);

			lrc = negotiate(lo, 0, co, 0, &la, &ca, &crc);
			CHECK(lrc == 0 && crc == 0, "L 0x%x C 0x%x: rc %d %d", lo, co, lrc, crc);
			CHECK(la == want_l && ca == want_c, "L 0x%x C 0x%x: agreed 0x%x 0x%x, "
					"want 0x%x 0x%x", lo, co, la, ca, want_l, want_c);
		}
	}
	/* The connector requires the listener's unfilled checksums: not said, rejected. */
	lrc = negotiate(rx, 0, rx, rx, &la, &ca, &crc);
	CHECK(crc == -EPROTO && lrc == -ECONNREFUSED, "connector requirement: %d %d", crc,
			lrc);
	/* The listener requires to send them: the connector does not take them. */
	lrc = negotiate(tx, tx, 0, 0, &la, &ca, &crc);
	CHECK(crc == 0 && lrc == -EPROTO, "listener requirement: %d %d", crc, lrc);
	lrc = negotiate(tx, tx, rx, 0, &la, &ca, &crc);
	CHECK(crc == 0 && lrc == 0 && la == tx, "listener requirement met: %d %d 0x%x", crc,
			lrc, la);
}

int
main(void)
{
	test_encode_example();
	test_decode_rejects();
	test_reject_text();
	test_too_many_fds();
	test_answer_rejects();
	test_answer_unfinished();
	test_attach_pair(false);
	test_attach_pair(true);
	test_attach_nonblocking();
	test_offload_agreement();
	return check_report("test_ctl");
}
