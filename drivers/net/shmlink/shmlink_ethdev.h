/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_ETHDEV_H
#define SHMLINK_ETHDEV_H

/* Private state of net_shmlink, shared by its files:
 *   shmlink_ethdev.c     probe, devargs, ethdev ops
 *   shmlink_rxtx.c       rx/tx bursts (the fast path)
 *   shmlink_offload.c    checksum offloads and packet types
 *   shmlink_peer.c       the port's side of the peer link: control socket,
 *                        attach/detach, link state
 *   shmlink_qlink.[ch]   queues entering and leaving their endpoint
 *   shmlink_mp.c         secondary processes: the queue files over rte_mp, their
 *                        bursts' way in
 *   shmlink_sigq.h       signal coalescing
 *   shmlink_zc.[ch]      zero-copy receive: frames lent as mbufs, and back
 *   shmlink_telemetry.c  telemetry commands
 *   shmlink_once.c       one registration per process
 *   shmlink_compat.h     differences between DPDK versions
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include <shmlink.h>

#include "shmlink_compat.h"
#include "shmlink_qlink.h"
#include "shmlink_sigq.h"

extern int shmlink_logtype;
#define SHMLINK_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, shmlink_logtype, "%s(): " fmt "\n", __func__, \
		##__VA_ARGS__)

#define SHMLINK_MAX_QUEUES	SHMLINK_CTL_MAX_QUEUE_PAIRS
#define SHMLINK_MAX_ALLOW	16	/* uids or gids in an allow-list devarg */
/* Handshakes a listening port runs at once: peers that connect and never answer take
 * a slot each until their time runs out, the rest are refused as busy. */
#define SHMLINK_MAX_HANDSHAKES	4
#define SHMLINK_BURST_MAX	64
/* Segments one burst may hand to the library: room for multi-segment frames. */
#define SHMLINK_BURST_SEGS	(SHMLINK_BURST_MAX * 8)
/* Headers a Tx checksum is filled into (Ethernet, two tags, IPv4 with options or IPv6
 * with extension headers, TCP or UDP); longer ones are refused. */
#define SHMLINK_TX_HDR_MAX	128u
#define SHMLINK_NB_PTYPES	11
#define SHMLINK_RX_CKSUM_OFFLOADS	(RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | \
		RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
#define SHMLINK_RX_OFFLOADS	(RTE_ETH_RX_OFFLOAD_SCATTER | SHMLINK_RX_CKSUM_OFFLOADS)
#define SHMLINK_TX_OFFLOADS	(RTE_ETH_TX_OFFLOAD_MULTI_SEGS | \
		RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
		RTE_ETH_TX_OFFLOAD_UDP_CKSUM)

/* Counters of the checksum offloads (xstats), per queue, written by its lcore. */
struct shmlink_offload_stats {
	uint64_t rx_filled;		/* TCP/UDP checksums the port filled */
	uint64_t rx_bad_header;		/* frames whose headers the peer got wrong */
	uint64_t rx_unchecked;		/* frames too scattered to check or fill */
	uint64_t tx_filled;		/* frames whose asked-for checksums the port filled */
	uint64_t tx_bad_offload;	/* mbufs whose offload request could not be met */
};

/* Per-queue counters; each written by one lcore only. */
struct shmlink_qstats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t errors;
	uint64_t nombuf;
	uint64_t dropped;
};

struct shmlink_rxq {
	struct shmlink_qlink link;
	struct shmlink_sigq *sig;	/* the pair's pending signal; NULL: no coalescing */
	struct rte_mempool *mp;
	struct pmd_internals *pmd;
	uint16_t queue_id;
	uint16_t port_id;
	bool scatter;
	bool raw_ip;			/* frames start with the IP header */
	bool parse;			/* the application wants checksums checked or packet
					 * types: parse every frame */
	uint64_t offloads;		/* RTE_ETH_RX_OFFLOAD_* the application enabled */
	struct shmlink_offload_stats ost;
	RTE_ATOMIC(bool) intr_on;	/* the application enabled rx interrupts */
	uint32_t evict_min;		/* devarg rx_evict, 0 where the CPU cannot */
	uint64_t evicted;		/* xstat rx_evicted_frames (not in st: the
					 * xstats have their own reset) */
	uint64_t zc_lent;		/* xstat rx_zero_copy_frames */
	uint64_t zc_copied;		/* xstat rx_zero_copy_copied_frames: frames a
					 * port that lends delivered copied (no slot
					 * free, a secondary process's burst) */
	uint16_t data_room;		/* bytes one mbuf takes after headroom */
	uint16_t nb_desc;		/* asked at setup, shown by rxq_info_get */
	struct shmlink_qstats st;
	struct shmlink_frame frames[SHMLINK_BURST_MAX];
	struct shmlink_seg segs[SHMLINK_BURST_SEGS];
} __rte_cache_aligned;

struct shmlink_txq {
	struct shmlink_qlink link;
	struct shmlink_sigq *sig;	/* the pair's pending signal; NULL: no coalescing */
	uint32_t sig_frames;		/* frames sent since the pending signal was set */
	struct pmd_internals *pmd;
	uint16_t queue_id;
	uint16_t port_id;
	uint16_t nb_desc;		/* asked at setup, shown by txq_info_get */
	uint64_t offloads;		/* RTE_ETH_TX_OFFLOAD_* the application enabled */
	struct shmlink_qstats st;
	struct shmlink_offload_stats ost;
	struct shmlink_frame frames[SHMLINK_BURST_MAX];
	struct shmlink_seg segs[SHMLINK_BURST_SEGS];
	uint8_t hdrs[SHMLINK_BURST_MAX][SHMLINK_TX_HDR_MAX];	/* headers with filled sums */
} __rte_cache_aligned;

struct pmd_internals;
struct shmlink_zc;

/* One attach handshake in progress, driven by its socket's interrupt callback. */
struct shmlink_handshake {
	struct pmd_internals *pmd;
	struct rte_intr_handle *intr;
	bool active;			/* the slot is taken */
	bool done;			/* attached, waiting to be installed */
	pid_t pid;			/* the peer, from SO_PEERCRED */
	uid_t uid;
	gid_t gid;
	struct shmlink_attach_hs hs;
};

/* "shml": a port made by net_shmlink; with shmlink_pmd_layout(), what a secondary
 * process checks before it reads the primary's state. */
#define SHMLINK_PMD_MAGIC	0x73686d6cu

/* In dev->data->dev_private: DPDK's shared memory, which secondary processes map at the
 * same address. Pointers in it point there too (queues, endpoints), except those the
 * comments call the primary's. */
struct pmd_internals {
	uint32_t magic;			/* SHMLINK_PMD_MAGIC */
	uint32_t layout;		/* shmlink_pmd_layout() of the primary's build */
#ifdef SHMLINK_TEST_PMD_SKEW
	uint64_t test_skew;		/* another layout, for test_multiprocess.py */
#endif
	/* devargs */
	char socket_path[108];
	bool listen;
	enum shmlink_role role;
	bool role_set;
	struct rte_ether_addr mac;
	uint32_t mtu;
	uint32_t buffer_size;
	struct shmlink_qfile_sizes sizes;
	struct shmlink_qfile_where files;	/* devarg queue_files: where a listening port
						 * makes them */
	uint16_t nb_qp;
	bool raw_ip;
	bool virtio_hdr;
	enum shmlink_trim trim;
	bool allow_unsealed;
	uint16_t offloads;		/* SHMLINK_CTL_O_* said to peers (rx_cksum, tx_cksum) */
	uint16_t offloads_required;	/* of those, the ones without which there is no link */
	int socket_mode;		/* -1: default 0600 */
	gid_t socket_gid;
	bool socket_gid_set;
	/* Peers allowed by SO_PEERCRED: any if both lists are empty. */
	uint16_t nb_allow_uid;
	uint16_t nb_allow_gid;
	uid_t allow_uid[SHMLINK_MAX_ALLOW];
	gid_t allow_gid[SHMLINK_MAX_ALLOW];
	uint32_t signal_delay_us;	/* 0: signal after every burst, as gVisor does */
	uint32_t signal_batch;
	uint64_t signal_delay_tsc;
	uint32_t rx_evict;		/* evict received frames of this size or more; 0 none */
	uint64_t rx_evicted_freed;	/* frames evicted by rx queues since released */
	bool zero_copy_rx;		/* devarg zero_copy: lend received frames */
	bool zero_copy_tx;		/* devarg zero_copy: lend TX buffers (client) */
	uint64_t zc_lent_freed;		/* zc_lent, zc_copied of queues since released */
	uint64_t zc_copied_freed;
	bool ptypes_wanted;		/* rte_eth_dev_set_ptypes() named some */
	struct shmlink_offload_stats ost_freed;	/* of queues since released */

	uint16_t port_id;
	struct rte_eth_dev *dev;	/* the primary's */
	bool started;
	bool keep_files;		/* secondary processes may exist: keep the queue
					 * files to hand them over (shmlink_mp.c) */

	/* control path, run by the EAL interrupt thread of the primary; @lock guards
	 * what follows against the ethdev ops, of any process (never taken by the data
	 * path); its FDs and interrupt handles are the primary's */
	rte_spinlock_t lock;
	int listen_fd;
	int conn_fd;
	bool sock_created;		/* we made the socket file: remove it */
	struct rte_intr_handle *listen_intr;
	bool listen_registered;
	struct rte_intr_handle *conn_intr;
	bool reconnect_armed;
	bool ready_armed;		/* peer_ready_poll is due */
	bool closing;
	bool lsc_pending;		/* deliver an LSC event once the lock is dropped */
	RTE_ATOMIC(bool) broken_reported;		/* a burst asked for a damaged peer to be dropped */
	struct shmlink_handshake hs[SHMLINK_MAX_HANDSHAKES];	/* a connecting port
								 * uses the first */
	struct shmlink_attach att;
	struct shmlink_ep *ep[SHMLINK_MAX_QUEUES];
	/* zero_copy=rx: each queue pair's lending (shmlink_zc.h), set before its endpoint
	 * reaches the queues and dropped after no burst uses it */
	struct shmlink_zc *zc[SHMLINK_MAX_QUEUES];
	/* zero_copy=tx, the client role: each queue pair's TX chunks lent, likewise */
	struct shmlink_zc *zc_tx[SHMLINK_MAX_QUEUES];
	bool attached;
	bool peer_ready;		/* a frame sent now can be received: the link is up
					 * (when started) */
	pid_t peer_pid;
	uid_t peer_uid;
	gid_t peer_gid;
	/* Peers attached so far; a secondary process's mappings are of one of them.
	 * Stored (release) before the queues get the new endpoints. */
	RTE_ATOMIC(uint64_t) attach_count;
	/* The rx interrupt FD of each queue: an epoll instance that holds the eventfd of
	 * our receive direction while a peer is attached. It outlives peers, so an
	 * application registers it once; each peer gets fresh eventfds, so none can
	 * reach the eventfds of the next. */
	int rx_epfd[SHMLINK_MAX_QUEUES];
	/* Counters of detached endpoints, so stats survive reconnects. */
	struct shmlink_ep_stats ep_saved;
	uint64_t xstats_base[SHMLINK_ERR_COUNT + 24];

	struct shmlink_rxq *rxq[SHMLINK_MAX_QUEUES];
	struct shmlink_txq *txq[SHMLINK_MAX_QUEUES];
	struct shmlink_sigq sig[SHMLINK_MAX_QUEUES];
};

/* A fingerprint of struct pmd_internals and the queues: sizes and where the fields a
 * secondary process reads lie (a size alone can hide a change in padding). */
static inline uint32_t
shmlink_pmd_layout(void)
{
	const size_t v[] = {
		sizeof(struct pmd_internals), sizeof(struct shmlink_rxq),
		sizeof(struct shmlink_txq), offsetof(struct pmd_internals, lock),
		offsetof(struct pmd_internals, att), offsetof(struct pmd_internals, ep),
		offsetof(struct pmd_internals, attach_count),
		offsetof(struct pmd_internals, rxq), offsetof(struct pmd_internals, sig),
		offsetof(struct shmlink_rxq, st), offsetof(struct shmlink_txq, st),
	};
	uint32_t h = 2166136261u;	/* FNV-1a */
	unsigned int i;

	for (i = 0; i < RTE_DIM(v); i++)
		h = (h ^ (uint32_t)v[i]) * 16777619u;
	return h;
}

/* shmlink_rxtx.c */
uint16_t shmlink_rx_burst(void *q, struct rte_mbuf **bufs, uint16_t nb_pkts);
uint16_t shmlink_rx_burst_zc(void *q, struct rte_mbuf **bufs, uint16_t nb_pkts);
uint16_t shmlink_tx_burst_zc(void *q, struct rte_mbuf **bufs, uint16_t nb_pkts);
uint16_t shmlink_tx_burst(void *q, struct rte_mbuf **bufs, uint16_t nb_pkts);
/* Rx and Tx of a secondary process: the primary's endpoints, the queue files mapped
 * again here at the primary's addresses. */
uint16_t shmlink_rx_burst_secondary(void *q, struct rte_mbuf **bufs, uint16_t nb_pkts);
uint16_t shmlink_tx_burst_secondary(void *q, struct rte_mbuf **bufs, uint16_t nb_pkts);

/* shmlink_offload.c */
extern const uint32_t shmlink_ptypes[SHMLINK_NB_PTYPES + 1];
/* Packet types and checksum flags of @n received mbufs (offloads @agreed). */
void shmlink_rx_offload(struct shmlink_rxq *q, uint16_t agreed, struct rte_mbuf **bufs,
		unsigned int n);
/* Frame @f (segments from @segs, room for m->nb_segs + 1) for mbuf @m, which asks for
 * checksums, as burst slot @i. Returns 0 (described, its checksums filled), 1 (send it
 * as it is) or -1 (it cannot be sent; counted). */
int shmlink_tx_offload(struct shmlink_txq *q, uint16_t agreed, struct rte_mbuf *m,
		unsigned int i, struct shmlink_frame *f, struct shmlink_seg *segs);
uint16_t shmlink_tx_prepare(void *q, struct rte_mbuf **pkts, uint16_t nb_pkts);
void shmlink_offload_stats_add(struct shmlink_offload_stats *to,
		const struct shmlink_offload_stats *from);

/* shmlink_peer.c */
int shmlink_peer_start(struct pmd_internals *pmd);
void shmlink_peer_stop(struct pmd_internals *pmd);
void shmlink_peer_update_link(struct pmd_internals *pmd);
/* Send every pending coalesced signal: the bursts have stopped. */
void shmlink_peer_flush_signals(struct pmd_internals *pmd);
void shmlink_peer_stats(struct pmd_internals *pmd, struct shmlink_ep_stats *st);
/* Lent now, of the attached peer: received frames the application holds (zero_copy=rx),
 * or with @tx TX buffers (zero_copy=tx). */
uint64_t shmlink_peer_zc_lent(struct pmd_internals *pmd, bool tx);

/* Whether @dev is a port of this copy of the driver. */
bool shmlink_dev_is_ours(const struct rte_eth_dev *dev);
void shmlink_peer_link_queue(struct pmd_internals *pmd, struct shmlink_rxq *rxq,
		struct shmlink_txq *txq);
void shmlink_peer_unlink_queue(struct pmd_internals *pmd, struct shmlink_rxq *rxq,
		struct shmlink_txq *txq);
int shmlink_peer_rx_intr(struct pmd_internals *pmd, uint16_t qid, bool on);
void shmlink_peer_report_broken(struct pmd_internals *pmd);
/* Primary: drop the peer soon (from the EAL interrupt thread). */
void shmlink_peer_broken_arm(struct pmd_internals *pmd);

/* shmlink_mp.c */
/* Primary: answer secondary processes' requests (once per process). Returns 0, or
 * -ENOTSUP when EAL has no multi-process channel (--no-shconf, --in-memory). */
int shmlink_mp_init(void);
/* Secondary: the per-process state of port @dev (dev->process_private); its end. */
int shmlink_mp_attach(struct rte_eth_dev *dev);
void shmlink_mp_detach(struct rte_eth_dev *dev);
/* Secondary burst of queue pair @qp: enter @link, the peer's files mapped here for the
 * endpoint it holds; *efd: this process's FD of the peer's eventfd. NULL: no peer, or
 * not mapped (logged once per peer). */
struct shmlink_ep *shmlink_mp_enter(struct shmlink_qlink *link, struct pmd_internals *pmd,
		uint16_t port_id, uint16_t qp, int *efd);
/* Secondary: ask the primary to drop a peer that damaged a ring. */
void shmlink_mp_report_broken(struct pmd_internals *pmd);
/* The pmd of port @port_id if net_shmlink drives it, else NULL. */
struct pmd_internals *shmlink_pmd_of(uint16_t port_id);

/* shmlink_once.c: false in a copy of the driver loaded after another one in the same
 * process; such a copy registers nothing. Call from constructors. */
bool shmlink_pmd_first_copy(void);

#endif /* SHMLINK_ETHDEV_H */
