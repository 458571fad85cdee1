/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_ATTACH_H
#define SHMLINK_ATTACH_H

/**
 * @file
 * Attaching two sides over a connected control socket (protocol v1, shmlink_ctl.h):
 * the listening side offers fresh queue files, the connecting side checks and maps them
 * and answers. Either way the result is a set of mapped queue pairs, ready for
 * shmlink_ep_create(). The socket is never written to afterwards: keep it open as the
 * PeerFD and treat any input or hang-up on it as the peer leaving.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmlink_ctl.h"
#include "shmlink_endpoint.h"
#include "shmlink_qfile.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What this side wants. */
struct shmlink_attach_conf {
	enum shmlink_role role;		/**< the gVisor role this side takes */
	bool role_any;			/**< connecting side: take the role the listener
					 *   assigns instead of insisting on @c role */
	uint16_t nb_qp;			/**< queue pairs (1..16) */
	uint16_t flags;			/**< SHMLINK_CTL_F_*: must be equal on both sides */
	uint32_t mtu;			/**< our L3 MTU, told to the peer */
	uint32_t buffer_size;		/**< listening side: the client's buffer size,
					 *   offered (0: 2048); connecting side: unused */
	uint8_t mac[6];			/**< our Ethernet address, told to the peer */
	struct shmlink_qfile_sizes sizes;	/**< listening side: sizes of the files */
	struct shmlink_qfile_where files;	/**< listening side: where the files go
						 *   (zeroed: sealed memfds) */
	const int *rx_efds;		/**< listening side: per queue pair, an eventfd to
					 *   offer for this side's receive direction instead
					 *   of a fresh one, so it stays the same across peers
					 *   (NULL: fresh eventfds) */
	int timeout_ms;			/**< bound on each wait for the peer (0: 5000) */
	uint16_t offloads;		/**< SHMLINK_CTL_O_* this side says of itself: it
					 *   would send frames with unfilled TCP/UDP
					 *   checksums (CSUM_TX), it takes them (CSUM_RX) */
	uint16_t offloads_required;	/**< of those, the ones the link must agree on, or
					 *   there is no link (reason config) */
	bool allow_unsealed;		/**< connecting side: accept files not sealed against
					 *   shrinking. UNSAFE: a peer that truncates one makes
					 *   our next access to it fault (SIGBUS). For peers
					 *   that hand over plain /dev/shm files, as gVisor's
					 *   NewQueuePair does. */
	bool keep_files;		/**< keep an FD of every queue file in the mappings
					 *   (shmlink_qmap.files), to hand them to another
					 *   process (DPDK secondary processes) */
};

/** Whether received frames are cut to their L3 length (spec §8.1-1). */
enum shmlink_trim {
	SHMLINK_TRIM_AUTO = 0,		/**< in the client role only, against gVisor's
					 *   server over-reporting frame sizes */
	SHMLINK_TRIM_ON,		/**< always */
	SHMLINK_TRIM_OFF,		/**< never */
};

/** An attached link: mapped queue pairs, what both sides agreed and what the peer
 *  said. */
struct shmlink_attach {
	enum shmlink_role role;		/**< the role this side took */
	uint16_t nb_qp;			/**< queue pairs attached */
	uint16_t flags;			/**< agreed SHMLINK_CTL_F_* (framing) */
	uint32_t buffer_size;		/**< agreed: the client's buffer size, the one the
					 *   listener cut its files for */
	uint32_t mtu;			/**< our L3 MTU, as we told the peer */
	uint16_t offloads;		/**< agreed, from our side (shmlink_attach_offloads()):
					 *   CSUM_TX we may leave TCP/UDP checksums unfilled,
					 *   CSUM_RX the peer may */
	/** The TX queue (client to server) of each queue pair, mapped. */
	struct shmlink_qmap txq[SHMLINK_CTL_MAX_QUEUE_PAIRS];
	/** The RX queue (server to client) of each queue pair, mapped. */
	struct shmlink_qmap rxq[SHMLINK_CTL_MAX_QUEUE_PAIRS];
	struct shmlink_ctl_msg peer;	/**< the peer's first OFFER, or its ACCEPT */
};

/**
 * Listening side, on a freshly accepted connection: create and send the queue files of
 * every queue pair, then wait for the answer.
 * @return 0 with @p a filled; -ECONNREFUSED if the peer rejected (its reason in @p why);
 * another -errno with @p why saying what failed. Nothing is left mapped or open on error.
 */
int shmlink_attach_offer(int sock, const struct shmlink_attach_conf *conf,
		struct shmlink_attach *a, char *why, size_t why_len);

/**
 * Connecting side: receive the offer, check it against @p conf and the files against
 * spec §8.2, map them and accept; or reject with a reason (also in @p why).
 * @return 0 with @p a filled, or -errno: -EPROTO when we rejected the offer,
 * -ECONNREFUSED when the listener refused us (its REJECT is in @p a->peer),
 * -ETIMEDOUT or -ECONNRESET when it went silent or hung up before its offers were
 * complete (a busy listener gives up on slow handshakes: worth trying again).
 */
int shmlink_attach_answer(int sock, const struct shmlink_attach_conf *conf,
		struct shmlink_attach *a, char *why, size_t why_len);

/**
 * A handshake in progress, for callers that must not block (an event loop such as
 * DPDK's interrupt thread): shmlink_attach_begin(), then shmlink_attach_step() each
 * time the socket is readable, until it returns anything but -EINPROGRESS. The caller
 * bounds the whole handshake in time (shmlink_attach_abort() on expiry).
 */
struct shmlink_attach_hs {
	int sock;			/**< the connected control socket */
	bool listening;			/**< this side offers (else it answers) */
	uint16_t next_qp;		/**< connecting side: offers taken so far */
	struct shmlink_attach_conf conf;	/**< copy; @c timeout_ms is unused */
	struct shmlink_attach a;	/**< the link, once step returned 0 */
};

/**
 * Start a handshake on connected socket @p sock. The listening side sends its offers
 * now (the socket should be non-blocking, so that a peer cannot stall us).
 * @return -EINPROGRESS: wait for @p sock to be readable and call shmlink_attach_step();
 * another -errno with @p why saying what failed (nothing kept).
 */
int shmlink_attach_begin(struct shmlink_attach_hs *hs, int sock,
		const struct shmlink_attach_conf *conf, bool listening, char *why,
		size_t why_len);

/**
 * Take what the peer sent, without waiting.
 * @return 0: attached, the link is in @p hs->a (release it with
 * shmlink_attach_release()); -EINPROGRESS: call again when @p hs->sock is readable;
 * another -errno as shmlink_attach_offer() or shmlink_attach_answer() return it, with
 * nothing kept.
 */
int shmlink_attach_step(struct shmlink_attach_hs *hs, char *why, size_t why_len);

/** Give up a handshake that is still in progress: unmap what it mapped. */
void shmlink_attach_abort(struct shmlink_attach_hs *hs);

/**
 * The configuration of the endpoints of attached link @p a, as both sides agreed:
 * buffer size, framing (raw IP, virtio header), the largest frame of our MTU
 * (shmlink_max_frame()), and trimming as @p trim asks in the role this side took.
 * @c defer_signals is false: the caller's own choice. Every caller of
 * shmlink_ep_create() after an attach uses this, so that no rule of the link is
 * written twice.
 */
struct shmlink_ep_conf shmlink_attach_ep_conf(const struct shmlink_attach *a,
		enum shmlink_trim trim);

/**
 * The offloads a link agrees on, seen from one side, given what this side says of
 * itself (@p ours) and what the peer says (@p theirs): CSUM_TX if we may leave TCP/UDP
 * checksums unfilled (we said CSUM_TX, the peer CSUM_RX); CSUM_RX if the peer may (it
 * said CSUM_TX, we CSUM_RX).
 */
uint16_t shmlink_attach_offloads(uint16_t ours, uint16_t theirs);

/** Unmap every queue of an attached link. */
void shmlink_attach_release(struct shmlink_attach *a);

/** Create a listening control socket at @p path (mode 0600). @return fd or -errno. */
int shmlink_ctl_listen(const char *path);

/** Connect to the control socket at @p path. @return fd or -errno. */
int shmlink_ctl_connect(const char *path);

/**
 * Connect to the control socket at @p path without blocking: the socket is
 * non-blocking, and a listener whose backlog is full gives -EAGAIN at once instead of
 * stalling the caller. @return fd or -errno.
 */
int shmlink_ctl_connect_nonblock(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* SHMLINK_ATTACH_H */
