/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "shmlink_pipe.h"
#include "shmlink_qfile.h"

#define QFILE_MAX_PIPE_SIZE	(UINT64_C(1) << 32)
/* statfs() f_type of the two file systems a directory of queue files may be on. */
#define QFILE_TMPFS_MAGIC	0x01021994
#define QFILE_HUGETLBFS_MAGIC	0x958458f6

#ifndef MFD_HUGETLB
#define MFD_HUGETLB		0x0004U
#endif

static const char *const qfile_names[SHMLINK_QFD_COUNT] = {
	"shmlink-data", "shmlink-event", "shmlink-txpipe", "shmlink-rxpipe", "shmlink-shared",
};

static uint64_t
size_or(uint64_t v, uint64_t def)
{
	return v != 0 ? v : def;
}

/* An anonymous shared file: a memfd, or an unlinked /dev/shm file where memfd fails. */
static int
qfile_open_anon(const char *name, bool *sealable)
{
	char path[] = "/dev/shm/shmlink-XXXXXX";
	int fd;

	*sealable = true;
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 || (errno != ENOSYS && errno != EINVAL))
		return fd;
	*sealable = false;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* The system's default huge page size (/proc/meminfo), or 0. */
static int64_t
qfile_default_huge_page(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long long kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Hugepagesize: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb > 0 ? (int64_t)kb << 10 : 0;
}

int64_t
shmlink_qfile_page_size(const struct shmlink_qfile_where *where, const char **why)
{
	struct statfs st;
	int64_t huge;

	if (where == NULL || where->place == SHMLINK_QFILE_MEMFD)
		return 0;
	if (where->place == SHMLINK_QFILE_MEMFD_HUGE) {
		huge = qfile_default_huge_page();
		if (huge > 0)
			return huge;
		if (why != NULL)
			*why = "this system has no huge pages (no Hugepagesize in /proc/meminfo)";
		return -ENOTSUP;
	}
	if (where->place != SHMLINK_QFILE_DIR || statfs(where->dir, &st) != 0) {
		if (why != NULL)
			*why = "cannot look at the directory";
		return errno != 0 ? -errno : -EINVAL;
	}
	if ((uint32_t)st.f_type == QFILE_HUGETLBFS_MAGIC)
		return st.f_bsize;
	if ((uint32_t)st.f_type == QFILE_TMPFS_MAGIC)
		return 0;
	if (why != NULL)
		*why = "the directory is on neither a tmpfs nor a hugetlbfs";
	return -EINVAL;
}

/* An unlinked file in directory @dir. */
static int
qfile_open_in(const char *dir)
{
	char path[sizeof(((struct shmlink_qfile_where *)0)->dir) + 32];
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	snprintf(path, sizeof(path), "%s/shmlink-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* A file to make: a memfd (sealable), a memfd of huge pages (@huge; sealable), or an
 * unlinked file in @dir (not sealable; on huge pages if @dir is a hugetlbfs). */
static int
qfile_open(const char *name, const char *dir, bool huge, bool *sealable)
{
	if (dir != NULL) {
		*sealable = false;
		return qfile_open_in(dir);
	}
	if (huge) {
		*sealable = true;
		return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
	}
	return qfile_open_anon(name, sealable);
}

/* Make a file of @size bytes; a pipe starts with the free word; huge pages are allocated
 * now, so that mapping the file later cannot fault for want of a page. */
static int
qfile_make(const char *name, const char *dir, bool huge, uint64_t size, bool pipe, int *out)
{
	uint64_t free_word = SHMLINK_PIPE_SLOT_FREE;
	bool sealable;
	int fd, err;

	fd = qfile_open(name, dir, huge, &sealable);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) != 0)
		goto fail;
	if (huge && fallocate(fd, 0, 0, (off_t)size) != 0) {
		/* hugetlbfs says ENOSPC when the pool has too few free pages. */
		errno = errno == ENOSPC ? ENOMEM : errno;
		goto fail;
	}
	/* A zero header would read as a published empty slot: start with "free". */
	if (pipe && pwrite(fd, &free_word, sizeof(free_word), 0) != sizeof(free_word))
		goto fail;
	/* The peer must not be able to shrink what we map (SIGBUS on our side). */
	if (sealable && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		goto fail;
	*out = fd;
	return 0;
fail:
	err = errno != 0 ? -errno : -EIO;
	close(fd);
	return err;
}

void
shmlink_qfile_close(int fds[SHMLINK_QFD_COUNT])
{
	int i;

	for (i = 0; i < SHMLINK_QFD_COUNT; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int
shmlink_qfile_create(const struct shmlink_qfile_sizes *sizes, int fds[SHMLINK_QFD_COUNT])
{
	return shmlink_qfile_create_in(sizes, NULL, fds, NULL);
}

int
shmlink_qfile_create_in(const struct shmlink_qfile_sizes *sizes,
		const struct shmlink_qfile_where *where, int fds[SHMLINK_QFD_COUNT],
		const char **why)
{
	static const struct shmlink_qfile_sizes none;
	const struct shmlink_qfile_sizes *s = sizes != NULL ? sizes : &none;
	uint64_t sz[SHMLINK_QFD_COUNT] = {
		[SHMLINK_QFD_DATA] = size_or(s->data, SHMLINK_DEFAULT_DATA_SIZE),
		[SHMLINK_QFD_TX_PIPE] = size_or(s->tx_pipe, SHMLINK_DEFAULT_PIPE_SIZE),
		[SHMLINK_QFD_RX_PIPE] = size_or(s->rx_pipe, SHMLINK_DEFAULT_PIPE_SIZE),
		[SHMLINK_QFD_SHARED] = size_or(s->shared, SHMLINK_DEFAULT_SHARED_SIZE),
	};
	const char *dir = where != NULL && where->place == SHMLINK_QFILE_DIR ? where->dir :
			NULL;
	int64_t page;
	int i, rc;

	page = shmlink_qfile_page_size(where, why);
	if (page < 0)
		return (int)page;
	if (page > 0 && sz[SHMLINK_QFD_DATA] % (uint64_t)page != 0) {
		if (why != NULL)
			*why = "the data size is not a multiple of the huge page size";
		return -EINVAL;
	}
	if (sz[SHMLINK_QFD_TX_PIPE] < SHMLINK_PIPE_MIN_SIZE ||
			sz[SHMLINK_QFD_TX_PIPE] >= QFILE_MAX_PIPE_SIZE ||
			sz[SHMLINK_QFD_RX_PIPE] < SHMLINK_PIPE_MIN_SIZE ||
			sz[SHMLINK_QFD_RX_PIPE] >= QFILE_MAX_PIPE_SIZE ||
			sz[SHMLINK_QFD_SHARED] < sizeof(uint32_t) ||
			sz[SHMLINK_QFD_DATA] > (uint64_t)INT64_MAX)
		return -EINVAL;
	for (i = 0; i < SHMLINK_QFD_COUNT; i++)
		fds[i] = -1;
	fds[SHMLINK_QFD_EVENT] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fds[SHMLINK_QFD_EVENT] < 0) {
		rc = -errno;
		goto fail;
	}
	for (i = 0; i < SHMLINK_QFD_COUNT; i++) {
		if (i == SHMLINK_QFD_EVENT)
			continue;
		bool huge = i == SHMLINK_QFD_DATA && page > 0;

		/* On a tmpfs every file goes in the directory; on huge pages the data only. */
		rc = qfile_make(qfile_names[i], huge || page == 0 ? dir : NULL, huge, sz[i],
				i == SHMLINK_QFD_TX_PIPE || i == SHMLINK_QFD_RX_PIPE, &fds[i]);
		if (rc != 0)
			goto fail;
	}
	return 0;
fail:
	if (why != NULL)
		*why = rc == -ENOMEM && page > 0 ? "not enough free huge pages" :
				"cannot create a queue file";
	shmlink_qfile_close(fds);
	return rc;
}

static bool
qfile_is_eventfd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* A regular file open read-write, of min..max-1 bytes. */
static int
qfile_check(int fd, uint64_t min, uint64_t max, uint64_t *size)
{
	struct stat st;
	int fl;

	if (fd < 0 || fstat(fd, &st) != 0)
		return -EBADF;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
		return -EACCES;
	if (st.st_size < 0 || (uint64_t)st.st_size < min || (uint64_t)st.st_size >= max)
		return -ERANGE;
	*size = (uint64_t)st.st_size;
	return 0;
}

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Map @size bytes of @fd, at @want if not NULL (never over a mapping of this process). */
static int
qmap_one(int fd, uint64_t size, uint8_t *want, uint8_t **addr)
{
	void *p = mmap(want, size, PROT_READ | PROT_WRITE,
			MAP_SHARED | (want != NULL ? MAP_FIXED_NOREPLACE : 0), fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	/* Kernels before 4.17 take the flag as a hint. */
	if (want != NULL && p != want) {
		munmap(p, size);
		return -EEXIST;
	}
	*addr = p;
	return 0;
}

/* Map the four files of @fds with the sizes in @m, at the addresses of @at if not NULL,
 * and dup the eventfd. */
static int
qmap_files(struct shmlink_qmap *m, const int fds[SHMLINK_QFD_COUNT],
		const struct shmlink_qmap *at, const char **reason)
{
	int rc;

	*reason = at != NULL ? "cannot map at the addresses asked (taken here?)" :
			"mmap failed";
	rc = qmap_one(fds[SHMLINK_QFD_DATA], m->data_size, at ? at->data : NULL, &m->data);
	if (rc == 0)
		rc = qmap_one(fds[SHMLINK_QFD_TX_PIPE], m->tx_pipe_size,
				at ? at->tx_pipe : NULL, &m->tx_pipe);
	if (rc == 0)
		rc = qmap_one(fds[SHMLINK_QFD_RX_PIPE], m->rx_pipe_size,
				at ? at->rx_pipe : NULL, &m->rx_pipe);
	if (rc == 0)
		rc = qmap_one(fds[SHMLINK_QFD_SHARED], m->shared_size,
				at ? at->shared : NULL, &m->shared);
	if (rc != 0)
		return rc;
	m->notify.word = (uint32_t *)(void *)m->shared;
	m->notify.efd = fcntl(fds[SHMLINK_QFD_EVENT], F_DUPFD_CLOEXEC, 0);
	if (m->notify.efd < 0) {
		*reason = "cannot dup the eventfd";
		return -errno;
	}
	return 0;
}

/* The eventfd of a queue: an eventfd, non-blocking. */
static int
qfile_check_eventfd(int fd, const char **reason)
{
	if (!qfile_is_eventfd(fd)) {
		*reason = "EventFD is not an eventfd";
		return -EINVAL;
	}
	/* A blocking one would stall a signal once its counter is at its limit, and a
	 * drain when it is 0. gVisor makes them non-blocking (pkg/eventfd). */
	if (!(fcntl(fd, F_GETFL) & O_NONBLOCK)) {
		*reason = "EventFD is not non-blocking (O_NONBLOCK)";
		return -EINVAL;
	}
	return 0;
}

static void
qfile_close_all(const int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

void
shmlink_qmap_unmap(struct shmlink_qmap *m)
{
	if (m->data != NULL)
		munmap(m->data, m->data_size);
	if (m->tx_pipe != NULL)
		munmap(m->tx_pipe, m->tx_pipe_size);
	if (m->rx_pipe != NULL)
		munmap(m->rx_pipe, m->rx_pipe_size);
	if (m->shared != NULL) {
		munmap(m->shared, m->shared_size);
		if (m->notify.efd >= 0)
			close(m->notify.efd);
	}
	if (m->has_files)
		qfile_close_all(m->files, SHMLINK_QFD_COUNT);
	memset(m, 0, sizeof(*m));
	m->notify.efd = -1;
}

int
shmlink_qmap_keep_files(struct shmlink_qmap *m, const int fds[SHMLINK_QFD_COUNT])
{
	int i;

	for (i = 0; i < SHMLINK_QFD_COUNT; i++) {
		m->files[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (m->files[i] < 0) {
			int rc = -errno;

			qfile_close_all(m->files, i);
			return rc;
		}
	}
	m->has_files = true;
	return 0;
}

int
shmlink_qmap_map(struct shmlink_qmap *m, const int fds[SHMLINK_QFD_COUNT],
		uint32_t buffer_size, const char **why)
{
	const char *reason = NULL;
	int rc;

	memset(m, 0, sizeof(*m));
	m->notify.efd = -1;
	rc = qfile_check_eventfd(fds[SHMLINK_QFD_EVENT], &reason);
	if (rc != 0)
		goto fail;
	rc = qfile_check(fds[SHMLINK_QFD_DATA], buffer_size > 0 ? buffer_size : 1,
			(uint64_t)INT64_MAX, &m->data_size);
	if (rc != 0) {
		reason = "Data is not a read-write regular file of at least the buffer size";
		goto fail;
	}
	rc = qfile_check(fds[SHMLINK_QFD_TX_PIPE], SHMLINK_PIPE_MIN_SIZE, QFILE_MAX_PIPE_SIZE,
			&m->tx_pipe_size);
	if (rc != 0) {
		reason = "TxPipe is not a read-write regular file of 24 B to 4 GiB";
		goto fail;
	}
	rc = qfile_check(fds[SHMLINK_QFD_RX_PIPE], SHMLINK_PIPE_MIN_SIZE, QFILE_MAX_PIPE_SIZE,
			&m->rx_pipe_size);
	if (rc != 0) {
		reason = "RxPipe is not a read-write regular file of 24 B to 4 GiB";
		goto fail;
	}
	rc = qfile_check(fds[SHMLINK_QFD_SHARED], sizeof(uint32_t), (uint64_t)INT64_MAX,
			&m->shared_size);
	if (rc != 0) {
		reason = "SharedData is not a read-write regular file of at least 4 bytes";
		goto fail;
	}
	rc = qmap_files(m, fds, NULL, &reason);
	if (rc == 0)
		return 0;
fail:
	shmlink_qmap_unmap(m);
	if (why != NULL)
		*why = reason;
	return rc;
}

int
shmlink_qmap_map_at(struct shmlink_qmap *m, const int fds[SHMLINK_QFD_COUNT],
		const struct shmlink_qmap *like, const char **why)
{
	const int files[] = { SHMLINK_QFD_DATA, SHMLINK_QFD_TX_PIPE, SHMLINK_QFD_RX_PIPE,
			SHMLINK_QFD_SHARED };
	const uint64_t sizes[] = { like->data_size, like->tx_pipe_size, like->rx_pipe_size,
			like->shared_size };
	const char *reason;
	unsigned int i;
	int rc;

	memset(m, 0, sizeof(*m));
	m->notify.efd = -1;
	rc = qfile_check_eventfd(fds[SHMLINK_QFD_EVENT], &reason);
	/* Each file at least as large as mapped: no SIGBUS past its end. */
	for (i = 0; rc == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		uint64_t size;

		rc = qfile_check(fds[files[i]], sizes[i], (uint64_t)INT64_MAX, &size);
		if (rc != 0)
			reason = "a file is not a read-write regular file as large as mapped";
	}
	if (rc == 0) {
		m->data_size = like->data_size;
		m->tx_pipe_size = like->tx_pipe_size;
		m->rx_pipe_size = like->rx_pipe_size;
		m->shared_size = like->shared_size;
		rc = qmap_files(m, fds, like, &reason);
	}
	if (rc == 0)
		return 0;
	shmlink_qmap_unmap(m);
	if (why != NULL)
		*why = reason;
	return rc;
}

int
shmlink_qfile_check_sealed(const int fds[SHMLINK_QFD_COUNT], const char **why)
{
	static const char *const names[SHMLINK_QFD_COUNT] = {
		[SHMLINK_QFD_DATA] = "Data is not sealed against shrinking (F_SEAL_SHRINK)",
		[SHMLINK_QFD_TX_PIPE] = "TxPipe is not sealed against shrinking (F_SEAL_SHRINK)",
		[SHMLINK_QFD_RX_PIPE] = "RxPipe is not sealed against shrinking (F_SEAL_SHRINK)",
		[SHMLINK_QFD_SHARED] = "SharedData is not sealed against shrinking "
				"(F_SEAL_SHRINK)",
	};
	int i;

	for (i = 0; i < SHMLINK_QFD_COUNT; i++) {
		int seals;

		if (i == SHMLINK_QFD_EVENT)
			continue;
		seals = fcntl(fds[i], F_GET_SEALS);
		if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
			if (why != NULL)
				*why = names[i];
			return -EPERM;
		}
	}
	return 0;
}
