/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef RTE_PMD_SHMLINK_H
#define RTE_PMD_SHMLINK_H

/**
 * @file
 * net_shmlink's own API: zero-copy transmit (devarg zero_copy=tx or yes, client role).
 *
 * A port in the client role chooses where in its TX data region, shared with the
 * sandbox, each frame goes. rte_pmd_shmlink_tx_alloc() gives the application empty
 * mbufs whose data room is such a place; a frame built there is sent by
 * rte_eth_tx_burst() where it is, without a copy. Every other mbuf is copied as usual,
 * and so is one of these that cannot be sent in place (sent twice at once, say).
 *
 * Link with the driver itself (the file in DPDK's plugin directory, with -l: and
 * -rpath) and define ALLOW_EXPERIMENTAL_API.
 */

#include <stdint.h>

#include <rte_compat.h>
#include <rte_mbuf.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 *
 * Get up to @p nb_pkts empty mbufs over buffers of TX queue @p queue_id's shared data
 * region, to build frames in and send on that queue.
 *
 * Each mbuf has an external buffer (RTE_MBUF_F_EXTERNAL) of the port's buffer_size
 * bytes, RTE_PKTMBUF_HEADROOM of them before the data, @c data_len 0. Append to it
 * (rte_pktmbuf_append()), chain several for a frame larger than one buffer, and send it
 * with rte_eth_tx_burst() on the same queue, or free it. The buffer goes back to the
 * link when the mbuf is freed and the sandbox is done reading it. The sandbox can read
 * these buffers at any time: build only what it may see.
 *
 * Call it on the thread that sends on the queue, in the primary process. The port
 * lends at most half of the queue's buffers at once; mbufs of a peer that left are
 * copied if sent, and their memory stays mapped until they are freed.
 *
 * @param port_id   a net_shmlink port
 * @param queue_id  its TX queue
 * @param mp        the pool of the mbuf headers (their own data room is not used)
 * @param pkts      where the mbufs go
 * @param nb_pkts   how many are wanted; at most 64 come back per call
 * @return how many mbufs are in @p pkts: 0 if the port is not net_shmlink's, has no
 *   peer attached, does not lend (zero_copy, the role), or has no buffer or @p mp no
 *   mbuf left.
 */
__rte_experimental
uint16_t rte_pmd_shmlink_tx_alloc(uint16_t port_id, uint16_t queue_id,
		struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t nb_pkts);

#ifdef __cplusplus
}
#endif

#endif /* RTE_PMD_SHMLINK_H */
