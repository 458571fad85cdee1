/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_TEST_DRIVER_PATH_H
#define SHMLINK_TEST_DRIVER_PATH_H

/*
 * EAL refuses to load a driver given by a path with a world-writable parent directory
 * (a checkout under /tmp, say), but loads a bare file name from LD_LIBRARY_PATH. So a
 * test takes the driver's full path, makes sure its directory is on LD_LIBRARY_PATH
 * (re-executing itself if it was not, as the dynamic loader reads it only at start-up)
 * and hands EAL the bare name.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline const char *
test_driver_arg(char **argv, const char *path)
{
	static char dir[4096];
	const char *slash = strrchr(path, '/');
	const char *llp = getenv("LD_LIBRARY_PATH");
	char *env;
	size_t n;

	if (slash == NULL)
		return path;
	n = (size_t)(slash - path);
	if (n >= sizeof(dir))
		return path;
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (llp != NULL && strstr(llp, dir) != NULL)
		return slash + 1;
	n = strlen(dir) + (llp != NULL ? strlen(llp) : 0) + 2;
	env = malloc(n);
	if (env == NULL)
		return path;
	snprintf(env, n, "%s%s%s", dir, llp != NULL ? ":" : "", llp != NULL ? llp : "");
	setenv("LD_LIBRARY_PATH", env, 1);
	execv("/proc/self/exe", argv);
	return path;	/* exec failed: try the full path */
}

#endif /* SHMLINK_TEST_DRIVER_PATH_H */
