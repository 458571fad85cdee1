/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Telemetry: /shmlink/list gives the shmlink ports, /shmlink/info,<port> one port's
 * link, peer, configuration, ring occupancy and peer-error counters. Runs in the
 * telemetry thread; takes the port lock to read what the control path changes.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include <ethdev_driver.h>

#include "shmlink_ethdev.h"

static struct pmd_internals *
tel_pmd(uint16_t port)
{
	struct rte_eth_dev_info info;

	if (!rte_eth_dev_is_valid_port(port) || rte_eth_dev_info_get(port, &info) != 0 ||
			info.driver_name == NULL || strcmp(info.driver_name, "net_shmlink") != 0)
		return NULL;
	return rte_eth_devices[port].data->dev_private;
}

static int
tel_list(const char *cmd __rte_unused, const char *params __rte_unused,
		struct rte_tel_data *d)
{
	uint16_t port;

	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	RTE_ETH_FOREACH_DEV(port)
		if (tel_pmd(port) != NULL)
			rte_tel_data_add_array_int(d, port);
	return 0;
}

/* Per queue pair: file sizes, buffers with the peer, ring occupancy. Lock held. */
static void
tel_queues(struct pmd_internals *pmd, struct rte_tel_data *d)
{
	struct rte_tel_data *qs = rte_tel_data_alloc();
	uint16_t i;

	if (qs == NULL)
		return;
	/* One dict per queue pair, keyed "qp<N>": 22.11 telemetry nests dicts in dicts,
	 * not in arrays. */
	rte_tel_data_start_dict(qs);
	for (i = 0; pmd->attached && i < pmd->nb_qp; i++) {
		struct rte_tel_data *q = rte_tel_data_alloc();
		struct shmlink_ep_buffers b;
		struct shmlink_ep_rings r;
		char name[16];

		if (q == NULL)
			break;
		shmlink_ep_buffers_get(pmd->ep[i], &b);
		shmlink_ep_rings_get(pmd->ep[i], &r);
		rte_tel_data_start_dict(q);
		shmlink_tel_add_u64(q, "tx_data_size", pmd->att.txq[i].data_size);
		shmlink_tel_add_u64(q, "rx_data_size", pmd->att.rxq[i].data_size);
		shmlink_tel_add_u64(q, "pipe_size", pmd->att.txq[i].tx_pipe_size);
		shmlink_tel_add_u64(q, "tx_ring_used", r.used[0]);
		shmlink_tel_add_u64(q, "tx_ring_size", r.size[0]);
		shmlink_tel_add_u64(q, "return_ring_used", r.used[1]);
		shmlink_tel_add_u64(q, "return_ring_size", r.size[1]);
		if (pmd->att.role == SHMLINK_ROLE_CLIENT) {
			shmlink_tel_add_u64(q, "tx_chunks_inflight", b.tx_chunks_inflight);
			shmlink_tel_add_u64(q, "rx_bufs_posted", b.rx_bufs_posted);
		}
		snprintf(name, sizeof(name), "qp%u", i);
		rte_tel_data_add_dict_container(qs, name, q, 0);
	}
	rte_tel_data_add_dict_container(d, "queues", qs, 0);
}

static void
tel_errors(struct pmd_internals *pmd, struct rte_tel_data *d)
{
	struct rte_tel_data *e = rte_tel_data_alloc();
	struct shmlink_ep_stats st;
	int i;

	if (e == NULL)
		return;
	shmlink_peer_stats(pmd, &st);
	rte_tel_data_start_dict(e);
	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		shmlink_tel_add_u64(e, shmlink_err_name(i), st.err[i]);
	shmlink_tel_add_u64(e, "rx_oversize", st.rx_oversize);
	shmlink_tel_add_u64(e, "rx_runt", st.rx_runt);
	shmlink_tel_add_u64(e, "tx_oversize", st.tx_oversize);
	rte_tel_data_add_dict_container(d, "peer_errors", e, 0);
}

static int
tel_info(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	struct pmd_internals *pmd;
	char *end;
	unsigned long port;

	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	port = strtoul(params, &end, 0);
	if (*end != '\0' || port >= RTE_MAX_ETHPORTS)
		return -EINVAL;
	pmd = tel_pmd((uint16_t)port);
	if (pmd == NULL)
		return -EINVAL;

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "port", (int)port);
	rte_tel_data_add_dict_string(d, "socket", pmd->socket_path);
	rte_tel_data_add_dict_string(d, "mode", pmd->listen ? "listen" : "connect");
	rte_tel_data_add_dict_string(d, "framing", pmd->raw_ip ? "ip" : "eth");
	rte_tel_data_add_dict_int(d, "virtio_hdr", pmd->virtio_hdr);
	shmlink_tel_add_u64(d, "mtu", pmd->mtu);
	rte_tel_data_add_dict_int(d, "queue_pairs", pmd->nb_qp);
	rte_tel_data_add_dict_string(d, "zero_copy", pmd->zero_copy_rx ?
			(pmd->zero_copy_tx ? "yes" : "rx") : pmd->zero_copy_tx ? "tx" : "no");
	rte_tel_data_add_dict_string(d, "queue_files",
			pmd->files.place == SHMLINK_QFILE_DIR ? pmd->files.dir :
			pmd->files.place == SHMLINK_QFILE_MEMFD_HUGE ? "memfd_huge" : "memfd");
	rte_tel_data_add_dict_string(d, "link",
			rte_eth_devices[port].data->dev_link.link_status ? "up" : "down");
	tel_errors(pmd, d);

	rte_spinlock_lock(&pmd->lock);
	rte_tel_data_add_dict_int(d, "attached", pmd->attached);
	rte_tel_data_add_dict_string(d, "role", !pmd->attached ?
			(pmd->role == SHMLINK_ROLE_SERVER ? "server" : "client") :
			(pmd->att.role == SHMLINK_ROLE_SERVER ? "server" : "client"));
	shmlink_tel_add_u64(d, "attach_count", pmd->attach_count);
	if (pmd->attached) {
		rte_tel_data_add_dict_int(d, "peer_pid", (int)pmd->peer_pid);
		shmlink_tel_add_u64(d, "peer_uid", pmd->peer_uid);
		shmlink_tel_add_u64(d, "peer_gid", pmd->peer_gid);
		shmlink_tel_add_u64(d, "buffer_size", pmd->att.buffer_size);
		shmlink_tel_add_u64(d, "protocol_minor", pmd->att.peer.minor);
		/* The checksum offloads agreed: frames that may come with unfilled TCP/UDP
		 * checksums from the peer (the port fills them), and go to it so. */
		rte_tel_data_add_dict_int(d, "rx_cksum_unfilled",
				(pmd->att.offloads & SHMLINK_CTL_O_CSUM_RX) != 0);
		rte_tel_data_add_dict_int(d, "tx_cksum_unfilled",
				(pmd->att.offloads & SHMLINK_CTL_O_CSUM_TX) != 0);
	}
	/* The rings are mapped in the primary only. */
	if (rte_eal_process_type() == RTE_PROC_PRIMARY)
		tel_queues(pmd, d);
	rte_spinlock_unlock(&pmd->lock);
	return 0;
}

RTE_INIT(shmlink_telemetry_init)
{
	if (!shmlink_pmd_first_copy())
		return;
	rte_telemetry_register_cmd("/shmlink/list", tel_list,
			"Returns the ports of net_shmlink. Takes no parameters");
	rte_telemetry_register_cmd("/shmlink/info", tel_info,
			"Returns a net_shmlink port's link, peer, sizes, ring occupancy and peer "
			"errors. Parameters: int port_id");
}
