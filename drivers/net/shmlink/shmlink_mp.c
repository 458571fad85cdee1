/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Secondary processes. The endpoints, the queues and their counters are in DPDK's shared
 * memory; what a secondary lacks are the peer's files, mapped in the primary only. It
 * asks the primary for them (one rte_mp request per queue: five FDs, under 22.11's limit
 * of eight per message) and maps them at the primary's addresses, so that the
 * endpoints' pointers hold here too (shmlink_qmap_map_at). The mapping is of one attach
 * (attach_count): a new peer brings new files, which the next burst maps after the old
 * ones go. The secondary signals the peer through its own FD of the eventfd.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_spinlock.h>
#include <rte_string_fns.h>

#include <ethdev_driver.h>

#include "shmlink_ethdev.h"

#define MP_NAME		"net_shmlink_mp"
#define MP_TIMEOUT_S	2
/* After a failed request, the bursts of that queue pair wait this long to ask again. */
#define MP_RETRY_MS	500

enum mp_type {
	MP_MAP = 1,		/* the files of one queue; answered */
	MP_BROKEN = 2,		/* a burst found a damaged ring; not answered */
};

struct mp_req {
	uint16_t type;
	uint16_t port_id;
	uint16_t qp;
	uint16_t which;		/* 0: the TX queue (client to server), 1: the RX queue */
};

struct mp_reply {
	int32_t rc;		/* 0 with the five FDs, else -errno */
	uint64_t gen;		/* the attach the files belong to */
	struct shmlink_qmap like;	/* the primary's mapping (addresses and sizes) */
};

/* A queue pair's mappings in this secondary. */
struct mp_qp {
	rte_spinlock_t lock;		/* the bursts of its rx and tx queues */
	RTE_ATOMIC(uint64_t) gen;	/* attach mapped here; 0: none */
	struct shmlink_qmap map[2];	/* the TX and RX queue */
	uint64_t retry_tsc;		/* no request before then */
	uint64_t failed_gen;		/* the attach whose failure was logged */
};

struct mp_proc {
	struct mp_qp qp[SHMLINK_MAX_QUEUES];
};

/* ---- primary ---- */

/* Fill @r and @fds with queue @q->which of queue pair @q->qp. Lock held. */
static int
mp_files_locked(struct pmd_internals *pmd, const struct mp_req *q, struct mp_reply *r,
		int *fds)
{
	const struct shmlink_qmap *m;

	if (!pmd->attached)
		return -ENOLINK;
	if (!pmd->keep_files)
		return -ENOTSUP;
	if (q->qp >= pmd->nb_qp || q->which > 1)
		return -EINVAL;
	m = q->which == 0 ? &pmd->att.txq[q->qp] : &pmd->att.rxq[q->qp];
	if (!m->has_files)
		return -ENOENT;
	memcpy(fds, m->files, sizeof(m->files));
	r->like = *m;
	r->gen = pmd->attach_count;
	return 0;
}

static int
mp_action(const struct rte_mp_msg *msg, const void *peer)
{
	struct rte_mp_msg out = { 0 };
	struct mp_reply *r = (struct mp_reply *)out.param;
	struct pmd_internals *pmd;
	struct mp_req q;

	if (msg->len_param != sizeof(q))
		return -EINVAL;
	memcpy(&q, msg->param, sizeof(q));
	pmd = shmlink_pmd_of(q.port_id);
	if (q.type == MP_BROKEN) {
		if (pmd != NULL)
			shmlink_peer_broken_arm(pmd);
		return 0;
	}
	strlcpy(out.name, MP_NAME, sizeof(out.name));
	out.len_param = sizeof(*r);
	r->rc = -ENODEV;
	if (pmd != NULL) {
		rte_spinlock_lock(&pmd->lock);
		r->rc = mp_files_locked(pmd, &q, r, out.fds);
		rte_spinlock_unlock(&pmd->lock);
	}
	/* The FDs are sent before the reply returns: ours stay open. */
	out.num_fds = r->rc == 0 ? SHMLINK_QFD_COUNT : 0;
	return rte_mp_reply(&out, peer);
}

int
shmlink_mp_init(void)
{
	static int rc = 1;

	if (rc <= 0)
		return rc;
	rc = rte_mp_action_register(MP_NAME, mp_action) == 0 || rte_errno == EEXIST ? 0 :
			-ENOTSUP;
	return rc;
}

/* ---- secondary ---- */

int
shmlink_mp_attach(struct rte_eth_dev *dev)
{
	struct mp_proc *p = calloc(1, sizeof(*p));
	unsigned int i, k;

	if (p == NULL)
		return -ENOMEM;
	for (i = 0; i < RTE_DIM(p->qp); i++) {
		rte_spinlock_init(&p->qp[i].lock);
		for (k = 0; k < 2; k++)
			p->qp[i].map[k].notify.efd = -1;
	}
	dev->process_private = p;
	shmlink_qlink_secondary();
	return 0;
}

void
shmlink_mp_detach(struct rte_eth_dev *dev)
{
	struct mp_proc *p = dev->process_private;
	unsigned int i;

	if (p == NULL)
		return;
	for (i = 0; i < RTE_DIM(p->qp); i++) {
		shmlink_qmap_unmap(&p->qp[i].map[0]);
		shmlink_qmap_unmap(&p->qp[i].map[1]);
	}
	free(p);
	dev->process_private = NULL;
}

/* Ask the primary for queue @which of @qp and map it. Returns the attach it is of, or 0
 * with *why set. */
static uint64_t
mp_map_one(uint16_t port_id, uint16_t qp, uint16_t which, struct shmlink_qmap *m,
		const char **why)
{
	struct mp_req q = { .type = MP_MAP, .port_id = port_id, .qp = qp, .which = which };
	struct rte_mp_msg msg = { 0 };
	struct rte_mp_reply rep = { 0 };
	struct timespec ts = { .tv_sec = MP_TIMEOUT_S };
	const struct rte_mp_msg *a;
	struct mp_reply r;
	uint64_t gen = 0;
	int i;

	strlcpy(msg.name, MP_NAME, sizeof(msg.name));
	msg.len_param = sizeof(q);
	memcpy(msg.param, &q, sizeof(q));
	*why = "the primary does not answer";
	if (rte_mp_request_sync(&msg, &rep, &ts) != 0 || rep.nb_received != 1)
		goto out;
	a = &rep.msgs[0];
	*why = "bad answer from the primary";
	if (a->len_param != sizeof(r))
		goto out;
	memcpy(&r, a->param, sizeof(r));
	if (r.rc != 0) {
		*why = r.rc == -ENOLINK ? "no peer attached" : strerror(-r.rc);
	} else if (a->num_fds == SHMLINK_QFD_COUNT &&
			shmlink_qmap_map_at(m, a->fds, &r.like, why) == 0) {
		gen = r.gen;
	}
out:
	/* Mapped, or not: the mappings and the eventfd's dup hold what is needed. */
	for (i = 0; rep.nb_received > 0 && i < rep.msgs[0].num_fds; i++)
		close(rep.msgs[0].fds[i]);
	free(rep.msgs);
	return gen;
}

/* Map queue pair @qp's files of the current attach here (replacing older ones). Lock of
 * @x held. */
static void
shmlink_mp_remap_locked(struct pmd_internals *pmd, uint16_t port_id, uint16_t qp,
		struct mp_qp *x)
{
	uint64_t want = rte_atomic_load_explicit(&pmd->attach_count, rte_memory_order_acquire);
	uint64_t g0, g1;
	const char *why = NULL;

	if (rte_atomic_load_explicit(&x->gen, rte_memory_order_relaxed) == want ||
			rte_get_timer_cycles() < x->retry_tsc)
		return;
	/* No burst of this process holds the old attach's endpoint: it is gone. */
	rte_atomic_store_explicit(&x->gen, 0, rte_memory_order_relaxed);
	shmlink_qmap_unmap(&x->map[0]);
	shmlink_qmap_unmap(&x->map[1]);
	g0 = mp_map_one(port_id, qp, 0, &x->map[0], &why);
	g1 = g0 != 0 ? mp_map_one(port_id, qp, 1, &x->map[1], &why) : 0;
	if (g0 != 0 && g0 == g1) {
		rte_atomic_store_explicit(&x->gen, g0, rte_memory_order_release);
		return;
	}
	shmlink_qmap_unmap(&x->map[0]);
	shmlink_qmap_unmap(&x->map[1]);
	x->retry_tsc = rte_get_timer_cycles() + rte_get_timer_hz() * MP_RETRY_MS / 1000;
	if (g0 != 0 && g1 != 0)
		return;		/* a new peer came meanwhile: the next burst maps it */
	if (x->failed_gen != want) {
		x->failed_gen = want;
		SHMLINK_LOG(ERR, "%s: queue pair %u: cannot map the peer's files in this "
				"secondary process: %s", pmd->socket_path, qp, why);
	}
}

struct shmlink_ep *
shmlink_mp_enter(struct shmlink_qlink *link, struct pmd_internals *pmd, uint16_t port_id,
		uint16_t qp, int *efd)
{
	struct mp_proc *p = rte_eth_devices[port_id].process_private;
	struct mp_qp *x = &p->qp[qp];
	struct shmlink_ep *ep = shmlink_qlink_enter(link);

	if (ep == NULL)
		return NULL;
	/* While this burst holds the endpoint no new peer attaches, so attach_count is
	 * the endpoint's attach. */
	if (unlikely(rte_atomic_load_explicit(&x->gen, rte_memory_order_acquire) !=
			rte_atomic_load_explicit(&pmd->attach_count, rte_memory_order_acquire))) {
		shmlink_qlink_leave(link);
		rte_spinlock_lock(&x->lock);
		shmlink_mp_remap_locked(pmd, port_id, qp, x);
		rte_spinlock_unlock(&x->lock);
		return NULL;	/* the next burst uses what was mapped */
	}
	/* We signal in the direction we send: the client's TX queue, the server's RX. */
	*efd = x->map[pmd->att.role == SHMLINK_ROLE_CLIENT ? 0 : 1].notify.efd;
	return ep;
}

void
shmlink_mp_report_broken(struct pmd_internals *pmd)
{
	struct mp_req q = { .type = MP_BROKEN, .port_id = pmd->port_id };
	struct rte_mp_msg msg = { 0 };

	strlcpy(msg.name, MP_NAME, sizeof(msg.name));
	msg.len_param = sizeof(q);
	memcpy(msg.param, &q, sizeof(q));
	if (rte_mp_sendmsg(&msg) != 0)
		SHMLINK_LOG(ERR, "%s: cannot tell the primary of a damaged ring",
				pmd->socket_path);
}
