/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_EP_PRIV_H
#define SHMLINK_EP_PRIV_H

/*
 * The endpoint: its structure and the operations of its role, shared by
 * shmlink_endpoint.c (role-neutral calls), shmlink_client.c and shmlink_server.c (one
 * role each) and shmlink_frame.c. The role is chosen once, at create: the role-neutral
 * calls go through ep_ops() and the pointers ep->ours, ep->theirs and ep->notify, never
 * through a test of the role.
 *
 * An endpoint may live in memory that several processes map at the same address (DPDK's
 * shared memory, shmlink_ep_conf.zalloc), its queue files mapped at the same addresses
 * in each (shmlink_qmap_map_at()). So it holds no address of code (each process finds
 * the role's operations by ep->role) and no FD the data path uses but the eventfd of
 * shmlink_ep_tx_signal(), for which the others pass theirs (shmlink_ep_tx_signal_fd()).
 */

#include <string.h>

#include "shmlink_endpoint.h"
#include "shmlink_prefetch.h"
#include "shmlink_queue_inline.h"

#define EP_NONE UINT32_MAX

/* The most ids/buffers an endpoint tracks: bounds what a peer's file sizes can make us
 * allocate. */
#define EP_MAX_BUFFERS 65536u

/* Slots of a pipe prefetched at once: about a burst's worth. */
#define EP_PREFETCH_SLOTS 32u

/* Client transmit: TX queue, we write descriptors and read completions. */
struct client_tx {
	struct shmlink_pipe_tx desc;		/* TX queue TxPipe */
	struct shmlink_pipe_rx compl;		/* TX queue RxPipe */
	struct shmlink_notify notify;		/* TX queue: we signal */
	uint8_t *data;
	uint32_t buf_size;
	uint32_t nb_chunks;
	uint32_t nb_free_chunks;
	uint32_t chunk_head;			/* free_chunks: next to take */
	uint32_t chunk_tail;			/* free_chunks: where the next freed goes */
	uint32_t nb_ids;			/* frames in flight at most */
	uint32_t nb_free_ids;
	uint32_t *free_chunks;			/* ring of free chunks, first in first out */
	uint32_t *chunk_next;			/* chunk -> next chunk of its frame */
	uint32_t *id_chunk;			/* id -> first chunk, EP_NONE if free */
	uint32_t *free_ids;			/* stack */
	/* tx_hold: chunks lent to the caller to build frames in (shmlink_ep_tx_lend()) */
	uint32_t nb_lent;
	uint8_t *chunk_state;			/* chunk -> CHUNK_* bits; NULL: no tx_hold */
	uint32_t *chunk_gen;			/* chunk -> times lent: a token carries it */
	uint32_t buf_shift;			/* log2(buf_size) if a power of 2, else 0 */
};

/*
 * Where a client's TX chunk is, with tx_hold: lent to the caller, in flight with the
 * server (a frame sent where the caller built it), both, or neither. A chunk goes back
 * to the pool when both bits are clear; a chunk of a copied frame has neither set and
 * goes back at its completion, as without tx_hold.
 */
enum {
	CHUNK_LENT = 1,
	CHUNK_FLY = 2,
};

/* Client receive: RX queue, we post buffers and read completions. */
struct client_rx {
	struct shmlink_pipe_tx fill;		/* RX queue TxPipe */
	struct shmlink_pipe_rx compl;		/* RX queue RxPipe */
	struct shmlink_notify notify;		/* RX queue: we own the word */
	uint8_t *data;
	uint32_t buf_size;
	uint32_t nb_bufs;
	uint32_t nb_posted;
	uint32_t nb_repost;
	uint32_t nb_held;
	uint32_t nb_lent;			/* frames lent out (rx_hold) */
	uint8_t *posted;			/* id -> CLIENT_BUF_* */
	uint32_t *repost;			/* ids to post again */
	uint32_t *held;				/* ids of the current burst's frames */
	uint32_t *lent_next;			/* id -> next buffer of its lent frame,
						 * EP_NONE after the last (rx_hold) */
	uint32_t *lent_gen;			/* id -> times lent (rx_hold): a token
						 * carries its head's, so a stale one
						 * matches no frame lent since */
};

/* Where a client's RX buffer is. */
enum {
	CLIENT_BUF_OURS = 0,
	CLIENT_BUF_POSTED = 1,			/* with the server */
	CLIENT_BUF_LENT = 2,			/* with our caller (rx_hold) */
};

/* Server receive: TX queue, we read descriptors and write completions. */
struct server_rx {
	struct shmlink_pipe_rx desc;		/* TX queue TxPipe */
	struct shmlink_pipe_tx compl;		/* TX queue RxPipe */
	struct shmlink_notify notify;		/* TX queue: we own the word */
	uint8_t *data;
	uint64_t data_size;
	/* rx_hold: descriptors taken and not yet completed in the pipe (lent frames,
	 * and completions waiting for room in @backlog), at most rx_hold */
	uint32_t nb_out;
	uint32_t nb_backlog;
	uint64_t *backlog;			/* ids to complete when the pipe has room */
};

/* Server transmit: RX queue, we take posted buffers and write completions. */
struct server_tx {
	struct shmlink_pipe_rx fill;		/* RX queue TxPipe */
	struct shmlink_pipe_tx compl;		/* RX queue RxPipe */
	struct shmlink_notify notify;		/* RX queue: we signal */
	uint8_t *data;
	uint64_t data_size;
};

struct shmlink_ep;

/* What a role does; client_ops and server_ops. */
struct ep_role_ops {
	/* Set up the role's state over the two queues, and ep->ours, ->theirs, ->notify. */
	int (*create)(struct shmlink_ep *ep, const struct shmlink_qmap *txq,
			const struct shmlink_qmap *rxq);
	void (*destroy)(struct shmlink_ep *ep);
	unsigned int (*tx_burst)(struct shmlink_ep *ep, const struct shmlink_frame *frames,
			unsigned int n);
	/* @tokens NULL: the buffers go back at rx_release; else lent (rx_hold). */
	unsigned int (*rx_burst)(struct shmlink_ep *ep, struct shmlink_frame *frames,
			unsigned int max, struct shmlink_seg *segs, unsigned int max_segs,
			uint64_t *tokens);
	void (*rx_release)(struct shmlink_ep *ep);
	void (*rx_return)(struct shmlink_ep *ep, const uint64_t *tokens, unsigned int n);
	uint32_t (*rx_lent)(const struct shmlink_ep *ep);
	/* tx_hold (NULL: the role cannot lend TX buffers) */
	unsigned int (*tx_lend)(struct shmlink_ep *ep, struct shmlink_tx_chunk *chunks,
			unsigned int n);
	void (*tx_return)(struct shmlink_ep *ep, const uint64_t *tokens, unsigned int n);
	uint32_t (*tx_lent)(const struct shmlink_ep *ep);
	void (*buffers_get)(const struct shmlink_ep *ep, struct shmlink_ep_buffers *b);
	/* Whether a frame sent now can be received (NULL: always). */
	bool (*tx_ready)(const struct shmlink_ep *ep);
};

/* The endpoint's memory, from conf->zalloc if set: @n zeroed elements of @size. */
void *ep_zalloc(const struct shmlink_ep_conf *conf, size_t n, size_t size, size_t align)
	__attribute__((visibility("hidden")));
void ep_free(const struct shmlink_ep_conf *conf, void *p)
	__attribute__((visibility("hidden")));

extern const struct ep_role_ops client_ops __attribute__((visibility("hidden")));
extern const struct ep_role_ops server_ops __attribute__((visibility("hidden")));
extern const struct ep_role_ops *const ep_role_ops[2] __attribute__((visibility("hidden")));


/* The two queues, as the indices of ep->ours and ep->theirs. */
enum ep_queue {
	EP_TXQ = 0,	/* client to server */
	EP_RXQ = 1,	/* server to client */
};
#define EP_OTHER(q) ((enum ep_queue)(1 - (q)))

/* Each direction on its own cache lines, with its own counters: two threads may run the
 * two directions. */
struct shmlink_ep {
	enum shmlink_role role;
	enum ep_queue txdir;			/* the queue we send on: the client's TX
						 * queue, the server's RX queue */
	struct shmlink_ep_conf conf;
	/* The pipe of each queue that we write (client: descriptors, posted buffers;
	 * server: completions), and the one we read. */
	struct shmlink_pipe_tx *ours[2];
	struct shmlink_pipe_rx *theirs[2];
	/* The notification of our receive direction (our word, our eventfd), and of our
	 * transmit direction (the peer's). */
	const struct shmlink_notify *rx_notify;
	const struct shmlink_notify *tx_notify;
	bool trims;				/* a client trimming received frames */
	uint32_t max_wire;			/* max_frame + virtio header */
	bool rx_plain;				/* received frames are taken as they come:
						 * no virtio header, no trimming */
	bool rx_trim_eth;			/* a client trimming Ethernet frames, no
						 * virtio header */

	struct {
		union {
			struct client_tx c;
			struct server_tx s;
		};
		struct shmlink_ep_stats st;
	} tx __attribute__((aligned(EP_CACHE_LINE)));

	struct {
		union {
			struct client_rx c;
			struct server_rx s;
		};
		struct shmlink_ep_stats st;
		bool pending;			/* a burst awaits release */
	} rx __attribute__((aligned(EP_CACHE_LINE)));
};

/* The operations of the endpoint's role, in this process. */
static inline const struct ep_role_ops *
ep_ops(const struct shmlink_ep *ep)
{
	return ep_role_ops[ep->role];
}

/* Signal the peer of our transmit direction if it waits. The counter is atomic because
 * a caller deferring signals may send them from another thread than the bursts'. */
static inline bool
ep_tx_signal(struct shmlink_ep *ep, const struct shmlink_notify *n)
{
	if (!shmlink_notify_wanted(n) || !shmlink_notify_kick(n))
		return false;
	__atomic_fetch_add(&ep->tx.st.signals, 1, __ATOMIC_RELAXED);
	return true;
}

#endif /* SHMLINK_EP_PRIV_H */
