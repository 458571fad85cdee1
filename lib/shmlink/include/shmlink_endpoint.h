/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_ENDPOINT_H
#define SHMLINK_ENDPOINT_H

/**
 * @file
 * Endpoints: one side of a queue pair (spec §6), in either of gVisor's roles.
 *
 * - SHMLINK_ROLE_CLIENT behaves as gVisor's sharedmem.New: it owns the buffers of both
 *   data regions, sends through a TX buffer pool and id table, and posts RX buffers.
 * - SHMLINK_ROLE_SERVER behaves as gVisor's NewServerEndpoint: it reads the client's TX
 *   descriptors (and completes every one of them), and fills the client's posted buffers.
 *
 * Both take the same two queues, named from the client's side (TX: client -> server).
 *
 * The data path works in bursts: one ring flush and at most one eventfd signal per burst.
 * Frames are scatter lists of (pointer, length), so callers map their own buffer chains
 * (DPDK mbufs, say) onto them. Received frames point into shared memory and stay valid
 * until shmlink_ep_rx_release(); the peer may still write to those bytes, so copy them.
 * An endpoint made with @c rx_hold also lends received frames out (zero-copy receive):
 * shmlink_ep_rx_burst_hold() gives each frame a token, and its buffers stay the
 * caller's until shmlink_ep_rx_return() gives them back to the peer.
 *
 * Threads: the transmit functions and the receive functions may run on two different
 * threads, each on one thread at a time. Nothing here blocks or allocates after create.
 *
 * The peer is untrusted. Every record is copied out of the ring once and checked; a bad
 * one is counted in the endpoint's error counters (the peer loses that frame or buffer)
 * and a damaged ring marks the endpoint broken: from then on nothing moves and the owner
 * should drop the link.
 */

#include <stdbool.h>
#include <stdint.h>

#include "shmlink_notify.h"
#include "shmlink_qfile.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The most buffers one frame may span; frames needing more are dropped. */
#define SHMLINK_FRAME_MAX_BUFS	128u
/** Length of the virtio-net header that may precede each frame on the wire. */
#define SHMLINK_VIRTIO_HDR_LEN	10u
/** Default largest frame accepted on receive (not counting a virtio header). */
#define SHMLINK_DEFAULT_MAX_FRAME 65535u
/** Link-layer room on top of the MTU with Ethernet framing: the header, two VLAN tags. */
#define SHMLINK_ETH_FRAME_ROOM	(14u + 2 * 4u)

/**
 * The largest frame of a link of L3 MTU @p mtu, not counting a virtio header: the MTU
 * with raw IP framing, else the MTU plus an Ethernet header and two VLAN tags, so that
 * frame sizes mean what they mean to DPDK applications (64 to 1518 at MTU 1500).
 */
static inline uint32_t
shmlink_max_frame(uint32_t mtu, bool raw_ip)
{
	return raw_ip ? mtu : mtu + SHMLINK_ETH_FRAME_ROOM;
}

/** The gVisor role an endpoint plays. */
enum shmlink_role {
	SHMLINK_ROLE_CLIENT = 0,	/**< gVisor's sharedmem.New */
	SHMLINK_ROLE_SERVER = 1,	/**< gVisor's sharedmem.NewServerEndpoint */
};

/** Endpoint settings; both sides must agree on them out of band (spec §8.1-11). */
struct shmlink_ep_conf {
	uint32_t buffer_size;	/**< client: size of each TX chunk and posted RX buffer
				 *   (0: 2048); server: unused */
	uint32_t max_frame;	/**< largest frame taken on receive, without the virtio
				 *   header (0: 65535) */
	bool virtio_hdr;	/**< a 10-byte virtio-net header precedes each frame on the
				 *   wire: 10 zero bytes added on send, stripped on receive */
	bool raw_ip;		/**< frames are raw IP packets (gVisor's empty LinkAddress),
				 *   not Ethernet frames; used by @c trim */
	bool trim;		/**< client: cut received frames to their L3 length, for
				 *   gVisor's server over-reporting sizes (spec §8.1-1) */
	bool defer_signals;	/**< shmlink_ep_tx_burst() never signals the peer: the
				 *   caller calls shmlink_ep_tx_signal() when it chooses
				 *   (to coalesce the wake-ups of a sleeping peer) */
	uint32_t rx_hold;	/**< the most received frames lent out at once by
				 *   shmlink_ep_rx_burst_hold() (0: none, the endpoint
				 *   only copies); capped at the buffers of the receive
				 *   direction */
	uint32_t tx_hold;	/**< client: the most TX chunks lent out at once by
				 *   shmlink_ep_tx_lend() (0: none; a server lends
				 *   none, the client chooses its buffers) */
	uint16_t offloads;	/**< the checksum offloads the link agreed on, from this
				 *   side (SHMLINK_CTL_O_*, shmlink_attach_ep_conf()); the
				 *   endpoint keeps them for its user, who acts on them
				 *   (shmlink_cksum.h) */
	/** Where the endpoint's state is allocated; NULL: the C library's heap. Memory
	 *  that other processes map at the same address (DPDK's rte_zmalloc) lets them
	 *  read the endpoint's counters (shmlink_ep_stats_get()). @c zalloc returns
	 *  zeroed memory aligned to @p align, or NULL. */
	void *(*zalloc)(size_t size, size_t align, void *arg);
	void (*free)(void *ptr, void *arg);		/**< undoes @c zalloc */
	void *mem_arg;					/**< their @p arg */
};

/** A piece of a frame. */
struct shmlink_seg {
	void *addr;	/**< first byte of the piece */
	uint32_t len;	/**< its length in bytes */
};

/** A frame: @c nb_segs pieces adding up to @c len bytes. */
struct shmlink_frame {
	struct shmlink_seg *segs;	/**< the pieces, in frame order */
	uint32_t nb_segs;		/**< how many pieces @c segs holds */
	uint32_t len;			/**< the frame's length: the sum of the pieces */
};

/** Kinds of peer protocol violations (spec §8.2). */
enum shmlink_err {
	SHMLINK_ERR_RING = 0,		/**< a damaged pipe; the endpoint is broken */
	SHMLINK_ERR_TX_DESC,		/**< server: bad TX descriptor (completed, dropped) */
	SHMLINK_ERR_TX_COMPL,		/**< client: bad or unknown TX completion (ignored) */
	SHMLINK_ERR_POSTED_BUF,		/**< server: bad posted RX buffer (skipped) */
	SHMLINK_ERR_RX_COMPL,		/**< client: bad RX completion (frame dropped) */
	SHMLINK_ERR_COUNT,		/**< number of kinds, not a kind */
};

/** Counters of an endpoint. Packets and bytes are the caller's to count. */
struct shmlink_ep_stats {
	uint64_t err[SHMLINK_ERR_COUNT];	/**< peer violations, by kind */
	uint64_t rx_oversize;	/**< received frames too long or in too many buffers */
	uint64_t rx_runt;	/**< received frames empty or shorter than the virtio header */
	uint64_t rx_trimmed;	/**< received frames cut to their L3 length */
	uint64_t tx_oversize;	/**< frames to send that can never fit: dropped */
	uint64_t signals;	/**< eventfd writes to the peer */
	uint64_t tx_in_place;	/**< frames sent where the caller built them, in lent
				 *   TX chunks (tx_hold) */
};

/** An endpoint: opaque, made by shmlink_ep_create(). */
struct shmlink_ep;

/** Name of an error counter, e.g. "ring_damaged". */
const char *shmlink_err_name(enum shmlink_err e);

/**
 * Create an endpoint over two mapped queues, which must outlive it. Sets our consumer
 * word to "polling". A client posts its initial RX buffers here.
 * @return the endpoint, or NULL with errno set (EINVAL: bad configuration or queues too
 * small for it; ENOMEM).
 */
struct shmlink_ep *shmlink_ep_create(enum shmlink_role role, const struct shmlink_qmap *txq,
		const struct shmlink_qmap *rxq, const struct shmlink_ep_conf *conf);

/** Free an endpoint. Writes nothing to the queues. NULL is allowed. */
void shmlink_ep_destroy(struct shmlink_ep *ep);

/**
 * Send up to @p n frames, copying them into shared memory; one flush and at most one
 * signal. Stops at the first frame that does not fit now (back-pressure).
 * @return how many frames were consumed: sent, or dropped because they can never fit
 * (counted in tx_oversize). The caller may free those and retry the rest later.
 */
unsigned int shmlink_ep_tx_burst(struct shmlink_ep *ep, const struct shmlink_frame *frames,
		unsigned int n);

/**
 * Signal the peer for every frame sent so far, if it asked for signals (spec §5): what
 * shmlink_ep_tx_burst() does after each burst unless @c defer_signals is set. With
 * @c defer_signals, the caller must call this within its chosen delay of a burst, or a
 * sleeping peer may never see the frames. It may run on any thread.
 * @return true if the peer's eventfd was written.
 */
bool shmlink_ep_tx_signal(struct shmlink_ep *ep);

/**
 * shmlink_ep_tx_signal() through @p efd: another process's FD of the peer's eventfd,
 * for an endpoint that process shares (shmlink_ep_conf.zalloc; the endpoint's own FD is
 * the creator's). Such an endpoint is created with @c defer_signals.
 */
bool shmlink_ep_tx_signal_fd(struct shmlink_ep *ep, int efd);

/**
 * True if the peer asked for signals: it may be asleep, and the frames sent so far
 * need a shmlink_ep_tx_signal(). False means it polls and will see them without one.
 * Orders the frames already published before the load of the peer's word.
 */
bool shmlink_ep_tx_peer_waits(const struct shmlink_ep *ep);

/**
 * Receive up to @p max frames. Their segments are taken from @p segs (room for
 * @p max_segs) and point into shared memory until shmlink_ep_rx_release(), which is done
 * implicitly by the next call if the caller did not. Virtio headers are already stripped.
 * @return the number of frames in @p frames.
 */
unsigned int shmlink_ep_rx_burst(struct shmlink_ep *ep, struct shmlink_frame *frames,
		unsigned int max, struct shmlink_seg *segs, unsigned int max_segs);

/** Give the buffers of the last received burst back to the peer (one flush). */
void shmlink_ep_rx_release(struct shmlink_ep *ep);

/**
 * Receive up to @p max frames as shmlink_ep_rx_burst() does, but lend them out: frame i
 * gets token @p tokens[i], and its buffers stay out of the peer's hands, even after
 * shmlink_ep_rx_release(), until its token is passed to shmlink_ep_rx_return(). Takes
 * no more frames than keep the tokens out at most @c rx_hold (0 frames when the
 * endpoint has none). The peer may still write to a lent frame's bytes: a client that
 * breaks the protocol can, a server cannot (the buffers are ours, not posted).
 * @return the number of frames in @p frames and tokens in @p tokens.
 */
unsigned int shmlink_ep_rx_burst_hold(struct shmlink_ep *ep, struct shmlink_frame *frames,
		unsigned int max, struct shmlink_seg *segs, unsigned int max_segs,
		uint64_t *tokens);

/**
 * Give the buffers of @p n lent frames back to the peer, in any order (gVisor frees TX
 * ids one by one; posted buffers are named by offset); one flush. On the receiving
 * thread. Each token goes back exactly once: a client ignores a token of no frame it has
 * lent now (given back already, or made up); a server cannot tell, and completes it.
 */
void shmlink_ep_rx_return(struct shmlink_ep *ep, const uint64_t *tokens, unsigned int n);

/** How many frames shmlink_ep_rx_burst_hold() has lent out and not had back. */
uint32_t shmlink_ep_rx_lent(const struct shmlink_ep *ep);

/** A chunk of a client's TX data region lent to the caller to build a frame in. */
struct shmlink_tx_chunk {
	void *addr;		/**< its first byte */
	uint32_t size;		/**< its bytes: @c buffer_size */
	uint64_t token;		/**< for shmlink_ep_tx_return() */
};

/**
 * Zero-copy transmit (client, @c tx_hold): lend up to @p n free chunks of the TX data
 * region to the caller, at most @c tx_hold at once. A frame whose pieces all lie in
 * chunks lent now and not in flight, one piece per chunk, is sent by
 * shmlink_ep_tx_burst() where it is, without a copy (with a virtio header, its first
 * piece needs SHMLINK_VIRTIO_HDR_LEN bytes of its chunk before it); any other frame is
 * copied. A chunk stays the caller's after its frame is sent, until its token is given
 * back; it goes back to the pool once given back and completed by the server: a frame
 * must not lie in a chunk given back. On the transmitting thread.
 * @return the number of chunks lent, 0 for a server or an endpoint without @c tx_hold.
 */
unsigned int shmlink_ep_tx_lend(struct shmlink_ep *ep, struct shmlink_tx_chunk *chunks,
		unsigned int n);

/**
 * Give @p n chunks lent by shmlink_ep_tx_lend() back, in any order, sent or not. On the
 * transmitting thread. A token of no chunk lent now is ignored.
 */
void shmlink_ep_tx_return(struct shmlink_ep *ep, const uint64_t *tokens, unsigned int n);

/** How many chunks shmlink_ep_tx_lend() has lent out and not had back. */
uint32_t shmlink_ep_tx_lent(const struct shmlink_ep *ep);

/**
 * Evict a received frame's bytes from every CPU cache (x86 CLFLUSHOPT), after copying
 * it out and before shmlink_ep_rx_release(). The peer writes those buffers again next;
 * a line still held by this CPU makes each of its stores wait for this CPU to give the
 * line up, which costs far more when the two CPUs share no cache than the peer's
 * fetch of the line from memory. Nothing without CLFLUSHOPT (see
 * shmlink_frame_evict_works()). Only addresses the frame's segments cover are touched.
 */
void shmlink_frame_evict(const struct shmlink_frame *f);

/** True if shmlink_frame_evict() does something on this CPU. */
bool shmlink_frame_evict_works(void);

/**
 * True if shmlink_ep_rx_burst() would now receive nothing and do nothing else: no burst
 * awaits release, no buffer is to be posted again, nothing is broken, and the peer has
 * published nothing. A poll loop's empty case, for less than the burst costs; false
 * says only "call the burst".
 */
bool shmlink_ep_rx_idle(const struct shmlink_ep *ep);

/** True if the next shmlink_ep_rx_burst() would find something (or the ring is bad). */
bool shmlink_ep_rx_ready(struct shmlink_ep *ep);

/**
 * The notification of our receive direction, for the consumer sleep sequence
 * (see shmlink_notify.h): its eventfd is what to wait on.
 */
const struct shmlink_notify *shmlink_ep_rx_notify(const struct shmlink_ep *ep);

/**
 * Whether a frame sent now can be received by the peer: in the server role, once the
 * client has posted its first receive buffers (until then a gVisor server drops what
 * it sends, and this one refuses it); in the client role, always (the client's buffers
 * are its own). Any thread may ask.
 */
bool shmlink_ep_tx_ready(const struct shmlink_ep *ep);

/** The checksum offloads the link agreed on (shmlink_ep_conf::offloads). */
uint16_t shmlink_ep_offloads(const struct shmlink_ep *ep);

/** True once a damaged ring was seen: the link must be dropped. */
bool shmlink_ep_broken(const struct shmlink_ep *ep);

/** Read the counters (summed over both directions). */
void shmlink_ep_stats_get(const struct shmlink_ep *ep, struct shmlink_ep_stats *st);

/** Add the counters of @p from to @p to (to total endpoints or peers over time). */
void shmlink_ep_stats_add(struct shmlink_ep_stats *to, const struct shmlink_ep_stats *from);

/**
 * Client: how many TX buffers (chunks) and RX buffers the endpoint has, and how many of
 * each are with the peer now. Both "with peer" figures return to 0 and the posted count
 * respectively once the peer has completed everything. Server: all zero.
 */
struct shmlink_ep_buffers {
	uint32_t tx_chunks;		/**< TX chunks in the pool */
	uint32_t tx_chunks_inflight;	/**< TX chunks sent, not yet completed, or lent */
	uint32_t rx_bufs;		/**< RX buffers this client posts */
	uint32_t rx_bufs_posted;	/**< RX buffers with the server now */
};

/** Fill @p b with the buffer counts of @p ep (see struct shmlink_ep_buffers). */
void shmlink_ep_buffers_get(const struct shmlink_ep *ep, struct shmlink_ep_buffers *b);

/**
 * Occupancy of the two pipes this endpoint writes, as last seen by it: bytes pushed that
 * the peer had not released at our last reclaim, and the ring sizes. [0] is the pipe of
 * our transmit direction (TX descriptors, or RX completions as server), [1] the other
 * (posted buffers as client, TX completions as server). For monitoring: it may lag.
 */
struct shmlink_ep_rings {
	uint64_t used[2];	/**< bytes not yet released by the peer, per pipe */
	uint64_t size[2];	/**< ring size in bytes, per pipe */
};

/** Fill @p r with the occupancy of the pipes @p ep writes (see struct shmlink_ep_rings). */
void shmlink_ep_rings_get(const struct shmlink_ep *ep, struct shmlink_ep_rings *r);

#ifdef __cplusplus
}
#endif

#endif /* SHMLINK_ENDPOINT_H */
