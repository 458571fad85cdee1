/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * One copy of the driver per process. EAL loads the files given with -d first, then
 * every .so of its plugin directory, so a driver given with -d (say, from a build tree)
 * and the installed one can both be loaded. Both would register "net_shmlink" and the
 * telemetry commands: the vdev bus probes with the first driver registered, while
 * telemetry answers with the command registered last, which would read the first
 * copy's ports with its own idea of their layout. So only the first copy loaded
 * registers anything; a later one says so and stays inert.
 */

#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shmlink_ethdev.h"

struct once_scan {
	uintptr_t self;		/* an address inside this copy */
	const char *self_name;	/* this copy's file, once found */
	const char *first;	/* the first object loaded with this copy's file name */
};

static const char *
once_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static bool
once_contains(const struct dl_phdr_info *info, uintptr_t addr)
{
	ElfW(Half) i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && addr >= start && addr - start < ph->p_memsz)
			return true;
	}
	return false;
}

/* First pass: find this copy's file name. */
static int
once_find_self(struct dl_phdr_info *info, size_t size __rte_unused, void *arg)
{
	struct once_scan *s = arg;

	if (!once_contains(info, s->self))
		return 0;
	s->self_name = info->dlpi_name;
	return 1;
}

/* Second pass, in load order: the first object with the same file name. */
static int
once_find_first(struct dl_phdr_info *info, size_t size __rte_unused, void *arg)
{
	struct once_scan *s = arg;

	if (strcmp(once_base(info->dlpi_name), once_base(s->self_name)) != 0)
		return 0;
	s->first = info->dlpi_name;
	return 1;
}

bool
shmlink_pmd_first_copy(void)
{
	static int first = -1;	/* constructors run one at a time: no lock */
	struct once_scan s = { .self = (uintptr_t)&shmlink_pmd_first_copy };

	if (first >= 0)
		return first;
	first = 1;
	if (dl_iterate_phdr(once_find_self, &s) == 0 || s.self_name == NULL ||
			s.self_name[0] == '\0')
		return first;	/* not found: cannot tell, so register */
	dl_iterate_phdr(once_find_first, &s);
	if (s.first != NULL && strcmp(s.first, s.self_name) != 0) {
		first = 0;
		SHMLINK_LOG(NOTICE, "net_shmlink is already loaded from %s: %s stays unused",
				s.first, s.self_name);
	}
	return first;
}
