/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * shmlink_probe: probe devices one at a time and say what happened, for the system tests.
 *
 *   shmlink_probe <EAL arguments> -- [--hold] DEVARGS...
 *
 * Prints, each line flushed (the EAL's log lines go to the same stdout):
 *   EAL ports=<ethdev ports after rte_eal_init> fds=<open FDs>
 *   CASE <k> BEGIN <devargs>                     (k = 1, 2, ... in order)
 *   CASE <k> END rc=<rte_vdev_init result> ports=<ethdev ports> fds_before=<n> fds_after=<n>
 *   HOLDING                                      (--hold: until standard input ends)
 *   CLOSED ports=<ports left> fds=<open FDs>     (after closing every port)
 * and exits 0, or 2 if the EAL does not start.
 *
 * Devices are created with rte_vdev_init(), as --vdev does, not rte_dev_probe(): since
 * DPDK 24.11 the latter refuses a device string of 128 bytes or more (-E2BIG, "devargs
 * truncated"), which the long values these tests need exceed.
 */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

/* Open FDs of this process, not counting the one used to list them. */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* "name,args" as --vdev takes it. */
static int
probe(const char *devargs)
{
	char name[RTE_DEV_NAME_MAX_LEN];
	const char *comma = strchr(devargs, ',');
	size_t len = comma != NULL ? (size_t)(comma - devargs) : strlen(devargs);

	if (len >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, devargs, len);
	name[len] = '\0';
	return rte_vdev_init(name, comma != NULL ? comma + 1 : NULL);
}

int
main(int argc, char **argv)
{
	char line[256];
	bool hold = false;
	uint16_t port;
	int i, n, k = 0;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		printf("EAL init failed: %s\n", rte_strerror(rte_errno));
		fflush(stdout);
		return 2;
	}
	argc -= n;
	argv += n;
	printf("EAL ports=%u fds=%d\n", rte_eth_dev_count_avail(), count_fds());
	fflush(stdout);
	for (i = 1; i < argc; i++) {
		int before, after, rc;

		if (strcmp(argv[i], "--hold") == 0) {
			hold = true;
			continue;
		}
		k++;
		printf("CASE %d BEGIN %s\n", k, argv[i]);
		fflush(stdout);
		before = count_fds();
		rc = probe(argv[i]);
		after = count_fds();
		printf("CASE %d END rc=%d ports=%u fds_before=%d fds_after=%d\n", k, rc,
				rte_eth_dev_count_avail(), before, after);
		fflush(stdout);
	}
	if (hold) {
		printf("HOLDING\n");
		fflush(stdout);
		while (fgets(line, sizeof(line), stdin) != NULL)
			;
	}
	RTE_ETH_FOREACH_DEV(port)
		rte_eth_dev_close(port);
	printf("CLOSED ports=%u fds=%d\n", rte_eth_dev_count_avail(), count_fds());
	fflush(stdout);
	rte_eal_cleanup();
	return 0;
}
