/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef PEER_H
#define PEER_H

/*
 * shmlink-peer: the sandbox side of a net_shmlink link, on libshmlink alone. One file
 * per concern:
 *   peer_opts.c   command line
 *   peer_main.c   main loop: attach, watch the peer, stop, exit status
 *   peer_link.c   control socket: listen/connect, attach, endpoints
 *   peer_fwd.c    the queue threads and the forwarding modes
 *   peer_pkt.c    test frames: building and checking them
 *   peer_icmp.c   ARP, ICMP and ICMPv6 echo and neighbour answers
 *   peer_stats.c  counters, periodic statistics, summary and JSON
 */

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <shmlink.h>

#define PEER_NAME		"shmlink-peer"
#define PEER_MAX_QUEUES		SHMLINK_CTL_MAX_QUEUE_PAIRS
#define PEER_BURST_MAX		512u
#define PEER_MAX_TXPKTS		64u
#define PEER_CACHE_LINE		64
#define PEER_DIM(a)		(sizeof(a) / sizeof((a)[0]))

/* Exit statuses. */
#define PEER_EXIT_OK		0
#define PEER_EXIT_FAIL		1
#define PEER_EXIT_USAGE		2

#define PEER_ETH_ALEN		6u
#define PEER_ETH_HDR_LEN	14u

enum peer_mode {
	PEER_MODE_RXONLY,
	PEER_MODE_TXONLY,
	PEER_MODE_IO,
	PEER_MODE_MACSWAP,
	PEER_MODE_ICMPECHO,
};


/* Everything the command line says; read-only once parsed. */
struct peer_opts {
	const char *socket_path;
	bool listen;
	double connect_timeout;		/* seconds, 0: wait forever */
	bool reconnect;
	bool role_set;
	enum shmlink_role role;
	bool raw_ip;
	bool virtio_hdr;
	bool allow_unsealed;		/* connecting: accept unsealed queue files */
	uint16_t nb_qp;
	uint32_t mtu;
	uint32_t buffer_size;
	uint64_t data_size;		/* 0: the library's default */
	uint64_t pipe_size;
	uint8_t mac[PEER_ETH_ALEN];
	bool peer_mac_set;
	uint8_t peer_mac[PEER_ETH_ALEN];
	enum shmlink_trim trim;
	uint16_t offloads;		/* --cksum-offload: SHMLINK_CTL_O_* we say */
	bool udp_cksum;			/* fill the UDP checksums we may not leave 0 */
	uint16_t vlan;			/* txonly: 802.1Q tag of the frames, 0: untagged */
	uint32_t attach_delay_ms;	/* between the handshake and the endpoints, as a
					 * gVisor stack that attaches its NIC later */
	uint64_t rx_count;		/* stop once this many frames came in, 0: never */

	enum peer_mode mode;
	bool verify;
	bool window_set;
	bool window_auto;		/* --window auto (the default) */
	uint32_t window;		/* txonly --verify: frames out at most, 0: any */
	uint64_t tx_pps;		/* txonly: per queue, 0: as fast as it goes */
	unsigned int burst;
	unsigned int nb_txpkts;
	uint32_t txpkts[PEER_MAX_TXPKTS];
	struct in_addr ip;
	struct in_addr peer_ip;
	bool ip6_set;
	struct in6_addr ip6;
	uint16_t udp_src;
	uint16_t udp_dst;
	unsigned int nb_cpus;
	int cpus[PEER_MAX_QUEUES];
	bool rx_intr;

	double duration;		/* seconds of traffic, 0: until a signal */
	double stats_period;		/* 0: no periodic statistics */
	const char *json_path;
	bool expect_min_set;
	uint64_t expect_min;
	bool fail_on_errors;
};

/*
 * Parse the command line into @o. Returns -1 to go on, or an exit status: 0 after
 * --help, PEER_EXIT_USAGE after printing why the options are wrong.
 */
int opts_parse(int argc, char **argv, struct peer_opts *o);

/* "rxonly", "txonly", ... */
const char *opts_mode_name(enum peer_mode m);

/* Largest frame (without virtio header) the link carries: MTU plus link headers. */
uint32_t opts_max_frame(const struct peer_opts *o);

/* ---- peer_pkt.c ---- */

/* Bytes of the test header inside the UDP payload; the smallest frame is headers + this. */
#define PKT_TEST_HDR_LEN	18u
#define PKT_ETH_IP_UDP_LEN	(PEER_ETH_HDR_LEN + 20u + 8u)
#define PKT_IP_UDP_LEN		(20u + 8u)
#define PKT_VLAN_TAG_LEN	4u
#define PKT_HDR_MAX		(PKT_ETH_IP_UDP_LEN + PKT_VLAN_TAG_LEN)

/* The frame headers of each --txpkts size, built once per peer. */
struct pkt_gen {
	uint32_t hdr_len;		/* Ethernet [+ 802.1Q] + IPv4 + UDP, or IPv4 + UDP */
	unsigned int nb_sizes;
	uint32_t size[PEER_MAX_TXPKTS];
	uint8_t hdr[PEER_MAX_TXPKTS][PKT_HDR_MAX];
};

enum pkt_verdict {
	PKT_OK,
	PKT_FOREIGN,			/* not a test frame */
	PKT_CORRUPT,			/* a test frame that fails a check */
};

/* Prepare the checksum and fill pattern tables. Call once at start. */
void pkt_init(void);

/* Precompute what pkt_build() needs for every --txpkts size. Call once, after pkt_init. */
void pkt_gen_prepare(const struct peer_opts *o);

/* Headers for every --txpkts size, from us to @dst_mac. */
void pkt_gen_init(struct pkt_gen *g, const struct peer_opts *o, const uint8_t dst_mac[6]);

/* Write test frame @size_idx of queue @qid with sequence @seq into @buf. */
void pkt_build(const struct pkt_gen *g, uint8_t *buf, unsigned int size_idx, uint16_t qid,
		uint64_t seq);

/*
 * Check a frame of @len bytes. A test frame must have the length, IPv4 and UDP lengths
 * and checksum it was sent with; Ethernet addresses are not checked (macswap).
 * On PKT_OK, *qid and *seq are the sender's queue and sequence number, and *l4 says its
 * UDP checksum: PKT_L4_NONE (0), PKT_L4_VALID or PKT_L4_BAD.
 */
enum pkt_verdict pkt_check(bool raw_ip, const uint8_t *f, uint32_t len, uint16_t *qid,
		uint64_t *seq, int *l4);
enum { PKT_L4_NONE, PKT_L4_VALID, PKT_L4_BAD };

/* Fill the UDP checksum of test frame @f of @len bytes. */
void pkt_fill_udp_cksum(bool raw_ip, uint8_t *f, uint32_t len);
/* Bytes before the IPv4 header of the frames we generate. */
uint32_t pkt_l2_len(const struct peer_opts *o);

/* CRC32C (Castagnoli) of @len bytes. */
uint32_t pkt_crc32c(const void *p, size_t len);

/* Internet checksum helpers (host order result of the folded one's complement sum). */
uint32_t pkt_sum16(const void *p, size_t len, uint32_t sum);
uint16_t pkt_fold(uint32_t sum);

/* ---- counters (peer_stats.c) ---- */

/* One queue's counters: written by its thread only (peer_ctr_add), read by anyone. */
struct peer_qstats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_verified;		/* test frames that passed every check */
	uint64_t rx_foreign;		/* frames that are not test frames / not answered */
	uint64_t rx_lost;		/* sequence gaps */
	uint64_t rx_reordered;		/* sequence going back */
	uint64_t rx_corrupt;		/* test frames with a bad checksum, length or field */
	uint64_t rx_sleeps;		/* interrupt mode: times the thread slept */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_dropped;		/* frames given up under back-pressure */
	uint64_t tx_full;		/* bursts the link could not take whole */
	uint64_t tx_unreturned;		/* txonly --verify: sent, never seen again */
	uint64_t rx_cksum_none;		/* test frames with UDP checksum 0 */
	uint64_t rx_cksum_valid;	/* ... with a valid one */
	uint64_t rx_cksum_bad;		/* ... with an invalid one (corrupt, unless the link
					 * agreed that we take unfilled checksums) */
};

#define PEER_QSTATS_FIELDS (sizeof(struct peer_qstats) / sizeof(uint64_t))

/* Add to a counter of our own queue; the atomic store lets other threads read it. */
static inline void
peer_ctr_add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

/* ---- state ---- */

struct peer_ctx;

/* A queue pair and the thread that serves it. */
struct peer_queue {
	struct peer_qstats st __attribute__((aligned(PEER_CACHE_LINE)));

	/* the thread's own state */
	struct peer_ctx *ctx __attribute__((aligned(PEER_CACHE_LINE)));
	uint16_t qid;
	struct shmlink_ep *ep;
	uint64_t tx_seq;		/* next sequence number to send */
	uint64_t rx_next[PEER_MAX_QUEUES];	/* per sending queue: next expected */
	unsigned int size_idx;		/* next --txpkts size */
	unsigned int tx_pending;	/* built frames not yet taken by the link */
	uint32_t window;		/* --window for this link, 0: none */
	double win_blocked;		/* since when the window holds us back, 0: not */
	double rate_t0;			/* --tx-pps: start of this attach */
	struct shmlink_frame *rx_frames;
	struct shmlink_seg *rx_segs;
	unsigned int rx_max_segs;
	struct shmlink_frame *tx_frames;
	struct shmlink_seg *tx_segs;
	uint8_t *tx_bufs;		/* burst slots of max_frame bytes */
	uint8_t *scratch;		/* a multi-segment frame, gathered */
	uint8_t (*swap_hdr)[2 * PEER_ETH_ALEN];	/* macswap: per frame, the swapped MACs */

	/* the main thread's, on lines of their own */
	pthread_t thread __attribute__((aligned(PEER_CACHE_LINE)));
	bool running;
	int broken;			/* set by the thread: the endpoint is damaged */
	struct shmlink_ep_stats ep_saved;	/* endpoints of earlier peers */
	struct peer_qstats last;	/* at the last periodic print */
};

enum peer_run {
	PEER_RUN = 0,
	PEER_STOP_LOCAL,		/* signal or duration: finish our own work */
	PEER_STOP_PEER_LEFT,		/* read what the peer left in the rings, stop */
};

struct peer_ctx {
	const struct peer_opts *o;
	int run;			/* enum peer_run, atomic */

	/* link (peer_link.c) */
	int listen_fd;
	int conn_fd;
	bool sock_created;
	bool attached;
	struct shmlink_attach att;
	enum shmlink_role role;		/* the role taken on this attach */
	uint32_t buffer_size;		/* the link's buffer size */
	uint8_t dst_mac[PEER_ETH_ALEN];	/* where generated frames go */
	uint64_t attaches;
	uint64_t refused;		/* connections turned away while attached */
	struct pkt_gen gen;		/* txonly frame headers for this peer */

	/* run times (CLOCK_MONOTONIC seconds) */
	double deadline;		/* end of --duration, 0: none (set at first attach) */
	double t_first;			/* first attach */
	double t_attach;		/* this attach */
	double active;			/* attached seconds of earlier peers */
	double t_last_print;

	struct peer_queue *q[PEER_MAX_QUEUES];
};

/* Seconds on CLOCK_MONOTONIC. */
double peer_now(void);

/* Messages go to stderr, prefixed with the program name. */
void peer_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The signal that asked us to stop (SIGINT, SIGTERM), 0 if none. */
extern volatile sig_atomic_t peer_stop_signal;

/*
 * poll() for the main thread, the only one where SIGINT and SIGTERM are delivered, and
 * only while it waits here: a signal ends the wait (-1, EINTR) and sets peer_stop_signal.
 */
int peer_poll(struct pollfd *fds, nfds_t n, int timeout_ms);

/* ---- peer_link.c ---- */

/* Listening: create the socket. @return 0 or -1 (logged). */
int link_open(struct peer_ctx *ctx);

/*
 * Wait for a peer (accept or connect, bounded by --connect-timeout) and attach.
 * @return 0 attached; 1 stopped by a signal or the end of --duration while waiting;
 * -1 failed (logged).
 */
int link_attach(struct peer_ctx *ctx);

/* Create the endpoints of every queue pair. @return 0 or -1 (logged, none left). */
int link_endpoints(struct peer_ctx *ctx);

/*
 * Wait up to @timeout_ms for trouble on the control socket, and refuse second peers.
 * @return 1 if the peer left (logged), 0 otherwise.
 */
int link_watch(struct peer_ctx *ctx, int timeout_ms);

/* Drop the peer: endpoints (their counters saved), mappings, socket. */
void link_detach(struct peer_ctx *ctx);

/* Close the listening socket and remove its file. */
void link_close(struct peer_ctx *ctx);

/* ---- peer_fwd.c ---- */

/* Allocate the queues' buffers. @return 0 or -1. */
int fwd_init(struct peer_ctx *ctx);
void fwd_fini(struct peer_ctx *ctx);

/* Start one thread per queue pair on the attached endpoints. @return 0 or -1. */
int fwd_start(struct peer_ctx *ctx);

/* Tell the threads to stop for @why (enum peer_run) and wait for them. */
void fwd_stop(struct peer_ctx *ctx, int why);

/* True once a thread found its endpoint damaged. */
bool fwd_broken(const struct peer_ctx *ctx);

/* ---- peer_icmp.c ---- */

/*
 * icmpecho: build in @out (room for @room bytes) the answer to frame @in of @len bytes:
 * an ARP reply, an ICMP echo reply, an ICMPv6 echo reply or neighbour advertisement.
 * @return the answer's length, or 0 if the frame asks nothing of us.
 */
uint32_t icmp_answer(const struct peer_opts *o, const uint8_t *in, uint32_t len,
		uint8_t *out, uint32_t room);

/* ---- peer_stats.c ---- */

/* A consistent enough copy of a queue's counters. */
void stats_read(const struct peer_queue *q, struct peer_qstats *s);

/* Attached seconds so far. */
double stats_active(const struct peer_ctx *ctx);

/* Start a period: the next print's rates count from now. */
void stats_mark(struct peer_ctx *ctx);

/* Print the periodic statistics (rates since the last print or mark). */
void stats_print_period(struct peer_ctx *ctx);

/* Work out the end-of-run counters (tx_unreturned) once the threads are stopped. */
void stats_finish(struct peer_ctx *ctx);

/* Print the summary. */
void stats_print_summary(struct peer_ctx *ctx, FILE *f);

/* Write the summary as JSON to @path. @return 0 or -1 (logged). */
int stats_write_json(struct peer_ctx *ctx, const char *path);

/* Totals over all queues. */
void stats_total(const struct peer_ctx *ctx, struct peer_qstats *t, struct shmlink_ep_stats *e);

/* Peer violations and damaged rings, over all queues. */
uint64_t stats_ep_errors(const struct shmlink_ep_stats *e);

#endif /* PEER_H */
