/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#include <errno.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shmlink_notify.h"

bool
shmlink_notify_wanted(const struct shmlink_notify *n)
{
	/* Order the release store of the ring header before the load of the word. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(n->word, __ATOMIC_SEQ_CST) != SHMLINK_NOTIFY_OFF;
}

bool
shmlink_notify_signal(const struct shmlink_notify *n)
{
	if (!shmlink_notify_wanted(n))
		return false;
	return shmlink_notify_kick(n);
}

/*
 * The peer shares each eventfd's open file, and with it O_NONBLOCK, which it can clear:
 * a read of an empty counter or a write to a full one would then block the caller (an
 * lcore). Reads ask the kernel not to wait (RWF_NOWAIT); a write comes only after
 * poll() says the counter takes one more.
 */

bool
shmlink_notify_kick(const struct shmlink_notify *n)
{
	struct pollfd pfd = { .fd = n->efd, .events = POLLOUT };
	uint64_t one = 1;
	ssize_t rc;

	/* A full counter is a signal already there. */
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT))
		return false;
	/* Only ever 1: a larger value could bring the peer's counter near 2^64 and make
	 * its own writes fail (gVisor panics then). EAGAIN means it is already signalled. */
	do {
		rc = write(n->efd, &one, sizeof(one));
	} while (rc < 0 && errno == EINTR);
	return rc == sizeof(one);
}

void
shmlink_notify_disarm(const struct shmlink_notify *n)
{
	__atomic_store_n(n->word, SHMLINK_NOTIFY_OFF, __ATOMIC_SEQ_CST);
}

void
shmlink_notify_arm(const struct shmlink_notify *n)
{
	__atomic_store_n(n->word, SHMLINK_NOTIFY_ON, __ATOMIC_SEQ_CST);
	/* Order the store of the word before the caller's re-poll of the ring. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool
shmlink_notify_drain(const struct shmlink_notify *n)
{
	struct pollfd pfd = { .fd = n->efd, .events = POLLIN };
	uint64_t v;
	struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };
	ssize_t rc;

	do {
		rc = preadv2(n->efd, &iov, 1, -1, RWF_NOWAIT);
	} while (rc < 0 && errno == EINTR);
	if (rc >= 0 || (errno != EOPNOTSUPP && errno != EINVAL))
		return rc == sizeof(v);
	/* Linux before 5.12 (no RWF_NOWAIT on eventfds): poll first, as kicks do. */
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
		return false;
	do {
		rc = read(n->efd, &v, sizeof(v));
	} while (rc < 0 && errno == EINTR);
	return rc == sizeof(v);
}

int
shmlink_notify_wait(const struct shmlink_notify *n, int timeout_ms)
{
	struct pollfd pfd = { .fd = n->efd, .events = POLLIN };
	int rc;

	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	if (rc == 0)
		return 0;
	if (pfd.revents & (POLLERR | POLLNVAL))
		return -EBADF;
	shmlink_notify_drain(n);
	return 1;
}
