/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * net_shmlink: a vdev ethdev over gVisor's sharedmem link protocol. This file holds the
 * probe, the devargs and the ethdev ops; the fast path is in shmlink_rxtx.c and the
 * control socket in shmlink_peer.c. All protocol work is lib/shmlink's.
 */

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>

#include "shmlink_ethdev.h"
#include "shmlink_zc.h"

RTE_LOG_REGISTER_DEFAULT(shmlink_logtype, NOTICE);

#define ARG_SOCKET	"socket"
#define ARG_LISTEN	"listen"
#define ARG_ROLE	"role"
#define ARG_MAC		"mac"
#define ARG_MTU		"mtu"
#define ARG_BUFSZ	"buffer_size"

#define ARG_DATASZ	"data_size"
#define ARG_PIPESZ	"pipe_size"
#define ARG_QUEUES	"queues"
#define ARG_FRAMING	"framing"
#define ARG_VIRTIO	"virtio_hdr"
#define ARG_TRIM	"trim"
#define ARG_UNSEALED	"allow_unsealed"
#define ARG_SOCKMODE	"socket_mode"
#define ARG_SOCKGROUP	"socket_group"
#define ARG_ALLOWUID	"allow_uid"
#define ARG_ALLOWGID	"allow_gid"
#define ARG_SIGDELAY	"signal_delay_us"
#define ARG_SIGBATCH	"signal_batch"
#define ARG_RXEVICT	"rx_evict"
#define ARG_RXCKSUM	"rx_cksum"
#define ARG_TXCKSUM	"tx_cksum"
#define ARG_ZEROCOPY	"zero_copy"
#define ARG_QFILES	"queue_files"

static const char *const shmlink_valid_args[] = {
	ARG_SOCKET, ARG_LISTEN, ARG_ROLE, ARG_MAC, ARG_MTU, ARG_BUFSZ, ARG_DATASZ,
	ARG_PIPESZ, ARG_QUEUES, ARG_FRAMING, ARG_VIRTIO, ARG_TRIM, ARG_UNSEALED,
	ARG_SOCKMODE, ARG_SOCKGROUP, ARG_ALLOWUID, ARG_ALLOWGID, ARG_SIGDELAY, ARG_SIGBATCH,
	ARG_RXEVICT, ARG_RXCKSUM, ARG_TXCKSUM, ARG_ZEROCOPY, ARG_QFILES, NULL,
};

#define SHMLINK_MIN_MTU		68u
#define SHMLINK_MAX_MTU		65000u
#define SHMLINK_DEFAULT_MTU	1500u
#define SHMLINK_MIN_BUFSZ	128u
#define SHMLINK_MAX_BUFSZ	(1u << 20)
#define SHMLINK_MIN_DATASZ	(UINT64_C(4) << 10)
#define SHMLINK_MAX_DATASZ	(UINT64_C(1) << 30)
#define SHMLINK_MIN_PIPESZ	(UINT64_C(4) << 10)
#define SHMLINK_MAX_PIPESZ	(UINT64_C(1) << 30)
#define SHMLINK_MAX_SIGDELAY	10000u	/* µs: the longest a sleeping peer may be kept waiting */
#define SHMLINK_DEFAULT_SIGBATCH 32u

/* The xstats: the library's counters of protocol violations and drops. */
struct shmlink_xstat_name {
	char name[RTE_ETH_XSTATS_NAME_SIZE];
};

static const char *const shmlink_xstat_extra[] = {
	"rx_oversize_frames", "rx_runt_frames", "rx_trimmed_frames", "tx_oversize_frames",
	"tx_peer_signals", "peer_attach_count", "rx_evicted_frames",
	"rx_cksum_filled_frames", "rx_bad_header_frames", "rx_cksum_unchecked_frames",
	"tx_cksum_filled_frames", "tx_bad_offload_frames", "rx_zero_copy_frames",
	"rx_zero_copy_copied_frames", "rx_zero_copy_lent_now", "tx_zero_copy_frames",
	"tx_zero_copy_lent_now",
};
#define SHMLINK_NB_XSTATS (SHMLINK_ERR_COUNT + RTE_DIM(shmlink_xstat_extra))
_Static_assert(SHMLINK_NB_XSTATS <= RTE_DIM(((struct pmd_internals *)0)->xstats_base),
		"pmd_internals.xstats_base is too small for the xstats");

/* ---- devargs ---- */

static int
arg_bool(const char *key, const char *value, bool *out)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "1") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(value, "no") == 0 || strcmp(value, "0") == 0) {
		*out = false;
		return 0;
	}
	SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: yes or no", key, value);
	return -EINVAL;
}

static int
arg_u64(const char *key, const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < min ||
			v > max) {
		SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: an integer from %" PRIu64 " to %"
				PRIu64, key, value, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* A list of ids separated by ':', such as 1000:1001. */
static int
arg_ids(const char *key, const char *value, uint32_t *ids, uint16_t *nb)
{
	const char *p = value;

	*nb = 0;
	do {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || end == p || (*end != ':' && *end != '\0') || v >= UINT32_MAX ||
				*nb == SHMLINK_MAX_ALLOW) {
			SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: up to %d numeric ids "
					"separated by ':'", key, value, SHMLINK_MAX_ALLOW);
			return -EINVAL;
		}
		ids[(*nb)++] = (uint32_t)v;
		p = *end == ':' ? end + 1 : end;
	} while (*p != '\0');
	return 0;
}

static int
arg_group(const char *key, const char *value, struct pmd_internals *p)
{
	struct group gr, *res = NULL;
	char buf[1024], *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (value[0] != '\0' && *end == '\0' && errno == 0 && v < UINT32_MAX) {
		p->socket_gid = (gid_t)v;
	} else if (getgrnam_r(value, &gr, buf, sizeof(buf), &res) == 0 && res != NULL) {
		p->socket_gid = gr.gr_gid;
	} else {
		SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: a group name or numeric gid", key,
				value);
		return -EINVAL;
	}
	p->socket_gid_set = true;
	return 0;
}

/* rx_cksum, tx_cksum: whether the port says the offload @bit of itself (auto, the
 * default), not (off), or has no link without it (required). */
static int
arg_cksum(const char *key, const char *value, uint16_t bit, struct pmd_internals *p)
{
	if (strcmp(value, "auto") == 0 || strcmp(value, "required") == 0) {
		p->offloads |= bit;
		if (value[0] == 'r')
			p->offloads_required |= bit;
		else
			p->offloads_required &= (uint16_t)~bit;
		return 0;
	}
	if (strcmp(value, "off") == 0) {
		p->offloads &= (uint16_t)~bit;
		p->offloads_required &= (uint16_t)~bit;
		return 0;
	}
	SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: auto, off or required", key, value);
	return -EINVAL;
}

/* rx, tx, yes (both) or no; tx is checked against the role once every devarg is read. */
static int
arg_zero_copy(const char *key, const char *value, struct pmd_internals *p)
{
	bool yes = strcmp(value, "yes") == 0;

	if (!yes && strcmp(value, "rx") != 0 && strcmp(value, "tx") != 0 &&
			strcmp(value, "no") != 0) {
		SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: rx, tx, yes or no", key, value);
		return -EINVAL;
	}
	p->zero_copy_rx = yes || strcmp(value, "rx") == 0;
	p->zero_copy_tx = yes || strcmp(value, "tx") == 0;
	return 0;
}

/* Zero-copy transmit needs the client role: in the server role the peer chooses the
 * buffers our frames go into (doc/guides/nics/shmlink.rst, Zero-copy). A connecting port
 * without role= takes the role the listener says, and lends only as a client. */
static int
arg_zero_copy_check(const char *name, const struct pmd_internals *p)
{
	if (!p->zero_copy_tx || p->role == SHMLINK_ROLE_CLIENT || (!p->role_set && !p->listen))
		return 0;
	SHMLINK_LOG(ERR, "%s: %s=%s needs role=client: a server sends into the buffers the "
			"client posts, so it always copies", name, ARG_ZEROCOPY,
			p->zero_copy_rx ? "yes" : "tx");
	return -EINVAL;
}

/* memfd, memfd_huge, or an absolute directory (a tmpfs or a hugetlbfs mount). */
static int
arg_queue_files(const char *key, const char *value, struct pmd_internals *p)
{
	if (strcmp(value, "memfd") == 0) {
		p->files.place = SHMLINK_QFILE_MEMFD;
	} else if (strcmp(value, "memfd_huge") == 0) {
		p->files.place = SHMLINK_QFILE_MEMFD_HUGE;
	} else if (value[0] == '/' && strlen(value) < sizeof(p->files.dir)) {
		p->files.place = SHMLINK_QFILE_DIR;
		strcpy(p->files.dir, value);
	} else {
		SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: memfd, memfd_huge or the absolute "
				"path of a directory (up to %zu bytes)", key, value,
				sizeof(p->files.dir) - 1);
		return -EINVAL;
	}
	return 0;
}

/* Where a listening port makes its queue files, against its data size. */
static int
arg_queue_files_check(const char *name, const struct pmd_internals *p)
{
	const char *why = NULL;
	int64_t page = shmlink_qfile_page_size(&p->files, &why);

	if (page < 0) {
		SHMLINK_LOG(ERR, "%s: %s=%s: %s", name, ARG_QFILES, p->files.place ==
				SHMLINK_QFILE_DIR ? p->files.dir : "memfd_huge", why);
		return -EINVAL;
	}
	if (page > 0 && p->sizes.data % (uint64_t)page != 0) {
		SHMLINK_LOG(ERR, "%s: data_size=%" PRIu64 " is not a multiple of the huge page "
				"size, %" PRId64 " bytes (%s)", name, p->sizes.data, page, ARG_QFILES);
		return -EINVAL;
	}
	if (p->files.place != SHMLINK_QFILE_MEMFD && !p->listen)
		SHMLINK_LOG(WARNING, "%s: %s ignored: a connecting port maps the listener's "
				"files", name, ARG_QFILES);
	return 0;
}

static int
arg_handler(const char *key, const char *value, void *opaque)
{
	struct pmd_internals *p = opaque;
	uint64_t v = 0;
	int rc = 0;

	if (value == NULL)
		value = "";
	if (strcmp(key, ARG_SOCKET) == 0) {
		if (value[0] == '\0' || strlen(value) >= sizeof(p->socket_path)) {
			SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: a path of 1 to %zu bytes",
					key, value, sizeof(p->socket_path) - 1);
			return -EINVAL;
		}
		strcpy(p->socket_path, value);
	} else if (strcmp(key, ARG_LISTEN) == 0) {
		rc = arg_bool(key, value, &p->listen);
	} else if (strcmp(key, ARG_ROLE) == 0) {
		if (strcmp(value, "server") == 0)
			p->role = SHMLINK_ROLE_SERVER;
		else if (strcmp(value, "client") == 0)
			p->role = SHMLINK_ROLE_CLIENT;
		else
			rc = -EINVAL;
		if (rc != 0)
			SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: server or client", key, value);
		p->role_set = true;
	} else if (strcmp(key, ARG_MAC) == 0) {
		if (rte_ether_unformat_addr(value, &p->mac) != 0 ||
				!rte_is_unicast_ether_addr(&p->mac) ||
				rte_is_zero_ether_addr(&p->mac)) {
			SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: a unicast MAC address such "
					"as 02:00:00:00:00:01", key, value);
			rc = -EINVAL;
		}
	} else if (strcmp(key, ARG_MTU) == 0) {
		rc = arg_u64(key, value, SHMLINK_MIN_MTU, SHMLINK_MAX_MTU, &v);
		p->mtu = (uint32_t)v;
	} else if (strcmp(key, ARG_BUFSZ) == 0) {
		rc = arg_u64(key, value, SHMLINK_MIN_BUFSZ, SHMLINK_MAX_BUFSZ, &v);
		p->buffer_size = (uint32_t)v;
	} else if (strcmp(key, ARG_DATASZ) == 0) {
		rc = arg_u64(key, value, SHMLINK_MIN_DATASZ, SHMLINK_MAX_DATASZ, &p->sizes.data);
	} else if (strcmp(key, ARG_PIPESZ) == 0) {
		rc = arg_u64(key, value, SHMLINK_MIN_PIPESZ, SHMLINK_MAX_PIPESZ, &v);
		p->sizes.tx_pipe = v;
		p->sizes.rx_pipe = v;
	} else if (strcmp(key, ARG_QUEUES) == 0) {
		rc = arg_u64(key, value, 1, SHMLINK_MAX_QUEUES, &v);
		p->nb_qp = (uint16_t)v;
	} else if (strcmp(key, ARG_FRAMING) == 0) {
		if (strcmp(value, "eth") == 0)
			p->raw_ip = false;
		else if (strcmp(value, "ip") == 0)
			p->raw_ip = true;
		else {
			SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: eth or ip", key, value);
			rc = -EINVAL;
		}
	} else if (strcmp(key, ARG_VIRTIO) == 0) {
		rc = arg_bool(key, value, &p->virtio_hdr);
	} else if (strcmp(key, ARG_UNSEALED) == 0) {
		rc = arg_bool(key, value, &p->allow_unsealed);
	} else if (strcmp(key, ARG_SOCKMODE) == 0) {
		char *end;

		errno = 0;
		v = strtoul(value, &end, 8);
		if (errno != 0 || end == value || *end != '\0' || v > 0777 || (v & 0600) != 0600) {
			SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: an octal mode up to 0777 that "
					"gives the owner read and write, such as 0660", key, value);
			rc = -EINVAL;
		}
		p->socket_mode = (int)v;
	} else if (strcmp(key, ARG_SOCKGROUP) == 0) {
		rc = arg_group(key, value, p);
	} else if (strcmp(key, ARG_ALLOWUID) == 0) {
		rc = arg_ids(key, value, (uint32_t *)p->allow_uid, &p->nb_allow_uid);
	} else if (strcmp(key, ARG_ALLOWGID) == 0) {
		rc = arg_ids(key, value, (uint32_t *)p->allow_gid, &p->nb_allow_gid);
	} else if (strcmp(key, ARG_SIGDELAY) == 0) {
		rc = arg_u64(key, value, 0, SHMLINK_MAX_SIGDELAY, &v);
		p->signal_delay_us = (uint32_t)v;
	} else if (strcmp(key, ARG_SIGBATCH) == 0) {
		rc = arg_u64(key, value, 1, UINT16_MAX, &v);
		p->signal_batch = (uint32_t)v;
	} else if (strcmp(key, ARG_RXEVICT) == 0) {
		rc = arg_u64(key, value, 0, UINT16_MAX, &v);
		p->rx_evict = (uint32_t)v;
	} else if (strcmp(key, ARG_RXCKSUM) == 0) {
		rc = arg_cksum(key, value, SHMLINK_CTL_O_CSUM_RX, p);
	} else if (strcmp(key, ARG_TXCKSUM) == 0) {
		rc = arg_cksum(key, value, SHMLINK_CTL_O_CSUM_TX, p);
	} else if (strcmp(key, ARG_ZEROCOPY) == 0) {
		rc = arg_zero_copy(key, value, p);
	} else if (strcmp(key, ARG_QFILES) == 0) {
		rc = arg_queue_files(key, value, p);
	} else if (strcmp(key, ARG_TRIM) == 0) {
		if (strcmp(value, "auto") == 0)
			p->trim = SHMLINK_TRIM_AUTO;
		else if (strcmp(value, "on") == 0)
			p->trim = SHMLINK_TRIM_ON;
		else if (strcmp(value, "off") == 0)
			p->trim = SHMLINK_TRIM_OFF;
		else {
			SHMLINK_LOG(ERR, "%s=%s: invalid, allowed: auto, on or off", key, value);
			rc = -EINVAL;
		}
	}
	return rc;
}

static int
shmlink_parse_args(const char *name, const char *params, struct pmd_internals *p)
{
	struct rte_kvargs *kvlist;
	unsigned int i;
	int rc = 0;

	p->listen = true;
	p->role = SHMLINK_ROLE_SERVER;
	p->mtu = SHMLINK_DEFAULT_MTU;
	p->buffer_size = SHMLINK_DEFAULT_BUFFER_SIZE;
	p->sizes.data = SHMLINK_LISTEN_DATA_SIZE;
	p->sizes.tx_pipe = SHMLINK_LISTEN_PIPE_SIZE;
	p->sizes.rx_pipe = SHMLINK_LISTEN_PIPE_SIZE;
	p->nb_qp = 1;
	p->socket_mode = -1;
	p->signal_batch = SHMLINK_DEFAULT_SIGBATCH;
	p->offloads = SHMLINK_CTL_O_CSUM_TX | SHMLINK_CTL_O_CSUM_RX;
	rte_eth_random_addr(p->mac.addr_bytes);

	kvlist = rte_kvargs_parse(params != NULL ? params : "", shmlink_valid_args);
	if (kvlist == NULL) {
		SHMLINK_LOG(ERR, "%s: cannot parse \"%s\"; the keys are: socket, listen, role, "
				"mac, mtu, buffer_size, data_size, pipe_size, queues, framing, "
				"virtio_hdr, trim, allow_unsealed, socket_mode, socket_group, "
				"allow_uid, allow_gid, signal_delay_us, signal_batch, rx_evict, "
				"rx_cksum, tx_cksum, zero_copy, queue_files",
				name, params);
		return -EINVAL;
	}
	for (i = 0; shmlink_valid_args[i] != NULL && rc == 0; i++)
		rc = rte_kvargs_process(kvlist, shmlink_valid_args[i], arg_handler, p);
	rte_kvargs_free(kvlist);
	if (rc != 0)
		return -EINVAL;
	if (p->socket_path[0] == '\0') {
		SHMLINK_LOG(ERR, "%s: the socket=PATH argument is required", name);
		return -EINVAL;
	}
	p->signal_delay_tsc = (rte_get_tsc_hz() * p->signal_delay_us + 999999) / 1000000;
	if (p->rx_evict != 0 && !shmlink_frame_evict_works())
		SHMLINK_LOG(WARNING, "%s: %s=%u ignored: this CPU cannot evict cache lines "
				"(no CLFLUSHOPT)", name, ARG_RXEVICT, p->rx_evict);
	if (p->sizes.data < p->buffer_size) {
		SHMLINK_LOG(ERR, "%s: data_size=%" PRIu64 " is smaller than buffer_size=%u",
				name, p->sizes.data, p->buffer_size);
		return -EINVAL;
	}
	if (arg_zero_copy_check(name, p) != 0)
		return -EINVAL;
	return arg_queue_files_check(name, p);
}

/* ---- ethdev ops ---- */

static int
shmlink_dev_configure(struct rte_eth_dev *dev)
{
	struct pmd_internals *pmd = dev->data->dev_private;

	if (dev->data->nb_rx_queues > pmd->nb_qp || dev->data->nb_tx_queues > pmd->nb_qp) {
		SHMLINK_LOG(ERR, "%s: %u rx and %u tx queues asked, the port has %u queue "
				"pair(s) (devarg queues=)", pmd->socket_path,
				dev->data->nb_rx_queues, dev->data->nb_tx_queues, pmd->nb_qp);
		return -EINVAL;
	}
	return 0;
}

static int
shmlink_dev_start(struct rte_eth_dev *dev)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	uint16_t i;

	pmd->started = true;
	for (i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	shmlink_peer_update_link(pmd);
	return 0;
}

static int
shmlink_dev_stop(struct rte_eth_dev *dev)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	uint16_t i;

	pmd->started = false;
	for (i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	shmlink_peer_flush_signals(pmd);
	shmlink_peer_update_link(pmd);
	return 0;
}

static void
shmlink_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	struct shmlink_rxq *q = pmd->rxq[qid];

	if (q == NULL)
		return;
	shmlink_peer_unlink_queue(pmd, q, NULL);
	/* The xstats must not go back when a queue is set up again. */
	pmd->rx_evicted_freed += q->evicted;
	pmd->zc_lent_freed += q->zc_lent;
	pmd->zc_copied_freed += q->zc_copied;
	shmlink_offload_stats_add(&pmd->ost_freed, &q->ost);
	pmd->rxq[qid] = NULL;
	dev->data->rx_queues[qid] = NULL;
	rte_free(q);
}

static void
shmlink_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	struct shmlink_txq *q = pmd->txq[qid];

	if (q == NULL)
		return;
	shmlink_peer_unlink_queue(pmd, NULL, q);
	shmlink_offload_stats_add(&pmd->ost_freed, &q->ost);
	pmd->txq[qid] = NULL;
	dev->data->tx_queues[qid] = NULL;
	rte_free(q);
}

static void
shmlink_free_intr(struct pmd_internals *pmd)
{
	struct rte_eth_dev *dev = pmd->dev;
	uint16_t i;

	if (dev->intr_handle != NULL) {
		rte_intr_vec_list_free(dev->intr_handle);
		rte_intr_instance_free(dev->intr_handle);
		dev->intr_handle = NULL;
	}
	for (i = 0; i < SHMLINK_MAX_QUEUES; i++) {
		if (pmd->rx_epfd[i] >= 0)
			close(pmd->rx_epfd[i]);
		pmd->rx_epfd[i] = -1;
	}
}

static int
shmlink_dev_close(struct rte_eth_dev *dev)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	uint16_t i;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		shmlink_mp_detach(dev);
		return 0;
	}
	pmd->started = false;
	shmlink_peer_stop(pmd);
	for (i = 0; i < dev->data->nb_rx_queues; i++)
		shmlink_rx_queue_release(dev, i);
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		shmlink_tx_queue_release(dev, i);
	shmlink_free_intr(pmd);
	return 0;
}

static int
shmlink_dev_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct pmd_internals *pmd = dev->data->dev_private;

	info->if_index = 0;
	info->max_mac_addrs = 1;
	/* ethdev derives the link overhead from these two: the Ethernet header and two
	 * VLAN tags, or nothing with raw IP framing. */
	info->min_mtu = SHMLINK_MIN_MTU;
	info->max_mtu = SHMLINK_MAX_MTU;
	info->max_rx_pktlen = shmlink_max_frame(SHMLINK_MAX_MTU, pmd->raw_ip);
	info->max_rx_queues = pmd->nb_qp;
	info->max_tx_queues = pmd->nb_qp;
	info->min_rx_bufsize = 0;
	info->rx_offload_capa = SHMLINK_RX_OFFLOADS;
	info->tx_offload_capa = SHMLINK_TX_OFFLOADS;
	info->rx_queue_offload_capa = SHMLINK_RX_OFFLOADS;
	info->tx_queue_offload_capa = SHMLINK_TX_OFFLOADS;
	info->speed_capa = RTE_ETH_LINK_SPEED_FIXED;
	info->default_rxportconf.burst_size = 32;
	info->default_txportconf.burst_size = 32;
	info->default_rxportconf.ring_size = 1024;
	info->default_txportconf.ring_size = 1024;
	return 0;
}

static int
shmlink_link_update(struct rte_eth_dev *dev __rte_unused, int wait __rte_unused)
{
	/* The control path keeps dev_link current. */
	return 0;
}

static int
shmlink_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
		unsigned int socket_id, const struct rte_eth_rxconf *conf,
		struct rte_mempool *mp)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	uint64_t offloads = conf->offloads | dev->data->dev_conf.rxmode.offloads;
	struct shmlink_rxq *q;
	uint16_t room;

	room = rte_pktmbuf_data_room_size(mp);
	if (room <= RTE_PKTMBUF_HEADROOM) {
		SHMLINK_LOG(ERR, "rx queue %u: mempool %s has no data room", qid, mp->name);
		return -EINVAL;
	}
	shmlink_rx_queue_release(dev, qid);
	q = rte_zmalloc_socket("shmlink_rxq", sizeof(*q), RTE_CACHE_LINE_SIZE, socket_id);
	if (q == NULL)
		return -ENOMEM;
	q->mp = mp;
	q->pmd = pmd;
	q->queue_id = qid;
	q->port_id = dev->data->port_id;
	q->data_room = room - RTE_PKTMBUF_HEADROOM;
	q->nb_desc = nb_desc;
	q->scatter = (offloads & RTE_ETH_RX_OFFLOAD_SCATTER) != 0;
	q->raw_ip = pmd->raw_ip;
	q->offloads = offloads;
	q->parse = pmd->ptypes_wanted || (offloads & SHMLINK_RX_CKSUM_OFFLOADS) != 0;
	q->sig = pmd->signal_delay_us != 0 ? &pmd->sig[qid] : NULL;
	q->evict_min = shmlink_frame_evict_works() ? pmd->rx_evict : 0;
	pmd->rxq[qid] = q;
	dev->data->rx_queues[qid] = q;
	shmlink_peer_link_queue(pmd, q, NULL);
	return 0;
}

static int
shmlink_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
		unsigned int socket_id, const struct rte_eth_txconf *conf)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	struct shmlink_txq *q;

	shmlink_tx_queue_release(dev, qid);
	q = rte_zmalloc_socket("shmlink_txq", sizeof(*q), RTE_CACHE_LINE_SIZE, socket_id);
	if (q == NULL)
		return -ENOMEM;
	q->pmd = pmd;
	q->queue_id = qid;
	q->port_id = dev->data->port_id;
	q->nb_desc = nb_desc;
	q->offloads = conf->offloads | dev->data->dev_conf.txmode.offloads;
	q->sig = pmd->signal_delay_us != 0 ? &pmd->sig[qid] : NULL;
	pmd->txq[qid] = q;
	dev->data->tx_queues[qid] = q;
	shmlink_peer_link_queue(pmd, NULL, q);
	return 0;
}

/* @qst holds the per-queue counters: @st itself before DPDK 25.11 (shmlink_compat.h),
 * and since 25.11 it may be NULL: ethdev then wants no per-queue counters. */
static int
shmlink_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st,
		shmlink_queue_stats_t *qst)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < dev->data->nb_rx_queues; i++) {
		const struct shmlink_rxq *q = pmd->rxq[i];

		if (q == NULL)
			continue;
		st->ipackets += q->st.packets;
		st->ibytes += q->st.bytes;
		st->ierrors += q->st.dropped + q->st.errors;
		st->rx_nombuf += q->st.nombuf;
		if (qst != NULL && i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			qst->q_ipackets[i] = q->st.packets;
			qst->q_ibytes[i] = q->st.bytes;
			qst->q_errors[i] = q->st.dropped + q->st.errors;
		}
	}
	for (i = 0; i < dev->data->nb_tx_queues; i++) {
		const struct shmlink_txq *q = pmd->txq[i];

		if (q == NULL)
			continue;
		st->opackets += q->st.packets;
		st->obytes += q->st.bytes;
		st->oerrors += q->st.errors;
		if (qst != NULL && i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			qst->q_opackets[i] = q->st.packets;
			qst->q_obytes[i] = q->st.bytes;
		}
	}
	return 0;
}
SHMLINK_STATS_GET_OP(shmlink_stats_get)

static int
shmlink_stats_reset(struct rte_eth_dev *dev)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < SHMLINK_MAX_QUEUES; i++) {
		if (pmd->rxq[i] != NULL)
			memset(&pmd->rxq[i]->st, 0, sizeof(pmd->rxq[i]->st));
		if (pmd->txq[i] != NULL)
			memset(&pmd->txq[i]->st, 0, sizeof(pmd->txq[i]->st));
	}
	return 0;
}

static void
shmlink_xstat_values(struct pmd_internals *pmd, uint64_t *v)
{
	struct shmlink_offload_stats os;
	struct shmlink_ep_stats st;
	unsigned int i, k = 0;
	uint64_t zc[2];

	shmlink_peer_stats(pmd, &st);
	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		v[k++] = st.err[i];
	v[k++] = st.rx_oversize;
	v[k++] = st.rx_runt;
	v[k++] = st.rx_trimmed;
	v[k++] = st.tx_oversize;
	v[k++] = st.signals;
	v[k++] = pmd->attach_count;
	v[k] = pmd->rx_evicted_freed;
	zc[0] = pmd->zc_lent_freed;
	zc[1] = pmd->zc_copied_freed;
	os = pmd->ost_freed;
	for (i = 0; i < RTE_DIM(pmd->rxq); i++) {
		if (pmd->rxq[i] != NULL) {
			v[k] += pmd->rxq[i]->evicted;
			zc[0] += pmd->rxq[i]->zc_lent;
			zc[1] += pmd->rxq[i]->zc_copied;
			shmlink_offload_stats_add(&os, &pmd->rxq[i]->ost);
		}
		if (pmd->txq[i] != NULL)
			shmlink_offload_stats_add(&os, &pmd->txq[i]->ost);
	}
	k++;
	v[k++] = os.rx_filled;
	v[k++] = os.rx_bad_header;
	v[k++] = os.rx_unchecked;
	v[k++] = os.tx_filled;
	v[k++] = os.tx_bad_offload;
	v[k++] = zc[0];
	v[k++] = zc[1];
	v[k++] = shmlink_peer_zc_lent(pmd, false);
	v[k++] = st.tx_in_place;
	v[k] = shmlink_peer_zc_lent(pmd, true);
}

static int
shmlink_xstats_get_names(struct rte_eth_dev *dev __rte_unused,
		struct rte_eth_xstat_name *names, unsigned int size)
{
	unsigned int i, k = 0;

	if (names == NULL || size < SHMLINK_NB_XSTATS)
		return SHMLINK_NB_XSTATS;
	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "peer_%s",
				shmlink_err_name(i));
	for (i = 0; i < RTE_DIM(shmlink_xstat_extra); i++)
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "%s",
				shmlink_xstat_extra[i]);
	return SHMLINK_NB_XSTATS;
}

static int
shmlink_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xstats, unsigned int n)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	uint64_t v[SHMLINK_NB_XSTATS];
	unsigned int i;

	if (xstats == NULL || n < SHMLINK_NB_XSTATS)
		return SHMLINK_NB_XSTATS;
	shmlink_xstat_values(pmd, v);
	for (i = 0; i < SHMLINK_NB_XSTATS; i++) {
		xstats[i].id = i;
		xstats[i].value = v[i] - pmd->xstats_base[i];
	}
	return SHMLINK_NB_XSTATS;
}

static int
shmlink_xstats_reset(struct rte_eth_dev *dev)
{
	struct pmd_internals *pmd = dev->data->dev_private;

	shmlink_xstat_values(pmd, pmd->xstats_base);
	return 0;
}

/* The ring sizes are the peer's files', not a number of descriptors: nb_desc is what the
 * application asked, kept to be shown back. */
static void
shmlink_rxq_info_get(struct rte_eth_dev *dev, uint16_t qid, struct rte_eth_rxq_info *qinfo)
{
	const struct shmlink_rxq *q = dev->data->rx_queues[qid];

	qinfo->mp = q->mp;
	qinfo->scattered_rx = q->scatter;
	qinfo->nb_desc = q->nb_desc;
	qinfo->rx_buf_size = q->data_room;
	qinfo->conf.offloads = q->offloads;
}

static void
shmlink_txq_info_get(struct rte_eth_dev *dev, uint16_t qid, struct rte_eth_txq_info *qinfo)
{
	const struct shmlink_txq *q = dev->data->tx_queues[qid];

	qinfo->nb_desc = q->nb_desc;
	qinfo->conf.offloads = q->offloads;
}

static int
shmlink_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	struct pmd_internals *pmd = dev->data->dev_private;

	if (mtu < SHMLINK_MIN_MTU || mtu > SHMLINK_MAX_MTU)
		return -EINVAL;
	/* Endpoints take their frame limit when a peer attaches. */
	pmd->mtu = mtu;
	return 0;
}

static int
shmlink_promisc_noop(struct rte_eth_dev *dev __rte_unused)
{
	/* Every frame the peer sends is delivered: there is no filter to change. */
	return 0;
}

SHMLINK_PTYPES_GET_OP(shmlink_ptypes_get, shmlink_ptypes)

/* An application that names packet types it wants has every frame parsed; mask 0 (what
 * testpmd sets by default) leaves parsing to the checksum offloads. */
static int
shmlink_ptypes_set(struct rte_eth_dev *dev, uint32_t ptype_mask)
{
	struct pmd_internals *pmd = dev->data->dev_private;
	uint16_t i;

	pmd->ptypes_wanted = ptype_mask != 0;
	for (i = 0; i < RTE_DIM(pmd->rxq); i++)
		if (pmd->rxq[i] != NULL)
			pmd->rxq[i]->parse = pmd->ptypes_wanted ||
				(pmd->rxq[i]->offloads & SHMLINK_RX_CKSUM_OFFLOADS) != 0;
	return 0;
}

static int
shmlink_rx_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct pmd_internals *pmd = dev->data->dev_private;

	return shmlink_peer_rx_intr(pmd, qid, true);
}

static int
shmlink_rx_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	struct pmd_internals *pmd = dev->data->dev_private;

	return shmlink_peer_rx_intr(pmd, qid, false);
}

static const struct eth_dev_ops shmlink_ops = {
	.dev_configure = shmlink_dev_configure,
	.dev_start = shmlink_dev_start,
	.dev_stop = shmlink_dev_stop,
	.dev_close = shmlink_dev_close,
	.dev_infos_get = shmlink_dev_infos_get,
	.link_update = shmlink_link_update,
	.rx_queue_setup = shmlink_rx_queue_setup,
	.tx_queue_setup = shmlink_tx_queue_setup,
	.rx_queue_release = shmlink_rx_queue_release,
	.tx_queue_release = shmlink_tx_queue_release,
	.rx_queue_intr_enable = shmlink_rx_intr_enable,
	.rx_queue_intr_disable = shmlink_rx_intr_disable,
	.stats_get = shmlink_stats_get_op,
	.stats_reset = shmlink_stats_reset,
	.xstats_get = shmlink_xstats_get,
	.xstats_get_names = shmlink_xstats_get_names,
	.xstats_reset = shmlink_xstats_reset,
	.mtu_set = shmlink_mtu_set,
	.dev_supported_ptypes_get = shmlink_ptypes_get,
	.dev_ptypes_set = shmlink_ptypes_set,
	.promiscuous_enable = shmlink_promisc_noop,
	.promiscuous_disable = shmlink_promisc_noop,
	.allmulticast_enable = shmlink_promisc_noop,
	.allmulticast_disable = shmlink_promisc_noop,
	.rxq_info_get = shmlink_rxq_info_get,
	.txq_info_get = shmlink_txq_info_get,
};

bool
shmlink_dev_is_ours(const struct rte_eth_dev *dev)
{
	return dev->dev_ops == &shmlink_ops;
}

/* What a secondary process may do with the primary's port: look, count, capture
 * (dpdk-proc-info, dpdk-dumpcap), and receive and send on the queues the application
 * gives it. Configuration, queues, rx interrupts and the peer are the primary's; ethdev
 * answers -ENOTSUP for the rest. */
static const struct eth_dev_ops shmlink_secondary_ops = {
	.dev_close = shmlink_dev_close,
	.dev_infos_get = shmlink_dev_infos_get,
	.link_update = shmlink_link_update,
	.stats_get = shmlink_stats_get_op,
	.stats_reset = shmlink_stats_reset,
	.xstats_get = shmlink_xstats_get,
	.xstats_get_names = shmlink_xstats_get_names,
	.xstats_reset = shmlink_xstats_reset,
	.dev_supported_ptypes_get = shmlink_ptypes_get,
	.promiscuous_enable = shmlink_promisc_noop,
	.promiscuous_disable = shmlink_promisc_noop,
	.allmulticast_enable = shmlink_promisc_noop,
	.allmulticast_disable = shmlink_promisc_noop,
	.rxq_info_get = shmlink_rxq_info_get,
	.txq_info_get = shmlink_txq_info_get,
};

struct pmd_internals *
shmlink_pmd_of(uint16_t port_id)
{
	const struct rte_eth_dev *dev;

	if (port_id >= RTE_MAX_ETHPORTS)
		return NULL;
	dev = &rte_eth_devices[port_id];
	if (dev->state == RTE_ETH_DEV_UNUSED ||
			(dev->dev_ops != &shmlink_ops && dev->dev_ops != &shmlink_secondary_ops))
		return NULL;
	return dev->data->dev_private;
}

/* ---- probe and remove ---- */

/*
 * The rx interrupt handle: one epoll FD per queue pair, holding the current peer's
 * eventfd (see struct pmd_internals). EAL reads nothing from it (counter size 0): the
 * driver drains the eventfd when the application turns the interrupt off or on.
 */
static int
shmlink_setup_intr(struct pmd_internals *pmd)
{
	struct rte_eth_dev *dev = pmd->dev;
	struct rte_intr_handle *h;
	uint16_t i;

	h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_SHARED);
	if (h == NULL)
		return -ENOMEM;
	dev->intr_handle = h;
	if (rte_intr_type_set(h, RTE_INTR_HANDLE_VDEV) != 0 ||
			rte_intr_nb_efd_set(h, pmd->nb_qp) != 0 ||
			rte_intr_max_intr_set(h, pmd->nb_qp + 1) != 0 ||
			rte_intr_efd_counter_size_set(h, 0) != 0 ||
			rte_intr_vec_list_alloc(h, "shmlink_intr_vec", pmd->nb_qp) != 0)
		return -ENOMEM;
	for (i = 0; i < pmd->nb_qp; i++) {
		pmd->rx_epfd[i] = epoll_create1(EPOLL_CLOEXEC);
		if (pmd->rx_epfd[i] < 0)
			return -errno;
		if (rte_intr_efds_index_set(h, i, pmd->rx_epfd[i]) != 0 ||
				rte_intr_vec_list_index_set(h, i, RTE_INTR_VEC_RXTX_OFFSET + i) != 0)
			return -ENOMEM;
	}
	return 0;
}

/* In a secondary process: the primary's port, its state read from shared memory. */
static int
shmlink_probe_secondary(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	const struct pmd_internals *pmd;
	struct rte_eth_dev *dev;

	dev = rte_eth_dev_attach_secondary(name);
	if (dev == NULL) {
		SHMLINK_LOG(ERR, "%s: the primary process has no such port", name);
		return -ENODEV;
	}
	pmd = dev->data->dev_private;
	if (pmd == NULL || pmd->magic != SHMLINK_PMD_MAGIC ||
			pmd->layout != shmlink_pmd_layout()) {
		SHMLINK_LOG(ERR, "%s: the primary's port was made by another build of "
				"net_shmlink (state layout %08x, this one reads %08x): load "
				"the primary's driver", name, pmd != NULL ? pmd->layout : 0,
				shmlink_pmd_layout());
		rte_eth_dev_release_port(dev);
		return -EPROTO;
	}
	if (shmlink_mp_attach(dev) != 0) {
		rte_eth_dev_release_port(dev);
		return -ENOMEM;
	}
	dev->device = &vdev->device;
	dev->dev_ops = &shmlink_secondary_ops;
	dev->rx_pkt_burst = shmlink_rx_burst_secondary;
	dev->tx_pkt_burst = shmlink_tx_burst_secondary;
	dev->tx_pkt_prepare = shmlink_tx_prepare;
	rte_eth_dev_probing_finish(dev);
	SHMLINK_LOG(INFO, "%s: port %u of the primary process (%s %s)", name,
			dev->data->port_id, pmd->listen ? "listening on" : "connecting to",
			pmd->socket_path);
	return 0;
}

static int
shmlink_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct pmd_internals args = { 0 }, *pmd;
	struct rte_eth_dev *dev;
	unsigned int i;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return shmlink_probe_secondary(vdev);
	rc = shmlink_parse_args(name, rte_vdev_device_args(vdev), &args);
	if (rc != 0)
		return rc;

	dev = rte_eth_vdev_allocate(vdev, sizeof(*pmd));
	if (dev == NULL)
		return -ENOMEM;
	pmd = dev->data->dev_private;
	*pmd = args;
	pmd->magic = SHMLINK_PMD_MAGIC;
	pmd->layout = shmlink_pmd_layout();
	pmd->dev = dev;
	pmd->keep_files = shmlink_mp_init() == 0;
	pmd->port_id = dev->data->port_id;
	for (i = 0; i < SHMLINK_MAX_QUEUES; i++)
		pmd->rx_epfd[i] = -1;
	pmd->listen_fd = -1;
	pmd->conn_fd = -1;

	dev->data->mac_addrs = rte_zmalloc_socket(name, sizeof(struct rte_ether_addr), 0,
			rte_socket_id());
	if (dev->data->mac_addrs == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rte_ether_addr_copy(&pmd->mac, dev->data->mac_addrs);
	dev->data->mtu = (uint16_t)pmd->mtu;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->dev_ops = &shmlink_ops;
	dev->rx_pkt_burst = pmd->zero_copy_rx ? shmlink_rx_burst_zc : shmlink_rx_burst;
	/* Only the primary lends (a secondary's bursts copy). */
	if (pmd->zero_copy_rx || pmd->zero_copy_tx)
		shmlink_zc_lending = true;
	dev->tx_pkt_burst = pmd->zero_copy_tx ? shmlink_tx_burst_zc : shmlink_tx_burst;
	dev->tx_pkt_prepare = shmlink_tx_prepare;

	rc = shmlink_setup_intr(pmd);
	if (rc != 0) {
		SHMLINK_LOG(ERR, "%s: cannot set up rx interrupts: %s", name, strerror(-rc));
		goto fail;
	}
	rc = shmlink_peer_start(pmd);
	if (rc != 0)
		goto fail;
	rte_eth_dev_probing_finish(dev);
	SHMLINK_LOG(INFO, "%s: port %u, %s %s as %s%s, %u queue pair(s), MAC "
			RTE_ETHER_ADDR_PRT_FMT, name, pmd->port_id,
			pmd->listen ? "listening on" : "connecting to", pmd->socket_path,
			pmd->role == SHMLINK_ROLE_SERVER ? "server" : "client",
			pmd->role_set || pmd->listen ? "" : " (or as the listener says)",
			pmd->nb_qp, RTE_ETHER_ADDR_BYTES(&pmd->mac));
	return 0;
fail:
	shmlink_peer_stop(pmd);
	shmlink_free_intr(pmd);
	rte_eth_dev_release_port(dev);
	return rc;
}

static int
shmlink_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;	/* already closed */
	/* A secondary lets go of its view only: the port is the primary's. */
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		shmlink_mp_detach(dev);
		return rte_eth_dev_release_port(dev);
	}
	/* Hot-unplug of a running port: ethdev refuses to close a started one. */
	if (dev->data->dev_started && rte_eth_dev_stop(dev->data->port_id) != 0)
		SHMLINK_LOG(WARNING, "%s: cannot stop the port before removing it",
				rte_vdev_device_name(vdev));
	return rte_eth_dev_close(dev->data->port_id);
}

static struct rte_vdev_driver shmlink_vdev_drv = {
	.probe = shmlink_probe,
	.remove = shmlink_remove,
};

/* RTE_PMD_REGISTER_VDEV, except that a second copy of the driver in the process
 * registers nothing (shmlink_once.c). */
RTE_INIT(shmlink_vdev_register)
{
	if (!shmlink_pmd_first_copy())
		return;
	shmlink_vdev_drv.driver.name = RTE_STR(net_shmlink);
	rte_vdev_register(&shmlink_vdev_drv);
}
SHMLINK_PMD_EXPORT_NAME(net_shmlink);
RTE_PMD_REGISTER_PARAM_STRING(net_shmlink,
	ARG_SOCKET "=<path> "
	ARG_LISTEN "=<yes|no> "
	ARG_ROLE "=<server|client> "
	ARG_MAC "=<mac addr> "
	ARG_MTU "=<int> "
	ARG_BUFSZ "=<int> "
	ARG_DATASZ "=<int> "
	ARG_PIPESZ "=<int> "
	ARG_QUEUES "=<1-16> "
	ARG_FRAMING "=<eth|ip> "
	ARG_VIRTIO "=<yes|no> "
	ARG_TRIM "=<auto|on|off> "
	ARG_UNSEALED "=<yes|no> "
	ARG_SOCKMODE "=<octal mode> "
	ARG_SOCKGROUP "=<group> "
	ARG_ALLOWUID "=<uid[:uid...]> "
	ARG_ALLOWGID "=<gid[:gid...]> "
	ARG_SIGDELAY "=<0-10000> "
	ARG_SIGBATCH "=<1-65535> "
	ARG_RXEVICT "=<0-65535> "
	ARG_RXCKSUM "=<auto|off|required> "
	ARG_TXCKSUM "=<auto|off|required> "
	ARG_ZEROCOPY "=<rx|tx|yes|no> "
	ARG_QFILES "=<memfd|memfd_huge|/dir>");
