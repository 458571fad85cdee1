/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_CTL_H
#define SHMLINK_CTL_H

/**
 * @file
 * Control protocol 1.1 (ours; gVisor defines none). See
 * doc/guides/prog/control_protocol.rst.
 *
 * An AF_UNIX SOCK_SEQPACKET connection. The listening side creates fresh queue files and
 * sends one OFFER per queue pair, each with that pair's 10 FDs (the TX queue's 5, then
 * the RX queue's 5, each in gVisor's QueueConfig.FDs() order). The connecting side
 * answers with one ACCEPT or REJECT. Then nobody writes to the socket again: it stays
 * open as gVisor's PeerFD, where any byte or EOF means the peer is gone.
 *
 * Every message starts with a fixed 64-byte little-endian header:
 *
 *   off size field
 *     0    4 magic "SHML" (0x53 0x48 0x4d 0x4c)
 *     4    2 version (1)
 *     6    2 header length (64; a receiver skips any extra bytes of a longer header)
 *     8    1 type: 1 OFFER, 2 ACCEPT, 3 REJECT
 *     9    1 role: OFFER: the gVisor role the receiver must take (0 client, 1 server);
 *              ACCEPT: the role taken
 *    10    2 queue-pair count: OFFER and ACCEPT 1..16, REJECT 0
 *    12    2 OFFER: index of the queue pair whose FDs come with this message
 *    14    2 flags: bit 0 raw IP framing (no Ethernet header), bit 1 virtio-net header
 *    16    4 MTU (L3, bytes)
 *    20    4 buffer size (bytes)
 *    24    6 MAC address of the sender
 *    30    2 reserved (0)
 *    32    4 REJECT: reason code
 *    36    4 REJECT: length of the reason text that follows the header (0..192)
 *    40   24 reserved (0)
 *
 * Version 1.1 extends the header of OFFER and ACCEPT to 72 bytes (a 1.0 receiver skips
 * the extension, as it skips any longer header); REJECT keeps the 64-byte header:
 *
 *    64    2 minor version (1)
 *    66    2 offloads: bit 0 the sender's TCP/UDP checksums may be left unfilled (0);
 *              bit 1 the sender accepts such frames (it does not verify checksums)
 *    68    4 reserved (0)
 *
 *   hdr    n REJECT: reason text, not NUL-terminated, after the header
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Magic at offset 0 of every message: "SHML" read as a little-endian u32. */
#define SHMLINK_CTL_MAGIC		0x4c4d4853u
/** The protocol version this library speaks (and the only one it accepts). */
#define SHMLINK_CTL_VERSION		1u
/** Length of the fixed message header in bytes. */
#define SHMLINK_CTL_HDR_LEN		64u
/** Length of the header of an OFFER or ACCEPT of version 1.1: with the extension. */
#define SHMLINK_CTL_HDR_LEN_1_1		72u
/** The minor version this library speaks; a 64-byte header is minor 0. */
#define SHMLINK_CTL_MINOR		1u
/** The longest reason text a REJECT carries after the header. */
#define SHMLINK_CTL_TEXT_MAX		192u
/** The longest message: header and reason text; a buffer for shmlink_ctl_encode(). */
#define SHMLINK_CTL_MSG_MAX		(SHMLINK_CTL_HDR_LEN + SHMLINK_CTL_TEXT_MAX)
/** The most queue pairs one link may have. */
#define SHMLINK_CTL_MAX_QUEUE_PAIRS	16u
/** FDs an OFFER carries: the five of the TX queue, then the five of the RX queue. */
#define SHMLINK_CTL_FDS_PER_QP		10u

#define SHMLINK_CTL_F_RAW_IP	0x1u	/**< frames are raw IP packets */
#define SHMLINK_CTL_F_VIRTIO	0x2u	/**< frames carry a 10-byte virtio-net header */
/** Every flag this version defines; a receiver rejects any other bit. */
#define SHMLINK_CTL_F_KNOWN	(SHMLINK_CTL_F_RAW_IP | SHMLINK_CTL_F_VIRTIO)

/**
 * Offloads (minor 1, header offset 66), said by the sender of a message of itself.
 * Frames from A to B may leave TCP and UDP checksums unfilled (0) when A says
 * CSUM_TX and B says CSUM_RX; an ACCEPT says CSUM_TX only if the OFFER said CSUM_RX.
 * Unknown bits are ignored: a later minor version may define them.
 */
#define SHMLINK_CTL_O_CSUM_TX	0x1u	/**< my TCP/UDP checksums may be 0 */
#define SHMLINK_CTL_O_CSUM_RX	0x2u	/**< I take frames with unfilled checksums */
/** Every offload bit this version defines. */
#define SHMLINK_CTL_O_KNOWN	(SHMLINK_CTL_O_CSUM_TX | SHMLINK_CTL_O_CSUM_RX)

/** Message types (header offset 8). */
enum shmlink_ctl_type {
	SHMLINK_CTL_OFFER = 1,	/**< listener: one queue pair's 10 FDs */
	SHMLINK_CTL_ACCEPT = 2,	/**< connector: the offer is taken, no FDs */
	SHMLINK_CTL_REJECT = 3,	/**< either side: refused, with a reason, no FDs */
};

/** Reasons a connecting side rejects an offer, or a listener a connection. */
enum shmlink_ctl_reason {
	SHMLINK_CTL_R_BUSY = 1,		/**< the listener already has a peer */
	SHMLINK_CTL_R_PROTOCOL = 2,	/**< bad magic, version, length, type or field */
	SHMLINK_CTL_R_FDS = 3,		/**< wrong FD count or FD kinds */
	SHMLINK_CTL_R_FILES = 4,	/**< queue files fail the size or seal checks */
	SHMLINK_CTL_R_ROLE = 5,		/**< the offered role is not the one configured */
	SHMLINK_CTL_R_CONFIG = 6,	/**< framing, virtio or queue-pair count differ */
	SHMLINK_CTL_R_DENIED = 7,	/**< the peer's credentials are not allowed */
	SHMLINK_CTL_R_INTERNAL = 8,	/**< out of memory or another local failure */
};

/** A control message, decoded. */
struct shmlink_ctl_msg {
	uint8_t type;		/**< an enum shmlink_ctl_type */
	uint8_t role;		/**< OFFER: the role the receiver must take; ACCEPT: the role
				 *   taken (an enum shmlink_role) */
	uint16_t nb_qp;		/**< OFFER, ACCEPT: queue pairs (1..16); REJECT: 0 */
	uint16_t qp;		/**< OFFER: index of the queue pair whose FDs come along */
	uint16_t flags;		/**< SHMLINK_CTL_F_* */
	uint32_t mtu;		/**< the sender's L3 MTU in bytes */
	uint32_t buffer_size;	/**< OFFER: the client's buffer size; ACCEPT: echoed */
	uint8_t mac[6];		/**< the sender's Ethernet address */
	uint16_t minor;		/**< OFFER, ACCEPT: 1 with the extension, 0 without;
				 *   shmlink_ctl_encode() writes SHMLINK_CTL_MINOR */
	uint16_t offloads;	/**< OFFER, ACCEPT: SHMLINK_CTL_O_* of the sender (known
				 *   bits only) */
	uint32_t reason;	/**< REJECT: an enum shmlink_ctl_reason; otherwise 0 */
	char text[SHMLINK_CTL_TEXT_MAX + 1];	/**< NUL-terminated */
};

/** Short name of a reason code ("busy", "protocol", ...). */
const char *shmlink_ctl_reason_name(uint32_t reason);

/** Encode @p m into @p buf (SHMLINK_CTL_MSG_MAX bytes). @return the message length. */
uint32_t shmlink_ctl_encode(const struct shmlink_ctl_msg *m, uint8_t *buf);

/**
 * Decode and check a message of @p len bytes. @return 0, or -EPROTO with @p why naming
 * the failed check.
 */
int shmlink_ctl_decode(const uint8_t *buf, uint32_t len, struct shmlink_ctl_msg *m,
		const char **why);

/** Send one message with @p nfds FDs. @return 0 or -errno. */
int shmlink_ctl_send(int sock, const struct shmlink_ctl_msg *m, const int *fds,
		unsigned int nfds);

/**
 * Receive one message within @p timeout_ms, taking at most @p max_fds FDs into @p fds
 * (opened close-on-exec; the caller owns them). Any FDs beyond @p max_fds are closed and
 * the message refused.
 * @return 0; -ETIMEDOUT; -ECONNRESET on EOF; -EPROTO for a bad message, -ETOOMANYREFS
 * for one with more FDs than @p max_fds (@p why says what, no FD left open either way);
 * or another -errno.
 */
int shmlink_ctl_recv(int sock, struct shmlink_ctl_msg *m, int *fds, unsigned int max_fds,
		unsigned int *nfds, int timeout_ms, const char **why);

/** Send a REJECT with a reason code and a printf-style text. @return 0 or -errno. */
int shmlink_ctl_reject(int sock, uint32_t reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif /* SHMLINK_CTL_H */
