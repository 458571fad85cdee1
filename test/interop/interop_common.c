/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmlink_pipe.h>

#include "interop_common.h"

/* Must match ilib.pipeCaps: small payloads mostly, the whole ring one draw in 8. */
static const uint64_t pipe_caps[8] = { 16, 16, 16, 16, 128, 128, 1024, UINT64_MAX };
/* Must match ilib.frameCaps. */
static const uint64_t frame_caps[8] = { 64, 64, 256, 1500, 1500, 3000, UINT64_MAX, UINT64_MAX };

static const char *test_name = "interop";
static volatile pid_t peer_pid = -1;
static int peer_status;		/* the exit status, once reaped */

uint64_t
interop_pipe_msg_size(struct irng *r, uint64_t max_payload)
{
	uint64_t v = irng_next(r);
	uint64_t c = pipe_caps[v & 7];

	if (c > max_payload)
		c = max_payload;
	return (v >> 8) % (c + 1);
}

uint64_t
interop_frame_l3_len(struct irng *r, uint64_t min_len, uint64_t max_len)
{
	uint64_t v = irng_next(r);
	uint64_t c = frame_caps[v & 7];

	if (c > max_len)
		c = max_len;
	if (c < min_len)
		c = min_len;
	return min_len + (v >> 8) % (c - min_len + 1);
}

void
interop_fill_pattern(uint8_t *b, size_t len, struct irng *r, uint64_t seq)
{
	size_t off, i;

	for (off = 0; off < len; off += 8) {
		uint64_t v = off == 0 ? seq : irng_next(r);

		for (i = 0; i < 8 && off + i < len; i++)
			b[off + i] = (uint8_t)(v >> (8 * i));
	}
}

void
interop_fill_frame(uint8_t *b, size_t len, struct irng *r, uint64_t seq)
{
	uint8_t h[8] = { 0x45, 0,
		(uint8_t)(len >> 8), (uint8_t)len,
		(uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8), (uint8_t)seq };

	interop_fill_pattern(b, len, r, seq);
	memcpy(b, h, len < sizeof(h) ? len : sizeof(h));
}

int64_t
interop_first_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return (int64_t)i;
	return alen == blen ? -1 : (int64_t)n;
}

uint64_t
interop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
interop_idle(struct interop_backoff *b)
{
	/* The peer may be waiting for our CPU (2-core CI): yield, then sleep briefly. */
	static const struct timespec nap = { .tv_nsec = 20000 };

	if (++b->n < 256)
		sched_yield();
	else
		nanosleep(&nap, NULL);
}

static void
kill_peer(void)
{
	pid_t pid = peer_pid;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		peer_pid = -1;
	}
}

static void
on_alarm(int sig)
{
	static const char msg[] = ": FAIL: the test did not finish in time (watchdog)\n";
	pid_t pid = peer_pid;

	(void)sig;
	if (pid > 0)
		kill(pid, SIGKILL);
	if (write(STDERR_FILENO, test_name, strlen(test_name)) < 0 ||
			write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(4);
	_exit(3);
}

void
interop_watchdog(const char *test, unsigned int seconds)
{
	test_name = test;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(seconds);
	atexit(kill_peer);
}

void
interop_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: FAIL: ", test_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	kill_peer();
	exit(1);
}

pid_t
interop_spawn(char *const argv[], const int *fds, int nfds, int in_fd, int out_fd)
{
	pid_t pid;
	int i;

	if (peer_pid > 0)
		interop_fail("a peer is already running");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		interop_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int tmp[16];

		if (nfds > 16)
			_exit(127);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Move everything out of the way first: a source may sit on a target slot. */
		for (i = 0; i < nfds; i++) {
			tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
			if (tmp[i] < 0)
				_exit(127);
		}
		if (in_fd >= 0 && dup2(in_fd, STDIN_FILENO) < 0)
			_exit(127);
		if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
			_exit(127);
		/* dup2 leaves the targets without FD_CLOEXEC, so exactly these are inherited. */
		for (i = 0; i < nfds; i++)
			if (dup2(tmp[i], 3 + i) < 0)
				_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	peer_pid = pid;
	return pid;
}

bool
interop_peer_exited(int *status)
{
	pid_t pid = peer_pid;

	if (pid <= 0) {
		*status = peer_status;
		return true;
	}
	if (waitpid(pid, status, WNOHANG) == pid) {
		peer_status = *status;
		peer_pid = -1;
		return true;
	}
	return false;
}

bool
interop_peer_gone(int *status)
{
	static bool seen;

	if (!interop_peer_exited(status))
		return false;
	if (!seen) {
		seen = true;
		return false;
	}
	return true;
}

static int
exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "%s: the peer died of signal %d\n", test_name,
			WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	return -1;
}

int
interop_wait_peer(int timeout_ms)
{
	static const struct timespec nap = { .tv_nsec = 5000000 };
	uint64_t end = interop_now_ms() + (uint64_t)timeout_ms;
	int status;

	while (interop_now_ms() < end) {
		if (interop_peer_exited(&status))
			return exit_code(status);
		nanosleep(&nap, NULL);
	}
	fprintf(stderr, "%s: the peer did not exit within %d ms; killed\n", test_name,
			timeout_ms);
	kill_peer();
	return -1;
}

int
interop_ring_file(const char *name, uint64_t size)
{
	uint64_t free_word = SHMLINK_PIPE_SLOT_FREE;
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		interop_fail("memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) != 0 ||
			pwrite(fd, &free_word, sizeof(free_word), 0) != sizeof(free_word))
		interop_fail("sizing ring file %s: %s", name, strerror(errno));
	return fd;
}
