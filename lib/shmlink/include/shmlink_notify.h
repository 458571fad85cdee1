/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_NOTIFY_H
#define SHMLINK_NOTIFY_H

/**
 * @file
 * Notification (spec §5): per queue, a u32 word at offset 0 of SharedData, written only
 * by the consumer of the queue's main direction, and an eventfd the producer writes 1 to
 * after a batch unless the word says 1 ("disabled"). The word and the ring form a
 * Dekker-style handshake, so both sides use sequentially consistent fences.
 *
 * Consumer sleep sequence, race-free:
 *   poll, empty -> shmlink_notify_arm() -> poll again -> if empty shmlink_notify_wait(),
 *   then poll again (repeat) -> found something -> shmlink_notify_disarm().
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Word values. Nobody writes 0 (the file starts zeroed); 0 and 2 both ask for a signal. */
#define SHMLINK_NOTIFY_UNSET	0u	/**< as created: signal, like SHMLINK_NOTIFY_ON */
#define SHMLINK_NOTIFY_OFF	1u	/**< consumer is polling: do not signal */
#define SHMLINK_NOTIFY_ON	2u	/**< consumer may sleep: signal after a batch */

/** One queue's notification: its shared word and its eventfd. */
struct shmlink_notify {
	uint32_t *word;	/**< the shared word (a SHMLINK_NOTIFY_* value) */
	int efd;	/**< the eventfd the producer writes to */
};

/**
 * Producer, after a batch was published: signal the consumer if its word is not
 * SHMLINK_NOTIFY_OFF. Writes only the value 1, ignores EAGAIN.
 * @return true if the eventfd was written.
 */
bool shmlink_notify_signal(const struct shmlink_notify *n);

/**
 * Write the eventfd whatever the word says: wakes a thread of our own that sleeps on
 * this eventfd (an rx interrupt) so that it polls the ring again. Writes only 1, ignores
 * EAGAIN (already signalled).
 * @return true if the eventfd was written.
 */
bool shmlink_notify_kick(const struct shmlink_notify *n);

/**
 * Producer: true if the consumer's word asks for a signal (not SHMLINK_NOTIFY_OFF),
 * with the same ordering of the published ring before the load as
 * shmlink_notify_signal().
 */
bool shmlink_notify_wanted(const struct shmlink_notify *n);

/** Consumer: say we poll (no signals wanted). */
void shmlink_notify_disarm(const struct shmlink_notify *n);

/** Consumer: say we may sleep. The caller must poll its ring again afterwards. */
void shmlink_notify_arm(const struct shmlink_notify *n);

/**
 * Consumer: wait until the eventfd is signalled, at most @p timeout_ms (-1: forever),
 * and drain its counter. @return 1 if signalled, 0 on timeout, -errno on error.
 */
int shmlink_notify_wait(const struct shmlink_notify *n, int timeout_ms);

/** Drain the eventfd's counter without waiting. @return true if it was non-zero. */
bool shmlink_notify_drain(const struct shmlink_notify *n);

#ifdef __cplusplus
}
#endif

#endif /* SHMLINK_NOTIFY_H */
