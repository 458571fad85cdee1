/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_QFILE_H
#define SHMLINK_QFILE_H

/**
 * @file
 * Queue files (spec §2): the five objects of one queue, created fresh or mapped from
 * FDs a peer sent, in gVisor's QueueConfig.FDs() order [Data, EventFD, TxPipe, RxPipe,
 * SharedData]. Sizes are discovered with fstat, never taken from a message.
 */

#include <stdint.h>

#include "shmlink_notify.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Index of each FD of a queue, as gVisor's QueueConfig.FDs() orders them. */
enum shmlink_qfd {
	SHMLINK_QFD_DATA = 0,		/**< the data region holding the buffers */
	SHMLINK_QFD_EVENT = 1,		/**< the eventfd of the queue's notification */
	SHMLINK_QFD_TX_PIPE = 2,	/**< the pipe written by the client */
	SHMLINK_QFD_RX_PIPE = 3,	/**< the pipe written by the server */
	SHMLINK_QFD_SHARED = 4,		/**< shared data: the notification word */
	SHMLINK_QFD_COUNT = 5,		/**< FDs per queue */
};

/** Default size of a queue's data region (the buffers): 1 MiB. */
#define SHMLINK_DEFAULT_DATA_SIZE	(UINT64_C(1) << 20)
/** Default size of each of a queue's two pipes: 64 KiB. */
#define SHMLINK_DEFAULT_PIPE_SIZE	(UINT64_C(64) << 10)
/**
 * A listening peer's queue sizes (net_shmlink, shmlink-peer, gvlink.Listen), larger
 * than gVisor's defaults above. A gVisor endpoint drops a frame it cannot place at once
 * and its TCP recovers from a burst of such drops badly (stalls of up to a minute), so
 * each queue holds a whole TCP window of gVisor's largest send buffer (4 MiB in
 * gvlink.NewStack): 4 MiB of 1448-byte segments take 2897 frames, each in a buffer of
 * 2048 bytes, 5.7 MiB; the pipes hold about 5400 one-buffer frames. Many buffers also
 * help copying: one comes back to its writer after the other CPU has let go of its
 * lines (with 2048 buffers instead of 512, a client sent 1518-byte frames 35 % faster;
 * doc/guides/perf/benchmark.rst).
 */
#define SHMLINK_LISTEN_DATA_SIZE	(UINT64_C(8) << 20)
/** A listening peer's pipe size, each of a queue's two (see SHMLINK_LISTEN_DATA_SIZE). */
#define SHMLINK_LISTEN_PIPE_SIZE	(UINT64_C(256) << 10)
/** Default size of a queue's shared data file (the notification word): 4 KiB. */
#define SHMLINK_DEFAULT_SHARED_SIZE	(UINT64_C(4) << 10)
/** Default size of the buffers a client carves from the data regions. */
#define SHMLINK_DEFAULT_BUFFER_SIZE	2048u

/** Sizes of a queue's files; 0 in a field means its default. */
struct shmlink_qfile_sizes {
	uint64_t data;		/**< data region (SHMLINK_DEFAULT_DATA_SIZE) */
	uint64_t tx_pipe;	/**< TxPipe, client to server (SHMLINK_DEFAULT_PIPE_SIZE) */
	uint64_t rx_pipe;	/**< RxPipe, server to client (SHMLINK_DEFAULT_PIPE_SIZE) */
	uint64_t shared;	/**< shared data (SHMLINK_DEFAULT_SHARED_SIZE) */
};

/**
 * Create the files of one queue: memfds (sealed against shrinking and growing), or
 * unlinked files in /dev/shm where memfd is unavailable; an eventfd with EFD_NONBLOCK;
 * each pipe starting with the "free" word at offset 0. @p sizes may be NULL.
 * @return 0 and five FDs in @p fds (the caller owns them), or -errno with none left open.
 */
int shmlink_qfile_create(const struct shmlink_qfile_sizes *sizes, int fds[SHMLINK_QFD_COUNT]);

/** Where shmlink_qfile_create_in() makes a queue's files. */
enum shmlink_qfile_place {
	/** memfds, sealed: shmlink_qfile_create() */
	SHMLINK_QFILE_MEMFD = 0,
	/** the data region on a memfd of huge pages (MFD_HUGETLB, the default huge page
	 *  size), allocated at once and sealed; the other files as SHMLINK_QFILE_MEMFD */
	SHMLINK_QFILE_MEMFD_HUGE,
	/** unlinked files in a directory, as gVisor's QueueOptions.SharedMemPath: all five
	 *  on a tmpfs (/dev/shm), the data region only on a hugetlbfs mount (allocated at
	 *  once; the other files as SHMLINK_QFILE_MEMFD). Such files cannot be sealed. */
	SHMLINK_QFILE_DIR,
};

/** Where a queue's files go (shmlink_qfile_create_in()). */
struct shmlink_qfile_where {
	enum shmlink_qfile_place place;	/**< what kind of file */
	char dir[128];			/**< SHMLINK_QFILE_DIR: the directory */
};

/**
 * The page size of the data regions @p where makes: the huge page size for huge pages,
 * else 0. Data region sizes must be a multiple of it.
 * @return the size, or -errno with @p why (if not NULL) saying why it cannot be had
 * (no huge page size, a directory that is not one or not on tmpfs or hugetlbfs).
 */
int64_t shmlink_qfile_page_size(const struct shmlink_qfile_where *where, const char **why);

/**
 * shmlink_qfile_create() in the place @p where says (NULL: memfds). Huge-page data
 * regions are allocated here, so that a lack of free huge pages shows now.
 * @return as shmlink_qfile_create(); -EINVAL with @p why when the data size is not a
 * multiple of the huge page size, -ENOMEM when the huge pages are not there.
 */
int shmlink_qfile_create_in(const struct shmlink_qfile_sizes *sizes,
		const struct shmlink_qfile_where *where, int fds[SHMLINK_QFD_COUNT],
		const char **why);

/** Close the FDs of a queue that are >= 0 and set them to -1. */
void shmlink_qfile_close(int fds[SHMLINK_QFD_COUNT]);

/** One queue mapped into our address space. */
struct shmlink_qmap {
	uint8_t *data;			/**< the data region, mapped */
	uint64_t data_size;		/**< its size in bytes */
	uint8_t *tx_pipe;		/**< the TxPipe ring (client to server), mapped */
	uint64_t tx_pipe_size;		/**< its size in bytes */
	uint8_t *rx_pipe;		/**< the RxPipe ring (server to client), mapped */
	uint64_t rx_pipe_size;		/**< its size in bytes */
	uint8_t *shared;		/**< the shared data file, mapped */
	uint64_t shared_size;		/**< its size in bytes */
	struct shmlink_notify notify;	/**< word in @c shared, a dup of the eventfd */
	bool has_files;			/**< @c files holds FDs (shmlink_qmap_keep_files()) */
	int files[SHMLINK_QFD_COUNT];	/**< FDs of the queue's files, for another process;
					 *   closed by shmlink_qmap_unmap() */
};

/**
 * Map a queue from its five FDs (left open and owned by the caller; the eventfd is
 * dup'ed). Checks each FD's kind, access mode and size (spec §8.2): data >= @p
 * buffer_size, pipes 24..2^32-1 bytes, shared data >= 4 bytes.
 * @return 0, or -errno with nothing mapped; @p why (if not NULL) names the failed check.
 */
int shmlink_qmap_map(struct shmlink_qmap *m, const int fds[SHMLINK_QFD_COUNT],
		uint32_t buffer_size, const char **why);

/**
 * Keep a dup of each of the queue's five FDs @p fds in @p m->files, so that the files can
 * be handed to another process later (shmlink_qmap_map_at()) after the caller closed its
 * own. @return 0, or -errno with nothing kept.
 */
int shmlink_qmap_keep_files(struct shmlink_qmap *m, const int fds[SHMLINK_QFD_COUNT]);

/**
 * Map a queue again, in another process, at the addresses of @p like: another process's
 * mapping of the same files (@p fds), for endpoints in memory both processes map at the
 * same address (shmlink_ep_conf.zalloc). Each file must be at least as large as @p like
 * maps it. Never maps over a mapping of this process: an address range in use here fails
 * with -EEXIST.
 * @return 0, or -errno with nothing mapped; @p why (if not NULL) says what failed.
 */
int shmlink_qmap_map_at(struct shmlink_qmap *m, const int fds[SHMLINK_QFD_COUNT],
		const struct shmlink_qmap *like, const char **why);

/**
 * Check that a queue's data, pipe and shared files are sealed against shrinking
 * (F_SEAL_SHRINK), so that a peer cannot truncate them under our mapping and make our
 * next access fault with SIGBUS. Files from shmlink_qfile_create() are.
 * @return 0, or -EPERM with @p why (if not NULL) naming the first unsealed file.
 */
int shmlink_qfile_check_sealed(const int fds[SHMLINK_QFD_COUNT], const char **why);

/** Unmap a queue and close its eventfd dup. Does nothing on a zeroed or unmapped struct. */
void shmlink_qmap_unmap(struct shmlink_qmap *m);

#ifdef __cplusplus
}
#endif

#endif /* SHMLINK_QFILE_H */
