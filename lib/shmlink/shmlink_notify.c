/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#include <errno.h>
#include <poll.h>
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

bool
shmlink_notify_kick(const struct shmlink_notify *n)
{
	uint64_t one = 1;
	ssize_t rc;

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
	uint64_t v;
	ssize_t rc;

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
