/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_CKSUM_H
#define SHMLINK_CKSUM_H

/**
 * @file
 * Frame headers and Internet checksums, for the checksum offloads a link agrees on
 * (SHMLINK_CTL_O_CSUM_*): a side that receives frames with unfilled TCP/UDP checksums
 * finds the headers and fills them; one that sends for a peer that verifies fills what
 * its application left to "the NIC".
 *
 * Frames come from an untrusted peer: the parser reads every header once, within the
 * bytes given, and says what is wrong instead of guessing. The headers (Ethernet, up to
 * two VLAN tags, IPv4 or IPv6 with its extension headers, TCP or UDP) must lie in the
 * first @c hdr_len bytes of the frame, which must be contiguous; the payload may be
 * scattered over segments.
 */

#include <stdbool.h>
#include <stdint.h>

#include "shmlink_endpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Network layer of a parsed frame. */
enum shmlink_l3 {
	SHMLINK_L3_NONE = 0,	/**< not IP (ARP, say): nothing to check or fill */
	SHMLINK_L3_IPV4,
	SHMLINK_L3_IPV6,
};

/** Transport layer of a parsed frame. */
enum shmlink_l4 {
	SHMLINK_L4_NONE = 0,	/**< no L4 header to check: another protocol, or an IP
				 *   fragment (SHMLINK_HDR_FRAG) */
	SHMLINK_L4_TCP,
	SHMLINK_L4_UDP,
};

/** What shmlink_hdr_parse() says of a frame. */
enum shmlink_hdr_status {
	SHMLINK_HDR_OK = 0,	/**< parsed (l3 and l4 may still be NONE) */
	SHMLINK_HDR_SHORT,	/**< the frame ends inside a header */
	SHMLINK_HDR_SCATTERED,	/**< a header does not lie in the contiguous bytes */
	SHMLINK_HDR_BAD_IP,	/**< IP version, header length or total length wrong */
	SHMLINK_HDR_BAD_L4,	/**< TCP data offset or UDP length wrong */
	SHMLINK_HDR_STATUS_MAX,
};

/** Bit of shmlink_hdr_info::flags. */
#define SHMLINK_HDR_FRAG	0x1u	/**< an IP fragment: its L4 checksum covers other
					 *   fragments too, so it is neither checked nor filled */
#define SHMLINK_HDR_VLAN	0x2u	/**< one VLAN tag */
#define SHMLINK_HDR_QINQ	0x4u	/**< two */
#define SHMLINK_HDR_IP_OPTS	0x8u	/**< IPv4 options or IPv6 extension headers */

/** The headers of a frame, as shmlink_hdr_parse() found them. */
struct shmlink_hdr_info {
	uint16_t l2_len;	/**< Ethernet header with its VLAN tags; 0 for raw IP */
	uint16_t l3_len;	/**< IPv4 header with options; IPv6 header with its
				 *   extension headers */
	uint16_t l4_len;	/**< TCP header with options, or 8 (UDP) */
	uint8_t l3;		/**< enum shmlink_l3 */
	uint8_t l4;		/**< enum shmlink_l4 */
	uint8_t flags;		/**< SHMLINK_HDR_* */
	uint32_t ip_len;	/**< bytes from the start of the IP header to the end of
				 *   its payload (the frame may be padded beyond) */
};

/**
 * Find the headers of a frame of @p frame_len bytes whose first @p hdr_len bytes
 * (at most @p frame_len) are contiguous at @p frame. @p raw_ip: the frame starts with
 * the IP header (no Ethernet header). Reads nothing outside those bytes.
 * @return an enum shmlink_hdr_status; @p h is filled only for SHMLINK_HDR_OK.
 */
int shmlink_hdr_parse(const uint8_t *frame, uint32_t hdr_len, uint32_t frame_len,
		bool raw_ip, struct shmlink_hdr_info *h);

/** Short name of a status ("short", "bad_ip", ...). */
const char *shmlink_hdr_status_name(int status);

/**
 * The TCP or UDP checksum a frame should carry: over the pseudo-header and the L4
 * header and payload as they are in @p segs (a frame whose first segment holds the
 * headers @p h describes, as parsed), the checksum field counted as 0. UDP's 0 becomes
 * 0xffff. In network byte order, ready to store. @p h must describe a frame with
 * l4 TCP or UDP, not a fragment, whose segments hold at least l2_len + ip_len bytes.
 */
uint16_t shmlink_l4_cksum(const struct shmlink_seg *segs, uint32_t nb_segs,
		const struct shmlink_hdr_info *h);

/** Offset of the L4 checksum field from the start of the frame. */
uint32_t shmlink_l4_cksum_off(const struct shmlink_hdr_info *h);

/**
 * The IPv4 header checksum of header @p ip of @p len bytes (IHL x 4), its checksum
 * field counted as 0, in network byte order.
 */
uint16_t shmlink_ipv4_cksum(const uint8_t *ip, uint32_t len);

/** The ones' complement sum of @p len bytes at @p p folded to 16 bits, added to
 *  @p sum (a running sum of an even number of bytes before these). */
uint32_t shmlink_cksum_add(uint32_t sum, const void *p, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* SHMLINK_CKSUM_H */
