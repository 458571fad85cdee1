/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/* The control side of struct shmlink_qlink: membarrier set-up and the wait for idle
 * queues (the protocol is described in shmlink_qlink.h). */

#include <errno.h>
#include <signal.h>
#include <linux/membarrier.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_pause.h>

#include "shmlink_ethdev.h"

bool shmlink_qlink_asym;
uint32_t shmlink_qlink_token = 1;

static long
qlink_membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

/* Before any port exists, so every burst and every detach agree on the scheme. */
RTE_INIT(shmlink_qlink_init)
{
	long cmds = qlink_membarrier(MEMBARRIER_CMD_QUERY);

	shmlink_qlink_asym = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
			qlink_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

/* No burst in the link: busy clear, or held by a secondary process that is gone. */
static bool
qlink_idle(struct shmlink_qlink *l)
{
	uint32_t t = rte_atomic_load_explicit(&l->busy, rte_memory_order_seq_cst);

	return t == 0 || (t != 1 && kill((pid_t)t, 0) != 0 && errno == ESRCH);
}

void
shmlink_qlink_wait_idle(struct shmlink_qlink *const *links, unsigned int n)
{
	unsigned int i;

	if (shmlink_qlink_asym &&
			qlink_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
		/* Registered, so it cannot fail; should it, a burst in flight ends well
		 * within a second. */
		SHMLINK_LOG(ERR, "membarrier: %s", strerror(errno));
		rte_delay_us_sleep(1000 * 1000);
	}
	for (i = 0; i < n; i++) {
		if (links[i] == NULL)
			continue;
		while (!qlink_idle(links[i]))
			rte_pause();
	}
}

void
shmlink_qlink_secondary(void)
{
	shmlink_qlink_asym = false;
	shmlink_qlink_token = (uint32_t)getpid();
}
