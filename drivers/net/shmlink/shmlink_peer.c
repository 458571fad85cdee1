/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The port's side of the peer link (the control path): the socket, attaching a peer and dropping it, link state. It runs
 * in the EAL interrupt thread (socket callbacks, reconnect alarm) and in the threads
 * that call ethdev ops; pmd->lock serialises them, and is never held while waiting
 * for a peer. The data path never takes it: it sees a queue's endpoint appear and
 * disappear through struct shmlink_qlink.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <rte_alarm.h>
#include <rte_cycles.h>
#include <rte_interrupts.h>
#include <rte_pause.h>

#include <ethdev_driver.h>

#include "shmlink_ethdev.h"
#include "shmlink_zc.h"

#define CTL_RECONNECT_US	(200 * 1000)
/* How often an attached peer that cannot receive yet is looked at again. */
#define PEER_READY_POLL_US	1000
/* A peer has this long to complete the handshake. */
#define CTL_HANDSHAKE_US	(5 * 1000 * 1000)

static void peer_on_conn(void *arg);
static void peer_reconnect(void *arg);
static void peer_reconnect_later(struct pmd_internals *pmd);

/*
 * Report the link as up when a peer is attached and the port started. Lock held.
 * The application's LSC callback must not run under our lock (it may call ethdev ops
 * that take it): peer_unlock() delivers the event once the lock is dropped.
 */
static void
peer_link_set(struct pmd_internals *pmd)
{
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_100G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = pmd->attached && pmd->peer_ready && pmd->started ?
				RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN,
	};

	if (rte_eth_linkstatus_set(pmd->dev, &link) != 0)
		return;		/* unchanged */
	if (pmd->dev->data->dev_conf.intr_conf.lsc)
		pmd->lsc_pending = true;
}

/* Whether a frame sent now on every queue pair can be received (shmlink_ep_tx_ready). */
static bool
peer_tx_ready(const struct pmd_internals *pmd)
{
	uint16_t i;

	for (i = 0; i < pmd->nb_qp; i++)
		if (!shmlink_ep_tx_ready(pmd->ep[i]))
			return false;
	return true;
}

static void peer_ready_poll(void *arg);

/* Look at the attached peer again soon. Lock held. */
static void
peer_ready_arm(struct pmd_internals *pmd)
{
	if (!pmd->ready_armed && !pmd->closing &&
			rte_eal_alarm_set(PEER_READY_POLL_US, peer_ready_poll, pmd) == 0)
		pmd->ready_armed = true;
}

static void
peer_unlock(struct pmd_internals *pmd)
{
	bool lsc = pmd->lsc_pending;

	pmd->lsc_pending = false;
	rte_spinlock_unlock(&pmd->lock);
	if (lsc)
		rte_eth_dev_callback_process(pmd->dev, RTE_ETH_EVENT_INTR_LSC, NULL);
}

void
shmlink_peer_update_link(struct pmd_internals *pmd)
{
	rte_spinlock_lock(&pmd->lock);
	peer_link_set(pmd);
	peer_unlock(pmd);
}

static struct shmlink_ep *
peer_ep_of(const struct pmd_internals *pmd, uint16_t qid)
{
	return pmd->attached && qid < pmd->nb_qp ? pmd->ep[qid] : NULL;
}

void
shmlink_peer_flush_signals(struct pmd_internals *pmd)
{
	uint16_t i;

	if (pmd->signal_delay_us == 0)
		return;
	rte_spinlock_lock(&pmd->lock);
	for (i = 0; i < SHMLINK_MAX_QUEUES; i++) {
		struct shmlink_ep *ep = peer_ep_of(pmd, i);

		if (ep != NULL)
			shmlink_sig_flush(&pmd->sig[i], ep);
	}
	rte_spinlock_unlock(&pmd->lock);
}

/* An application sleeping on an rx interrupt must not miss frames that came before it
 * armed the word, nor a new peer: wake it, and its poll finds whatever is there. */
static void
peer_wake(struct shmlink_ep *ep)
{
	if (!shmlink_notify_kick(shmlink_ep_rx_notify(ep)))
		SHMLINK_LOG(DEBUG, "cannot wake the rx interrupt: %s", strerror(errno));
}

/* Point every configured queue at its queue pair's endpoint. Lock held. */
static void
peer_link_queues(struct pmd_internals *pmd)
{
	uint16_t i;

	for (i = 0; i < SHMLINK_MAX_QUEUES; i++) {
		struct shmlink_ep *ep = peer_ep_of(pmd, i);
		struct shmlink_rxq *rxq = pmd->rxq[i];

		if (rxq != NULL) {
			shmlink_qlink_set(&rxq->link, ep);
			/* Against shmlink_peer_rx_intr(), see shmlink_qlink.h. */
			if (ep != NULL && shmlink_qlink_flag_load(&rxq->intr_on)) {
				shmlink_notify_arm(shmlink_ep_rx_notify(ep));
				peer_wake(ep);
			}
		}
		if (pmd->txq[i] != NULL)
			shmlink_qlink_set(&pmd->txq[i]->link, ep);
	}
}

void
shmlink_peer_link_queue(struct pmd_internals *pmd, struct shmlink_rxq *rxq,
		struct shmlink_txq *txq)
{
	rte_spinlock_lock(&pmd->lock);
	if (rxq != NULL)
		shmlink_qlink_set(&rxq->link, peer_ep_of(pmd, rxq->queue_id));
	if (txq != NULL)
		shmlink_qlink_set(&txq->link, peer_ep_of(pmd, txq->queue_id));
	rte_spinlock_unlock(&pmd->lock);
}

void
shmlink_peer_unlink_queue(struct pmd_internals *pmd, struct shmlink_rxq *rxq,
		struct shmlink_txq *txq)
{
	struct shmlink_qlink *links[2] = {
		rxq != NULL ? &rxq->link : NULL,
		txq != NULL ? &txq->link : NULL,
	};

	rte_spinlock_lock(&pmd->lock);
	if (rxq != NULL)
		shmlink_qlink_set(&rxq->link, NULL);
	if (txq != NULL)
		shmlink_qlink_set(&txq->link, NULL);
	shmlink_qlink_wait_idle(links, RTE_DIM(links));
	rte_spinlock_unlock(&pmd->lock);
}

int
shmlink_peer_rx_intr(struct pmd_internals *pmd, uint16_t qid, bool on)
{
	struct shmlink_rxq *q = qid < SHMLINK_MAX_QUEUES ? pmd->rxq[qid] : NULL;
	struct shmlink_ep *ep;

	if (q == NULL)
		return -EINVAL;
	/* Against peer_link_queues(), see shmlink_qlink.h. */
	shmlink_qlink_flag_store(&q->intr_on, on);
	/* Called by the lcore that polls the queue, so the endpoint's receive side is
	 * ours; hold it against a concurrent detach like a burst does. */
	ep = shmlink_qlink_enter(&q->link);
	if (ep == NULL)
		return 0;	/* armed when a peer attaches */
	/* The application is about to sleep: no signal may wait for its next burst. */
	if (on && q->sig != NULL)
		shmlink_sig_flush(q->sig, ep);
	/* EAL reads nothing from the rx interrupt FD (an epoll set): the signals the
	 * peer counted in its eventfd are consumed here, before the counter can reach its
	 * limit and make the peer's writes fail. */
	shmlink_notify_drain(shmlink_ep_rx_notify(ep));
	if (on) {
		shmlink_notify_arm(shmlink_ep_rx_notify(ep));
		if (shmlink_ep_rx_ready(ep))
			peer_wake(ep);
	} else {
		shmlink_notify_disarm(shmlink_ep_rx_notify(ep));
	}
	shmlink_qlink_leave(&q->link);
	return 0;
}

void
shmlink_peer_stats(struct pmd_internals *pmd, struct shmlink_ep_stats *st)
{
	uint16_t i;

	rte_spinlock_lock(&pmd->lock);
	*st = pmd->ep_saved;
	for (i = 0; pmd->attached && i < pmd->nb_qp; i++) {
		struct shmlink_ep_stats s;

		shmlink_ep_stats_get(pmd->ep[i], &s);
		shmlink_ep_stats_add(st, &s);
	}
	rte_spinlock_unlock(&pmd->lock);
}

/*
 * The peer's eventfd of queue pair @qid into (or out of) the queue's rx interrupt FD.
 * Removed explicitly: the peer holds a copy of the eventfd, so closing ours would not
 * take it out of the epoll set.
 */
static void
peer_intr_watch(struct pmd_internals *pmd, uint16_t qid)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (pmd->rx_epfd[qid] >= 0 && epoll_ctl(pmd->rx_epfd[qid], EPOLL_CTL_ADD,
			shmlink_ep_rx_notify(pmd->ep[qid])->efd, &ev) != 0)
		SHMLINK_LOG(ERR, "%s: queue %u: cannot watch the peer's eventfd: %s",
				pmd->socket_path, qid, strerror(errno));
}

static void
peer_intr_unwatch(struct pmd_internals *pmd, uint16_t qid)
{
	if (pmd->rx_epfd[qid] >= 0 && epoll_ctl(pmd->rx_epfd[qid], EPOLL_CTL_DEL,
			shmlink_ep_rx_notify(pmd->ep[qid])->efd, NULL) != 0 && errno != ENOENT)
		SHMLINK_LOG(DEBUG, "%s: queue %u: unwatching the peer's eventfd: %s",
				pmd->socket_path, qid, strerror(errno));
}

/* The mapped queue whose data region holds the frames we receive on queue pair @i: the
 * client's TX queue in the server role, its RX queue in the client role. */
static struct shmlink_qmap *
peer_rx_queue(struct pmd_internals *pmd, uint16_t i)
{
	return pmd->att.role == SHMLINK_ROLE_SERVER ? &pmd->att.txq[i] : &pmd->att.rxq[i];
}

/* zero_copy=rx: the buffers of queue pair @i's receive direction (TX chunks of the
 * buffer size as server, the posted buffers of endpoint @ep as client). */
static uint64_t
peer_rx_bufs(struct pmd_internals *pmd, uint16_t i, const struct shmlink_ep *ep)
{
	struct shmlink_ep_buffers b;

	if (ep == NULL || pmd->att.role == SHMLINK_ROLE_SERVER)
		return peer_rx_queue(pmd, i)->data_size / pmd->att.buffer_size;
	shmlink_ep_buffers_get(ep, &b);
	return b.rx_bufs;
}

/* zero_copy=rx: lend frames of queue pair @i, received by @ep. Lock held. */
static int
peer_zc_create(struct pmd_internals *pmd, uint16_t i)
{
	struct shmlink_qmap *m = peer_rx_queue(pmd, i);

	pmd->zc[i] = shmlink_zc_create(shmlink_zc_nb_slots(peer_rx_bufs(pmd, i, pmd->ep[i])),
			m->data, m->data_size, false, pmd->dev->data->numa_node);
	return pmd->zc[i] != NULL ? 0 : -ENOMEM;
}

/* zero_copy=tx: whether queue pair @i lends chunks of its TX region, and how many at
 * most (0: none). Only a client chooses where its frames go; an mbuf says its buffer's
 * length in 16 bits. */
static uint32_t
peer_tx_hold(struct pmd_internals *pmd, uint16_t i)
{
	if (!pmd->zero_copy_tx || pmd->att.role != SHMLINK_ROLE_CLIENT ||
			pmd->att.buffer_size > UINT16_MAX)
		return 0;
	return shmlink_zc_nb_slots(pmd->att.txq[i].data_size / pmd->att.buffer_size);
}

/* zero_copy=tx: lend chunks of queue pair @i's TX region. Lock held. */
static int
peer_zc_tx_create(struct pmd_internals *pmd, uint16_t i)
{
	struct shmlink_qmap *m = &pmd->att.txq[i];

	pmd->zc_tx[i] = shmlink_zc_create(peer_tx_hold(pmd, i), m->data, m->data_size, true,
			pmd->dev->data->numa_node);
	return pmd->zc_tx[i] != NULL ? 0 : -ENOMEM;
}

/* The attachment's end of each queue pair's lending, once no burst uses it: frames the
 * application still holds keep their data region mapped, which the link hands over. */
static void
peer_zc_release(struct pmd_internals *pmd)
{
	uint16_t i;

	for (i = 0; i < SHMLINK_MAX_QUEUES; i++) {
		if (pmd->zc[i] != NULL) {
			shmlink_zc_release(pmd->zc[i], true);
			pmd->zc[i] = NULL;
			peer_rx_queue(pmd, i)->data = NULL;
		}
		if (pmd->zc_tx[i] != NULL) {
			shmlink_zc_release(pmd->zc_tx[i], true);
			pmd->zc_tx[i] = NULL;
			pmd->att.txq[i].data = NULL;
		}
	}
}

uint64_t
shmlink_peer_zc_lent(struct pmd_internals *pmd, bool tx)
{
	struct shmlink_zc *const *zc = tx ? pmd->zc_tx : pmd->zc;
	uint64_t n = 0;
	uint16_t i;

	rte_spinlock_lock(&pmd->lock);
	for (i = 0; i < SHMLINK_MAX_QUEUES; i++)
		if (zc[i] != NULL)
			n += shmlink_zc_lent(zc[i]);
	rte_spinlock_unlock(&pmd->lock);
	return n;
}

/* Drop the peer: no burst uses its memory afterwards. Lock held; @in_cb: called from
 * the control socket's own callback. */
static void
peer_detach_locked(struct pmd_internals *pmd, const char *why, bool in_cb)
{
	struct shmlink_qlink *links[2 * SHMLINK_MAX_QUEUES];
	uint16_t i;
	int rc;

	if (!pmd->attached)
		return;
	pmd->attached = false;
	pmd->peer_ready = false;
	peer_link_queues(pmd);
	for (i = 0; i < SHMLINK_MAX_QUEUES; i++) {
		links[2 * i] = pmd->rxq[i] != NULL ? &pmd->rxq[i]->link : NULL;
		links[2 * i + 1] = pmd->txq[i] != NULL ? &pmd->txq[i]->link : NULL;
	}
	shmlink_qlink_wait_idle(links, RTE_DIM(links));
	for (i = 0; i < pmd->nb_qp; i++) {
		struct shmlink_ep_stats s;

		shmlink_ep_stats_get(pmd->ep[i], &s);
		shmlink_ep_stats_add(&pmd->ep_saved, &s);
		peer_intr_unwatch(pmd, i);
		shmlink_ep_destroy(pmd->ep[i]);
		pmd->ep[i] = NULL;
	}
	peer_zc_release(pmd);
	shmlink_attach_release(&pmd->att);
	/* Inside the socket's own callback the EAL removes it once the callback returns;
	 * elsewhere it is not running (shmlink_peer_stop unregistered it first). */
	if (in_cb)
		rc = rte_intr_callback_unregister_pending(pmd->conn_intr, peer_on_conn, pmd,
				NULL);
	else
		rc = rte_intr_callback_unregister(pmd->conn_intr, peer_on_conn, pmd);
	if (rc < 0 && rc != -ENOENT)
		SHMLINK_LOG(DEBUG, "%s: unregistering the socket callback: %d",
				pmd->socket_path, rc);
	close(pmd->conn_fd);
	pmd->conn_fd = -1;
	SHMLINK_LOG(INFO, "%s: peer pid %d uid %u detached: %s", pmd->socket_path,
			(int)pmd->peer_pid, (unsigned int)pmd->peer_uid, why);
	peer_link_set(pmd);
	if (!pmd->listen && !pmd->closing && !pmd->reconnect_armed &&
			rte_eal_alarm_set(CTL_RECONNECT_US, peer_reconnect, pmd) == 0)
		pmd->reconnect_armed = true;
}

static void
peer_cred(struct shmlink_handshake *h, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	h->pid = -1;
	h->uid = (uid_t)-1;
	h->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		h->pid = cred.pid;
		h->uid = cred.uid;
		h->gid = cred.gid;
	}
}

/* The peer's credentials against the allow-lists (no list: anyone who can reach the
 * socket, which its mode and group already restrict). */
static bool
peer_allowed(const struct pmd_internals *pmd, const struct shmlink_handshake *h)
{
	uint16_t i;

	if (pmd->nb_allow_uid == 0 && pmd->nb_allow_gid == 0)
		return true;
	for (i = 0; i < pmd->nb_allow_uid; i++)
		if (pmd->allow_uid[i] == h->uid)
			return true;
	for (i = 0; i < pmd->nb_allow_gid; i++)
		if (pmd->allow_gid[i] == h->gid)
			return true;
	return false;
}

static void
peer_attach_conf(const struct pmd_internals *pmd, struct shmlink_attach_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->role = pmd->role;
	c->role_any = !pmd->role_set;
	c->nb_qp = pmd->nb_qp;
	c->flags = (pmd->raw_ip ? SHMLINK_CTL_F_RAW_IP : 0) |
			(pmd->virtio_hdr ? SHMLINK_CTL_F_VIRTIO : 0);
	c->mtu = pmd->mtu;
	c->buffer_size = pmd->buffer_size;
	memcpy(c->mac, pmd->mac.addr_bytes, sizeof(c->mac));
	c->sizes = pmd->sizes;
	c->files = pmd->files;
	c->allow_unsealed = pmd->allow_unsealed;
	c->offloads = pmd->offloads;
	c->offloads_required = pmd->offloads_required;
	c->keep_files = pmd->keep_files;
}

/* The endpoints' state goes into DPDK's shared memory: secondary processes read their
 * counters (xstats) under pmd->lock. */
static void *
peer_ep_zalloc(size_t size, size_t align, void *arg)
{
	const struct pmd_internals *pmd = arg;

	return rte_zmalloc_socket("shmlink_ep", size, align, pmd->dev->data->numa_node);
}

static void
peer_ep_free(void *p, void *arg __rte_unused)
{
	rte_free(p);
}

/* Start using the link handshake @h made. Lock held. Returns 0, or -1 with nothing
 * kept (the caller closes the socket and releases the link). */
static int
peer_attach_locked(struct pmd_internals *pmd, struct shmlink_handshake *h)
{
	int fd = h->hs.sock;
	struct shmlink_ep_conf conf;
	uint16_t i;

	pmd->att = h->hs.a;
	pmd->peer_pid = h->pid;
	pmd->peer_uid = h->uid;
	pmd->peer_gid = h->gid;
	conf = shmlink_attach_ep_conf(&pmd->att, pmd->trim);
	/* The bursts signal (shmlink_rxtx.c): in a secondary process, through its FD. */
	conf.defer_signals = true;
	conf.zalloc = peer_ep_zalloc;
	conf.free = peer_ep_free;
	conf.mem_arg = pmd;
	for (i = 0; i < pmd->nb_qp; i++) {
		/* At most the slots of peer_zc_create(), and the frames of one burst that
		 * are copied and given back at its end. */
		if (pmd->zero_copy_rx)
			conf.rx_hold = shmlink_zc_nb_slots(peer_rx_bufs(pmd, i, NULL)) +
					SHMLINK_BURST_MAX;
		conf.tx_hold = peer_tx_hold(pmd, i);
		pmd->ep[i] = shmlink_ep_create(pmd->att.role, &pmd->att.txq[i],
				&pmd->att.rxq[i], &conf);
		if (pmd->ep[i] == NULL) {
			SHMLINK_LOG(ERR, "%s: cannot create endpoint %u: %s", pmd->socket_path,
					i, strerror(errno));
			goto fail;
		}
		if (pmd->zero_copy_rx && peer_zc_create(pmd, i) != 0) {
			SHMLINK_LOG(ERR, "%s: no memory to lend the frames of queue pair %u",
					pmd->socket_path, i);
			goto fail;
		}
		if (conf.tx_hold > 0 && peer_zc_tx_create(pmd, i) != 0) {
			SHMLINK_LOG(ERR, "%s: no memory to lend the TX buffers of queue pair %u",
					pmd->socket_path, i);
			goto fail;
		}
	}
	if (pmd->zero_copy_tx && pmd->att.role != SHMLINK_ROLE_CLIENT)
		SHMLINK_LOG(WARNING, "%s: zero_copy=tx off for this peer: the listener made "
				"us the server", pmd->socket_path);
	else if (pmd->zero_copy_tx && pmd->att.buffer_size > UINT16_MAX)
		SHMLINK_LOG(WARNING, "%s: zero_copy=tx off for this peer: buffer_size=%u is "
				"more than an mbuf can hold", pmd->socket_path,
				pmd->att.buffer_size);
	pmd->conn_fd = fd;
	if (rte_intr_fd_set(pmd->conn_intr, fd) != 0 ||
			rte_intr_callback_register(pmd->conn_intr, peer_on_conn, pmd) != 0) {
		SHMLINK_LOG(ERR, "%s: cannot watch the control socket", pmd->socket_path);
		pmd->conn_fd = -1;
		goto fail;
	}
	for (i = 0; i < pmd->nb_qp; i++)
		peer_intr_watch(pmd, i);
	pmd->attached = true;
	/* Before the queues get the endpoints: what a secondary's burst relies on. */
	rte_atomic_store_explicit(&pmd->attach_count, pmd->attach_count + 1,
			rte_memory_order_release);
	peer_link_queues(pmd);
	SHMLINK_LOG(INFO, "%s: peer pid %d uid %u attached; we are the %s, %u queue "
			"pair(s), peer MAC " RTE_ETHER_ADDR_PRT_FMT ", protocol 1.%u, unfilled "
			"checksums: from the peer %s, to the peer %s", pmd->socket_path,
			(int)pmd->peer_pid, (unsigned int)pmd->peer_uid,
			pmd->att.role == SHMLINK_ROLE_SERVER ? "server" : "client", pmd->nb_qp,
			RTE_ETHER_ADDR_BYTES((const struct rte_ether_addr *)pmd->att.peer.mac),
			pmd->att.peer.minor,
			pmd->att.offloads & SHMLINK_CTL_O_CSUM_RX ? "yes" : "no",
			pmd->att.offloads & SHMLINK_CTL_O_CSUM_TX ? "yes" : "no");
	/* The link comes up once a frame sent on it can be received: in the server role,
	 * once the client has posted receive buffers (gVisor's client posts them when its
	 * stack attaches the endpoint, maybe later). */
	pmd->peer_ready = peer_tx_ready(pmd);
	if (!pmd->peer_ready)
		peer_ready_arm(pmd);
	peer_link_set(pmd);
	return 0;
fail:
	for (i = 0; i < pmd->nb_qp; i++) {
		shmlink_ep_destroy(pmd->ep[i]);
		pmd->ep[i] = NULL;
		/* Nothing was lent: the link keeps its mappings. */
		shmlink_zc_release(pmd->zc[i], false);
		pmd->zc[i] = NULL;
		shmlink_zc_release(pmd->zc_tx[i], false);
		pmd->zc_tx[i] = NULL;
	}
	memset(&pmd->att, 0, sizeof(pmd->att));
	return -1;
}

/* The attached peer could not receive yet: look again until it can, then bring the link
 * up (and tell the application, LSC). */
static void
peer_ready_poll(void *arg)
{
	struct pmd_internals *pmd = arg;

	rte_spinlock_lock(&pmd->lock);
	pmd->ready_armed = false;
	if (pmd->attached && !pmd->peer_ready) {
		pmd->peer_ready = peer_tx_ready(pmd);
		if (pmd->peer_ready)
			peer_link_set(pmd);
		else
			peer_ready_arm(pmd);
	}
	peer_unlock(pmd);
}

/* A burst saw a damaged ring: drop this peer (a listening port then waits for a new
 * one, with fresh files; a connecting one reconnects). */
static void
peer_on_broken(void *arg)
{
	struct pmd_internals *pmd = arg;

	rte_spinlock_lock(&pmd->lock);
	if (pmd->attached && !pmd->closing)
		peer_detach_locked(pmd, "the peer damaged a ring", false);
	rte_atomic_store_explicit(&pmd->broken_reported, false, rte_memory_order_release);
	peer_unlock(pmd);
}

void
shmlink_peer_report_broken(struct pmd_internals *pmd)
{
	/* Once per peer: the bursts keep finding the endpoint broken until it is gone. */
	if (rte_atomic_exchange_explicit(&pmd->broken_reported, true, rte_memory_order_acq_rel))
		return;
	if (rte_eal_process_type() == RTE_PROC_PRIMARY)
		shmlink_peer_broken_arm(pmd);
	else
		shmlink_mp_report_broken(pmd);
}

void
shmlink_peer_broken_arm(struct pmd_internals *pmd)
{
	if (rte_eal_alarm_set(1, peer_on_broken, pmd) != 0)
		rte_atomic_store_explicit(&pmd->broken_reported, false, rte_memory_order_release);
}

/*
 * Any input or hang-up on the control socket means the peer is gone. A call with
 * neither is an event the EAL took before this watch began (the handshake's last
 * message, when its expiry alarm installed the link in the same round): not a leave.
 */
static void
peer_on_conn(void *arg)
{
	struct pmd_internals *pmd = arg;
	struct pollfd pfd = { .events = POLLIN };

	rte_spinlock_lock(&pmd->lock);
	pfd.fd = pmd->conn_fd;
	if (pmd->attached && !pmd->closing && poll(&pfd, 1, 0) != 0)
		peer_detach_locked(pmd, "control socket closed or written to", true);
	peer_unlock(pmd);
}

/* Install a link negotiated without the lock, unless the port went away or another
 * peer attached meanwhile. */
static void
peer_install(struct pmd_internals *pmd, struct shmlink_handshake *h)
{
	int rc = -1;

	rte_spinlock_lock(&pmd->lock);
	if (!pmd->closing && !pmd->attached)
		rc = peer_attach_locked(pmd, h);
	peer_unlock(pmd);
	if (rc != 0) {
		shmlink_attach_release(&h->hs.a);
		close(h->hs.sock);
	}
}

/*
 * Handshakes never block the EAL interrupt thread, which serves every port's control
 * path, interrupt callbacks and alarms of the process: each step runs when the
 * socket is readable, and an alarm ends a handshake the peer does not complete in
 * time.
 */
static void peer_on_handshake(void *arg);
static void peer_handshake_expired(void *arg);
static void peer_handshake_install(void *arg);

static struct shmlink_handshake *
peer_handshake_slot(struct pmd_internals *pmd)
{
	uint16_t i;

	for (i = 0; i < (pmd->listen ? SHMLINK_MAX_HANDSHAKES : 1); i++)
		if (!pmd->hs[i].active)
			return &pmd->hs[i];
	return NULL;
}

/* Stop watching @h's socket; @in_cb: from its own callback. The socket stays open. */
static void
peer_handshake_unwatch(struct shmlink_handshake *h, bool in_cb)
{
	int rc;

	rte_eal_alarm_cancel(peer_handshake_expired, h);
	if (in_cb)
		rc = rte_intr_callback_unregister_pending(h->intr, peer_on_handshake, h, NULL);
	else
		while ((rc = rte_intr_callback_unregister(h->intr, peer_on_handshake, h)) ==
				-EAGAIN)
			rte_pause();
	if (rc < 0 && rc != -ENOENT)
		SHMLINK_LOG(DEBUG, "%s: unregistering a handshake callback: %d",
				h->pmd->socket_path, rc);
}

/* A handshake failed or was given up: a connecting port tries again later. */
static void
peer_handshake_failed(struct shmlink_handshake *h, const char *why)
{
	struct pmd_internals *pmd = h->pmd;

	SHMLINK_LOG(ERR, "%s: peer pid %d uid %u: attach failed: %s", pmd->socket_path,
			(int)h->pid, (unsigned int)h->uid, why);
	close(h->hs.sock);
	if (!pmd->listen)
		peer_reconnect_later(pmd);
}

/* Handshake @h ended with @rc (0: attached, else why says why); @in_cb: from its
 * socket's callback. */
static void
peer_handshake_end(struct shmlink_handshake *h, int rc, char *why, size_t why_len,
		bool in_cb)
{
	peer_handshake_unwatch(h, in_cb);
	if (rc == 0) {
		/*
		 * Install from an alarm: the socket's watch for the peer leaving goes on
		 * the same fd, and the EAL would run a callback added to it now right
		 * after this one, for this very event.
		 */
		h->done = true;
		if (rte_eal_alarm_set(1, peer_handshake_install, h) == 0)
			return;
		h->done = false;
		shmlink_attach_release(&h->hs.a);
		snprintf(why, why_len, "cannot set an alarm");
	}
	h->active = false;
	peer_handshake_failed(h, why);
}

static void
peer_on_handshake(void *arg)
{
	struct shmlink_handshake *h = arg;
	char why[256];
	int rc;

	if (!h->active || h->done)
		return;
	rc = shmlink_attach_step(&h->hs, why, sizeof(why));
	if (rc != -EINPROGRESS)
		peer_handshake_end(h, rc, why, sizeof(why), true);
}

static void
peer_handshake_install(void *arg)
{
	struct shmlink_handshake *h = arg;

	if (!h->active || !h->done)
		return;
	h->active = false;
	h->done = false;
	peer_install(h->pmd, h);
}

static void
peer_handshake_expired(void *arg)
{
	struct shmlink_handshake *h = arg;
	char why[256];
	int rc;

	if (!h->active || h->done)
		return;
	/* The interrupt thread runs late on a loaded machine, and this alarm may then
	 * come before the socket's callback: an answer that is there counts. */
	rc = shmlink_attach_step(&h->hs, why, sizeof(why));
	if (rc == -EINPROGRESS) {
		shmlink_attach_abort(&h->hs);
		rc = -ETIMEDOUT;
		snprintf(why, sizeof(why), "no answer in time");
	}
	peer_handshake_end(h, rc, why, sizeof(why), false);
}

/* Begin a handshake on connected socket @fd in slot @h; it owns @fd from here on. */
static void
peer_handshake_begin(struct pmd_internals *pmd, struct shmlink_handshake *h, int fd)
{
	struct shmlink_attach_conf conf;
	char why[256];
	int rc;

	peer_attach_conf(pmd, &conf);
	rc = shmlink_attach_begin(&h->hs, fd, &conf, pmd->listen, why, sizeof(why));
	if (rc != -EINPROGRESS) {
		peer_handshake_failed(h, why);
		return;
	}
	if (rte_intr_fd_set(h->intr, fd) != 0 ||
			rte_intr_callback_register(h->intr, peer_on_handshake, h) != 0) {
		shmlink_attach_abort(&h->hs);
		peer_handshake_failed(h, "cannot watch the socket");
		return;
	}
	h->active = true;
	if (rte_eal_alarm_set(CTL_HANDSHAKE_US, peer_handshake_expired, h) != 0) {
		peer_handshake_unwatch(h, false);
		h->active = false;
		shmlink_attach_abort(&h->hs);
		peer_handshake_failed(h, "cannot set the handshake timer");
	}
}

static void peer_on_connection(struct pmd_internals *pmd, int fd);

/* Take every pending connection: the EAL may report the socket readable only once. */
static void
peer_on_listen(void *arg)
{
	struct pmd_internals *pmd = arg;
	int fd;

	while ((fd = accept4(pmd->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		peer_on_connection(pmd, fd);
}

static void
peer_on_connection(struct pmd_internals *pmd, int fd)
{
	struct shmlink_handshake *h;
	bool busy;

	rte_spinlock_lock(&pmd->lock);
	busy = pmd->attached || pmd->closing;
	rte_spinlock_unlock(&pmd->lock);
	h = busy ? NULL : peer_handshake_slot(pmd);
	if (h == NULL) {
		SHMLINK_LOG(WARNING, "%s: refused a%s peer: %s", pmd->socket_path,
				busy ? " second" : "", busy ? "one is attached" :
				"too many handshakes in progress");
		shmlink_ctl_reject(fd, SHMLINK_CTL_R_BUSY, "%s", busy ?
				"a peer is already attached" :
				"too many handshakes in progress");
		close(fd);
		return;
	}
	peer_cred(h, fd);
	if (!peer_allowed(pmd, h)) {
		SHMLINK_LOG(WARNING, "%s: refused peer pid %d uid %u gid %u: not in "
				"allow_uid/allow_gid", pmd->socket_path, (int)h->pid,
				(unsigned int)h->uid, (unsigned int)h->gid);
		shmlink_ctl_reject(fd, SHMLINK_CTL_R_DENIED, "uid %u gid %u is not allowed",
				(unsigned int)h->uid, (unsigned int)h->gid);
		close(fd);
		return;
	}
	peer_handshake_begin(pmd, h, fd);
}

static void
peer_reconnect_later(struct pmd_internals *pmd)
{
	rte_spinlock_lock(&pmd->lock);
	if (!pmd->closing && !pmd->attached && !pmd->reconnect_armed &&
			rte_eal_alarm_set(CTL_RECONNECT_US, peer_reconnect, pmd) == 0)
		pmd->reconnect_armed = true;
	rte_spinlock_unlock(&pmd->lock);
}

/* Connecting side: one attempt; re-armed until a peer answers. */
static void
peer_reconnect(void *arg)
{
	struct pmd_internals *pmd = arg;
	struct shmlink_handshake *h = &pmd->hs[0];
	bool skip;
	int fd;

	rte_spinlock_lock(&pmd->lock);
	pmd->reconnect_armed = false;
	skip = pmd->closing || pmd->attached || h->active;
	rte_spinlock_unlock(&pmd->lock);
	if (skip)
		return;
	/* Non-blocking: a listener with a full backlog must not stall us either. */
	fd = shmlink_ctl_connect_nonblock(pmd->socket_path);
	if (fd < 0) {
		peer_reconnect_later(pmd);
		return;
	}
	peer_cred(h, fd);
	if (!peer_allowed(pmd, h)) {
		SHMLINK_LOG(WARNING, "%s: the listener (pid %d uid %u gid %u) is not in "
				"allow_uid/allow_gid", pmd->socket_path, (int)h->pid,
				(unsigned int)h->uid, (unsigned int)h->gid);
		close(fd);
		peer_reconnect_later(pmd);
		return;
	}
	peer_handshake_begin(pmd, h, fd);
}

/* A socket file nobody listens on is stale and may be replaced; a live one may not. */
static int
peer_listen(struct pmd_internals *pmd)
{
	int fd = shmlink_ctl_listen(pmd->socket_path);

	if (fd == -EADDRINUSE) {
		struct stat st;
		int probe;

		if (lstat(pmd->socket_path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			SHMLINK_LOG(ERR, "socket=%s: exists and is not a socket", pmd->socket_path);
			return -ENOTSOCK;
		}
		probe = shmlink_ctl_connect(pmd->socket_path);

		if (probe >= 0) {
			close(probe);
			SHMLINK_LOG(ERR, "socket=%s: another process is listening on it",
					pmd->socket_path);
			return -EADDRINUSE;
		}
		if (probe != -ECONNREFUSED) {
			SHMLINK_LOG(ERR, "socket=%s: exists and is not a stale socket (%s)",
					pmd->socket_path, strerror(-probe));
			return -EADDRINUSE;
		}
		unlink(pmd->socket_path);
		fd = shmlink_ctl_listen(pmd->socket_path);
	}
	if (fd < 0) {
		SHMLINK_LOG(ERR, "socket=%s: cannot listen: %s", pmd->socket_path,
				strerror(-fd));
		return fd;
	}
	pmd->listen_fd = fd;
	pmd->sock_created = true;
	/* Created 0600; widen only as asked, once it exists. */
	if (pmd->socket_gid_set && chown(pmd->socket_path, (uid_t)-1, pmd->socket_gid) != 0) {
		int err = errno;

		SHMLINK_LOG(ERR, "socket_group=%u: cannot chown %s: %s",
				(unsigned int)pmd->socket_gid, pmd->socket_path, strerror(err));
		return -err;
	}
	if (pmd->socket_mode >= 0 && chmod(pmd->socket_path, (mode_t)pmd->socket_mode) != 0) {
		int err = errno;

		SHMLINK_LOG(ERR, "socket_mode=%o: cannot chmod %s: %s", pmd->socket_mode,
				pmd->socket_path, strerror(err));
		return -err;
	}
	return 0;
}

int
shmlink_peer_start(struct pmd_internals *pmd)
{
	int rc;

	uint16_t i;

	rte_spinlock_init(&pmd->lock);
	pmd->conn_intr = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	if (pmd->conn_intr == NULL ||
			rte_intr_type_set(pmd->conn_intr, RTE_INTR_HANDLE_EXT) != 0)
		return -ENOMEM;
	for (i = 0; i < SHMLINK_MAX_HANDSHAKES; i++) {
		struct shmlink_handshake *h = &pmd->hs[i];

		h->pmd = pmd;
		h->intr = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
		if (h->intr == NULL || rte_intr_type_set(h->intr, RTE_INTR_HANDLE_EXT) != 0)
			return -ENOMEM;
	}
	if (!pmd->listen) {
		if (rte_eal_alarm_set(1, peer_reconnect, pmd) != 0)
			return -ENOMEM;
		pmd->reconnect_armed = true;
		return 0;
	}
	rc = peer_listen(pmd);
	if (rc != 0)
		return rc;
	pmd->listen_intr = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	if (pmd->listen_intr == NULL ||
			rte_intr_type_set(pmd->listen_intr, RTE_INTR_HANDLE_EXT) != 0 ||
			rte_intr_fd_set(pmd->listen_intr, pmd->listen_fd) != 0 ||
			rte_intr_callback_register(pmd->listen_intr, peer_on_listen, pmd) != 0) {
		SHMLINK_LOG(ERR, "socket=%s: cannot watch the listening socket",
				pmd->socket_path);
		return -ENOMEM;
	}
	pmd->listen_registered = true;
	return 0;
}

/* Undo shmlink_peer_start() and drop any peer; nothing is left behind. */
void
shmlink_peer_stop(struct pmd_internals *pmd)
{
	uint16_t i;

	rte_spinlock_lock(&pmd->lock);
	pmd->closing = true;
	rte_spinlock_unlock(&pmd->lock);

	/* The callbacks and the alarms take the lock: wait for them without it. */
	rte_eal_alarm_cancel(peer_reconnect, pmd);
	rte_eal_alarm_cancel(peer_on_broken, pmd);
	rte_eal_alarm_cancel(peer_ready_poll, pmd);
	if (pmd->listen_registered) {
		while (rte_intr_callback_unregister(pmd->listen_intr, peer_on_listen, pmd) ==
				-EAGAIN)
			rte_pause();
		pmd->listen_registered = false;
	}
	for (i = 0; i < SHMLINK_MAX_HANDSHAKES; i++) {
		struct shmlink_handshake *h = &pmd->hs[i];

		/* Once neither its timer nor its callback can run, the slot is ours. */
		rte_eal_alarm_cancel(peer_handshake_expired, h);
		rte_eal_alarm_cancel(peer_handshake_install, h);
		while (rte_intr_callback_unregister(h->intr, peer_on_handshake, h) == -EAGAIN)
			rte_pause();
		if (h->active) {
			h->active = false;
			h->done = false;
			shmlink_attach_abort(&h->hs);
			close(h->hs.sock);
		}
	}
	if (pmd->conn_fd >= 0) {
		while (rte_intr_callback_unregister(pmd->conn_intr, peer_on_conn, pmd) ==
				-EAGAIN)
			rte_pause();
	}

	rte_spinlock_lock(&pmd->lock);
	peer_detach_locked(pmd, "port closed", false);
	peer_unlock(pmd);

	if (pmd->listen_fd >= 0) {
		close(pmd->listen_fd);
		pmd->listen_fd = -1;
	}
	if (pmd->sock_created) {
		unlink(pmd->socket_path);
		pmd->sock_created = false;
	}
	rte_intr_instance_free(pmd->listen_intr);
	pmd->listen_intr = NULL;
	rte_intr_instance_free(pmd->conn_intr);
	pmd->conn_intr = NULL;
	for (i = 0; i < SHMLINK_MAX_HANDSHAKES; i++) {
		rte_intr_instance_free(pmd->hs[i].intr);
		pmd->hs[i].intr = NULL;
	}
}
