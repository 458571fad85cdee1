/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Two threads, one writer and one reader, over two mappings of one memfd (as two
 * processes would map it): 10^7 messages of random sizes, order and every byte checked.
 * Then the notification handshake: the reader sleeps with the race-free sequence while
 * the writer signals after random delays; a lost wake-up shows as a reader that times
 * out although a message was published.
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shmlink_notify.h"
#include "shmlink_pipe.h"
#include "../common/test_common.h"

struct stress {
	uint64_t ring_size;
	uint64_t count;
	uint64_t seed;
	void *wmap;		/* writer's mapping */
	void *rmap;		/* reader's mapping */
	struct shmlink_notify notify;	/* word in its own mapping, eventfd */
	bool sleepy;		/* reader sleeps on the eventfd when idle */
	/* results */
	uint64_t received;
	uint64_t bad;
	uint64_t lost_wakeups;
	uint64_t sleeps;
	bool broken;
};

static uint32_t
stress_len(uint64_t *rng, uint32_t maxp)
{
	uint64_t r = check_rand(rng);

	/* Mostly small, sometimes up to the maximum, to hit wraps of every shape. */
	if (r % (maxp > 8192 ? 256 : 16) == 0)
		return (uint32_t)((r >> 8) % (maxp + 1));
	return (uint32_t)((r >> 8) % 64);
}

static void
stress_delay(uint64_t *rng)
{
	uint64_t r = check_rand(rng) % 1000;
	volatile uint64_t spin;

	if (r < 5)
		usleep(50);
	else
		for (spin = 0; spin < r; spin++)
			;
}

static void *
stress_writer(void *arg)
{
	struct stress *s = arg;
	struct shmlink_pipe_tx tx;
	uint64_t rng = s->seed, brng = s->seed ^ 0x5555, seq = 0;
	uint32_t maxp;

	if (shmlink_pipe_tx_init(&tx, s->wmap, s->ring_size) != 0)
		return NULL;
	maxp = shmlink_pipe_max_payload(tx.ring_len);
	while (seq < s->count) {
		unsigned int batch = 1 + check_rand(&brng) % 32, i;

		for (i = 0; i < batch && seq < s->count; i++) {
			uint64_t save = rng;
			uint32_t len = stress_len(&rng, maxp), j;
			uint8_t *p = shmlink_pipe_tx_push(&tx, len);

			if (p == NULL) {
				rng = save;	/* the same message again later */
				break;
			}
			for (j = 0; j < len; j++)
				p[j] = check_byte(seq, j);
			seq++;
		}
		shmlink_pipe_tx_flush(&tx);
		if (s->sleepy) {
			shmlink_notify_signal(&s->notify);
			stress_delay(&brng);
		} else if (i < batch) {
			sched_yield();
		}
		if (tx.broken)
			break;
	}
	return NULL;
}

/* Sleep until something is published; returns false on a lost wake-up. */
static bool
stress_sleep(struct stress *s, struct shmlink_pipe_rx *rx)
{
	uint64_t mark = shmlink_pipe_rx_mark(rx);
	uint32_t len;
	int rc;

	shmlink_notify_arm(&s->notify);
	for (;;) {
		if (shmlink_pipe_rx_pull(rx, &len) != NULL) {
			shmlink_pipe_rx_rewind(rx, mark);
			shmlink_notify_disarm(&s->notify);
			return true;
		}
		s->sleeps++;
		rc = shmlink_notify_wait(&s->notify, 5000);
		if (rc == 0) {
			/* Timed out: if a message is there now, its signal was lost. */
			bool there = shmlink_pipe_rx_pull(rx, &len) != NULL;

			shmlink_pipe_rx_rewind(rx, mark);
			shmlink_notify_disarm(&s->notify);
			return !there;
		}
	}
}

static void *
stress_reader(void *arg)
{
	struct stress *s = arg;
	struct shmlink_pipe_rx rx;
	uint64_t rng = s->seed, frng = s->seed ^ 0xaaaa;
	unsigned int since_flush = 0, flush_every = 1;
	uint32_t maxp;

	if (shmlink_pipe_rx_init(&rx, s->rmap, s->ring_size) != 0)
		return NULL;
	maxp = shmlink_pipe_max_payload(rx.ring_len);
	while (s->received < s->count) {
		uint32_t len, want, j;
		const uint8_t *p = shmlink_pipe_rx_pull(&rx, &len);

		if (p == NULL) {
			shmlink_pipe_rx_flush(&rx);
			since_flush = 0;
			if (rx.broken)
				break;
			if (s->sleepy && !stress_sleep(s, &rx))
				s->lost_wakeups++;
			else if (!s->sleepy)
				sched_yield();
			continue;
		}
		want = stress_len(&rng, maxp);
		if (len != want) {
			if (s->bad++ < 5)
				fprintf(stderr, "seq %" PRIu64 ": len %u want %u\n", s->received,
						len, want);
		} else {
			for (j = 0; j < len; j++) {
				if (p[j] != check_byte(s->received, j)) {
					if (s->bad++ < 5)
						fprintf(stderr, "seq %" PRIu64 ": byte %u\n",
								s->received, j);
					break;
				}
			}
		}
		s->received++;
		if (++since_flush >= flush_every) {
			shmlink_pipe_rx_flush(&rx);
			since_flush = 0;
			flush_every = 1 + check_rand(&frng) % 16;
		}
	}
	shmlink_pipe_rx_flush(&rx);
	s->broken = rx.broken;
	return NULL;
}

static void *
map_shared(int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void
stress_run(uint64_t ring_size, uint64_t count, bool sleepy)
{
	struct stress s = { .ring_size = ring_size, .count = count, .seed = ring_size * 7919,
			.sleepy = sleepy };
	pthread_t w, r;
	double t0;
	int fd, wfd;

	fd = memfd_create("stress", MFD_CLOEXEC);
	wfd = memfd_create("stress-word", MFD_CLOEXEC);
	REQUIRE(fd >= 0 && wfd >= 0, "memfd_create: %s", strerror(errno));
	REQUIRE(ftruncate(fd, (off_t)ring_size) == 0 && ftruncate(wfd, 4096) == 0, "ftruncate");
	s.wmap = map_shared(fd, ring_size);
	s.rmap = map_shared(fd, ring_size);
	s.notify.word = map_shared(wfd, 4096);
	s.notify.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	REQUIRE(s.wmap != NULL && s.rmap != NULL && s.notify.word != NULL &&
			s.notify.efd >= 0, "mappings");
	/* The file creator's "free" word: the reader may look before the writer inits. */
	*(uint64_t *)s.wmap = SHMLINK_PIPE_SLOT_FREE;
	shmlink_notify_disarm(&s.notify);

	t0 = test_now_s();
	pthread_create(&r, NULL, stress_reader, &s);
	pthread_create(&w, NULL, stress_writer, &s);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	printf("  ring %6" PRIu64 "%s: %" PRIu64 " messages in %.2f s, %" PRIu64 " sleeps\n",
			ring_size, sleepy ? " (sleeping reader)" : "", s.received, test_now_s() - t0,
			s.sleeps);
	CHECK(s.received == count, "ring %" PRIu64 ": received %" PRIu64 " of %" PRIu64,
			ring_size, s.received, count);
	CHECK(s.bad == 0, "ring %" PRIu64 ": %" PRIu64 " bad messages", ring_size, s.bad);
	CHECK(!s.broken, "ring %" PRIu64 ": reader saw a damaged ring", ring_size);
	CHECK(s.lost_wakeups == 0, "%" PRIu64 " lost wake-ups", s.lost_wakeups);
	if (sleepy)
		CHECK(s.sleeps > 0, "the reader never slept: the handshake was not exercised");
	munmap(s.wmap, ring_size);
	munmap(s.rmap, ring_size);
	munmap(s.notify.word, 4096);
	close(s.notify.efd);
	close(fd);
	close(wfd);
}

int
main(void)
{
	stress_run(96, 2000000, false);
	stress_run(4096, 4000000, false);
	stress_run(65536, 4000000, false);
	stress_run(4096, 1000000, true);
	return check_report("test_pipe_stress");
}
