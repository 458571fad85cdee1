/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Queue files: what shmlink_qfile_create makes (sizes, seals, the pipes' free word, a
 * non-blocking eventfd) and what shmlink_qmap_map refuses (spec §8.2), with no FD or
 * mapping left behind either way. shmlink_qfile_create_in: files in a tmpfs directory
 * (unlinked, unsealable), and the refusals that need no huge pages (a directory on
 * another file system, a data size that is not a multiple of the huge page size, huge
 * pages that are not there); huge pages themselves are tested by
 * test/system/test_multiprocess.py, which reserves them.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmlink.h"
#include "../common/test_common.h"

static int
count_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static uint64_t
fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void
test_create_defaults(void)
{
	int fds[SHMLINK_QFD_COUNT], before = count_fds(), seals;
	uint64_t word = 0;

	REQUIRE(shmlink_qfile_create(NULL, fds) == 0, "create");
	CHECK(fd_size(fds[SHMLINK_QFD_DATA]) == 1u << 20, "data size");
	CHECK(fd_size(fds[SHMLINK_QFD_TX_PIPE]) == 64u << 10, "tx pipe size");
	CHECK(fd_size(fds[SHMLINK_QFD_RX_PIPE]) == 64u << 10, "rx pipe size");
	CHECK(fd_size(fds[SHMLINK_QFD_SHARED]) == 4u << 10, "shared size");
	CHECK(pread(fds[SHMLINK_QFD_TX_PIPE], &word, 8, 0) == 8 &&
			word == SHMLINK_PIPE_SLOT_FREE, "tx pipe starts 0x%" PRIx64, word);
	CHECK(pread(fds[SHMLINK_QFD_RX_PIPE], &word, 8, 0) == 8 &&
			word == SHMLINK_PIPE_SLOT_FREE, "rx pipe starts 0x%" PRIx64, word);
	CHECK(fcntl(fds[SHMLINK_QFD_EVENT], F_GETFL) & O_NONBLOCK, "eventfd blocking");
	seals = fcntl(fds[SHMLINK_QFD_DATA], F_GET_SEALS);
	CHECK(seals == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), "seals 0x%x", seals);
	CHECK(ftruncate(fds[SHMLINK_QFD_DATA], 4096) != 0, "a sealed file could shrink");
	shmlink_qfile_close(fds);
	CHECK(count_fds() == before, "fds leaked");
}

static void
test_create_sizes(void)
{
	struct shmlink_qfile_sizes sz = { .data = 64 << 20, .tx_pipe = 4100, .rx_pipe = 1 << 20,
			.shared = 4 };
	struct shmlink_qmap m;
	int fds[SHMLINK_QFD_COUNT];
	const char *why;

	REQUIRE(shmlink_qfile_create(&sz, fds) == 0, "create");
	REQUIRE(shmlink_qmap_map(&m, fds, 2048, &why) == 0, "map: %s", why);
	CHECK(m.data_size == 64u << 20 && m.tx_pipe_size == 4100 && m.rx_pipe_size == 1u << 20 &&
			m.shared_size == 4, "sizes from fstat");
	shmlink_qmap_unmap(&m);
	shmlink_qfile_close(fds);
	sz.tx_pipe = 16;
	CHECK(shmlink_qfile_create(&sz, fds) == -EINVAL, "16-byte pipe created");
	sz.tx_pipe = UINT64_C(1) << 32;
	CHECK(shmlink_qfile_create(&sz, fds) == -EINVAL, "4 GiB pipe created");
}

/* Replace FD @idx of a fresh queue with @fd and expect the map to refuse it. */
static void
expect_refused(const char *what, int idx, int fd, uint32_t bufsz)
{
	int fds[SHMLINK_QFD_COUNT], saved, before;
	struct shmlink_qmap m;
	const char *why = NULL;

	REQUIRE(shmlink_qfile_create(NULL, fds) == 0, "create");
	saved = fds[idx];
	fds[idx] = fd;
	before = count_fds();
	CHECK(shmlink_qmap_map(&m, fds, bufsz, &why) != 0, "%s: mapped", what);
	CHECK(why != NULL, "%s: no reason given", what);
	CHECK(count_fds() == before, "%s: fds leaked", what);
	CHECK(m.data == NULL && m.shared == NULL, "%s: left mapped", what);
	fds[idx] = saved;
	shmlink_qfile_close(fds);
}

static void
test_map_refusals(void)
{
	int empty = memfd_create("empty", 0), small = memfd_create("small", 0);
	int ro = open("/proc/self/exe", O_RDONLY), dir = open("/", O_RDONLY | O_DIRECTORY);
	int efd = eventfd(0, EFD_NONBLOCK), befd = eventfd(0, 0), pfd[2];

	REQUIRE(empty >= 0 && small >= 0 && ro >= 0 && dir >= 0 && efd >= 0 && befd >= 0 &&
			pipe(pfd) == 0, "fixtures");
	REQUIRE(ftruncate(small, 20) == 0, "ftruncate");
	expect_refused("zero-length data", SHMLINK_QFD_DATA, empty, 2048);
	expect_refused("data smaller than a buffer", SHMLINK_QFD_DATA, small, 2048);
	expect_refused("pipe of 20 bytes", SHMLINK_QFD_TX_PIPE, small, 2048);
	expect_refused("zero-length shared", SHMLINK_QFD_SHARED, empty, 2048);
	expect_refused("read-only data", SHMLINK_QFD_DATA, ro, 2048);
	expect_refused("directory as rx pipe", SHMLINK_QFD_RX_PIPE, dir, 2048);
	expect_refused("pipe as data", SHMLINK_QFD_DATA, pfd[0], 2048);
	expect_refused("eventfd as data", SHMLINK_QFD_DATA, efd, 2048);
	expect_refused("file as eventfd", SHMLINK_QFD_EVENT, small, 2048);
	expect_refused("blocking eventfd", SHMLINK_QFD_EVENT, befd, 2048);
	expect_refused("closed fd", SHMLINK_QFD_SHARED, 1000, 2048);
	close(empty);
	close(small);
	close(ro);
	close(dir);
	close(efd);
	close(befd);
	close(pfd[0]);
	close(pfd[1]);
}

/* Unmapping a zeroed or already unmapped queue does nothing (and closes no fd 0). */
static void
test_unmap_idempotent(void)
{
	struct shmlink_qmap m;
	int before = count_fds();
	bool had0 = fcntl(0, F_GETFD) >= 0;

	memset(&m, 0, sizeof(m));
	shmlink_qmap_unmap(&m);
	shmlink_qmap_unmap(&m);
	CHECK(count_fds() == before && (!had0 || fcntl(0, F_GETFD) >= 0),
			"unmap closed something");
}

/*
 * A second mapping at the addresses of a first (what a DPDK secondary process does with
 * the primary's): refused while the first holds the addresses, taken once it is gone,
 * with the same sizes and the same bytes; refused for a file smaller than mapped.
 */
static void
test_map_at(void)
{
	struct shmlink_qfile_sizes sz = { .data = 1 << 20, .tx_pipe = 8192, .rx_pipe = 4096,
			.shared = 4096 };
	struct shmlink_qmap first, m, like;
	int fds[SHMLINK_QFD_COUNT], small = memfd_create("small", 0), saved, before, i;
	const char *why = NULL;

	REQUIRE(small >= 0 && ftruncate(small, 4096) == 0, "fixtures");
	REQUIRE(shmlink_qfile_create(&sz, fds) == 0, "create");
	REQUIRE(shmlink_qmap_map(&first, fds, 2048, &why) == 0, "map: %s", why);
	/* The first keeps the files; the creator's FDs go, those handed over are dups. */
	before = count_fds();
	REQUIRE(shmlink_qmap_keep_files(&first, fds) == 0, "keep files");
	CHECK(count_fds() == before + SHMLINK_QFD_COUNT, "kept %d FDs", count_fds() - before);
	shmlink_qfile_close(fds);
	for (i = 0; i < SHMLINK_QFD_COUNT; i++)
		fds[i] = dup(first.files[i]);
	first.data[100] = 0x5a;
	CHECK(shmlink_qmap_map_at(&m, fds, &first, &why) == -EEXIST,
			"mapped over this process's own mapping");
	CHECK(m.data == NULL && m.notify.efd == -1, "left mapped after a refusal");
	like = first;
	before = count_fds();
	shmlink_qmap_unmap(&first);
	CHECK(count_fds() == before - 1 - SHMLINK_QFD_COUNT, "unmap left kept FDs open");
	before = count_fds();
	REQUIRE(shmlink_qmap_map_at(&m, fds, &like, &why) == 0, "map at: %s", why);
	CHECK(m.data == like.data && m.tx_pipe == like.tx_pipe && m.rx_pipe == like.rx_pipe &&
			m.shared == like.shared, "not at the addresses asked");
	CHECK(m.data_size == like.data_size && m.tx_pipe_size == like.tx_pipe_size &&
			m.notify.word == (uint32_t *)(void *)m.shared, "sizes or word");
	CHECK(m.data[100] == 0x5a, "another file's bytes");
	CHECK(count_fds() == before + 1, "one FD, the eventfd's dup");
	shmlink_qmap_unmap(&m);
	saved = fds[SHMLINK_QFD_DATA];
	fds[SHMLINK_QFD_DATA] = small;
	CHECK(shmlink_qmap_map_at(&m, fds, &like, &why) != 0, "a file smaller than mapped");
	CHECK(count_fds() == before, "fds leaked");
	fds[SHMLINK_QFD_DATA] = saved;
	shmlink_qfile_close(fds);
	close(small);
}

/* Entries of /dev/shm named shmlink-*: a file left behind. */
static int
count_shm_files(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "shmlink-", 8) == 0;
	closedir(d);
	return n;
}

/* Free huge pages of the default size (/proc/meminfo), -1 if unknown. */
static long
free_huge_pages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void
test_create_in_places(void)
{
	struct shmlink_qfile_where w = { .place = SHMLINK_QFILE_DIR, .dir = "/dev/shm" };
	struct shmlink_qfile_sizes sz = { .data = 1u << 20 };
	int fds[SHMLINK_QFD_COUNT], before = count_fds(), shm = count_shm_files(), i;
	const char *why = NULL;
	uint64_t word = 0;
	char link[64], target[128];
	ssize_t n;

	/* A tmpfs directory: every file there, unlinked, and not sealable. */
	CHECK(shmlink_qfile_page_size(&w, &why) == 0, "/dev/shm: page size (%s)",
			why != NULL ? why : "");
	REQUIRE(shmlink_qfile_create_in(&sz, &w, fds, &why) == 0, "in /dev/shm: %s", why);
	for (i = 0; i < SHMLINK_QFD_COUNT; i++) {
		if (i == SHMLINK_QFD_EVENT)
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		CHECK(strncmp(target, "/dev/shm/", 9) == 0 && strstr(target, "(deleted)") != NULL,
				"file %d is %s, not an unlinked file in /dev/shm", i, target);
	}
	CHECK(fd_size(fds[SHMLINK_QFD_DATA]) == 1u << 20, "data size");
	CHECK(pread(fds[SHMLINK_QFD_RX_PIPE], &word, 8, 0) == 8 &&
			word == SHMLINK_PIPE_SLOT_FREE, "rx pipe starts 0x%" PRIx64, word);
	CHECK(shmlink_qfile_check_sealed(fds, &why) == -EPERM, "tmpfs files reported sealed");
	CHECK(count_shm_files() == shm, "a file left in /dev/shm");
	shmlink_qfile_close(fds);
	CHECK(count_fds() == before, "fds leaked");

	/* Refusals, each with a reason and nothing left open. */
	snprintf(w.dir, sizeof(w.dir), "/proc");
	why = NULL;
	CHECK(shmlink_qfile_create_in(&sz, &w, fds, &why) == -EINVAL && why != NULL,
			"a directory on procfs");
	snprintf(w.dir, sizeof(w.dir), "/nonexistent-shmlink");
	CHECK(shmlink_qfile_create_in(&sz, &w, fds, &why) == -ENOENT, "no such directory");
	w.place = SHMLINK_QFILE_MEMFD_HUGE;
	if (shmlink_qfile_page_size(&w, &why) > 0) {
		sz.data = (1u << 20) + 4096;
		why = NULL;
		CHECK(shmlink_qfile_create_in(&sz, &w, fds, &why) == -EINVAL && why != NULL &&
				strstr(why, "multiple") != NULL, "data not a multiple of huge pages");
		sz.data = shmlink_qfile_page_size(&w, NULL);
		if (free_huge_pages() == 0) {
			why = NULL;
			CHECK(shmlink_qfile_create_in(&sz, &w, fds, &why) == -ENOMEM &&
					why != NULL && strstr(why, "huge pages") != NULL,
					"huge pages without any free: %s", why ? why : "");
		}
	}
	CHECK(count_fds() == before, "fds leaked by the refusals");
}

int
main(void)
{
	test_create_defaults();
	test_create_sizes();
	test_map_refusals();
	test_unmap_idempotent();
	test_map_at();
	test_create_in_places();
	return check_report("test_qfile");
}
