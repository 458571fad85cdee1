/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Rx interrupts of net_shmlink, end to end: a receiver that sleeps in rte_epoll_wait()
 * between bursts loses no frame and no wake-up, burns almost no CPU, and keeps working
 * when its peer is replaced.
 *
 * One process. The main lcore runs a listening net_shmlink port (the gVisor server role)
 * and receives on queue 0 with the consumer sleep sequence of spec §5 in ethdev terms:
 * drain; rte_eth_dev_rx_intr_enable(); poll once more (found something: disable, loop);
 * else rte_epoll_wait(); rte_eth_dev_rx_intr_disable(); drain. A plain pthread (not an
 * lcore, so nothing of DPDK's runs in it) plays the peer with lib/shmlink alone: it
 * connects to the socket, answers the offer as the client and sends bursts of frames,
 * each frame carrying a global sequence number, its phase and bytes derived from both.
 *
 * Phases, with a random plan drawn up front from --seed:
 *   A  peer 1, receiver sleeps between bursts (gaps of 1..20 ms);
 *   R  peer 1 sends each burst 0..3 us after the receiver took the previous one, that
 *      is while it goes back to sleep: the window the handshake of spec §5 must close.
 *      Each burst is the last until it is received, so a lost wake-up cannot be hidden
 *      by the next signal: it shows as a sleep that times out with frames waiting;
 *   P  peer 1, receiver busy-polls with interrupts disabled: the peer must not signal;
 *   B  peer 1 leaves, peer 2 attaches and sends: the port's rx interrupt FD, added to
 *      the epoll set once before A, must wake the receiver for the new peer too.
 *
 * Then phase E, the other direction with the port coalescing its signals
 * (signal_delay_us=10000): the receiver sends one frame to peer 2, which sleeps on its
 * own eventfd, and goes to sleep itself. The signal must not have gone out with the
 * burst, and must go out when the receiver enables its rx interrupt (it polls no more
 * until peer 2 answers); a second frame's signal must go out at rte_eth_dev_stop().
 * Without those flushes peer 2 would sleep until the receiver's next burst, after its
 * own wait has run out.
 *
 * Each peer makes the eventfds it shares blocking once attached, as a hostile one may
 * (the flag belongs to the open file): the port must still never wait on one; before
 * it read them with RWF_NOWAIT, its drain of an empty counter put the receiver to sleep
 * for good here.
 *
 * With --connect the port connects instead (listen=no, server role) and the peer
 * thread listens and offers, so the port gets new eventfds from each peer: the FD the
 * application registered once must still wake it in phase B.
 *
 * Checks: every frame arrives intact and in order; no rte_epoll_wait() timed out with
 * frames waiting (a lost wake-up; the timeout is long enough that only a lost one
 * expires with traffic flowing); the peer signalled at most once per burst and, in A
 * and B, for most bursts (the receiver did sleep); wake-ups match the signals within
 * what the eventfd allows (see check_sleep_phase); the receiver's CPU time in A and B is
 * a small fraction of wall time; link state changes were reported (intr_conf.lsc).
 *
 * Usage: test_rxintr DRIVER.so [--seed N] [--bursts N] [--connect]
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/driver_path.h"
#include "../common/test_common.h"

#include <rte_eal.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include <shmlink.h>

#define PORT_NAME	"net_shmlink0"
#define NB_MBUFS	4095
#define NB_DESC		1024
#define RX_BURST	32
#define BURST_MAX	8u		/* frames per peer burst: 1..BURST_MAX */
#define GAP_MIN_NS	1000000u	/* gaps between bursts while the receiver sleeps */
#define GAP_MAX_NS	20000000u
#define POLL_GAP_MIN_NS	200000u		/* gaps while it polls: short, it spins meanwhile */
#define POLL_GAP_MAX_NS	2000000u
#define DEFAULT_BURSTS	200u		/* phase A; R has 5 times as many, B half */
#define POLL_BURSTS	30u
/* Phase R: gap after the previous burst was received, about as long as the receiver
 * takes from its last rx burst to rte_epoll_wait(). */
#define RACE_GAP_MAX_NS	3000u
#define RACE_FACTOR	5u		/* phase R has this many times the bursts of A */
/* A sleep this long only expires with traffic flowing if a wake-up was lost. */
#define RX_SLEEP_MS	2000
/* Nothing received for this long: the peer or the port is stuck, give up. */
#define STALL_MS	10000
/* Bound on every wait of the peer (attach, the receiver catching up). */
#define PEER_WAIT_MS	10000
#define CPU_MAX_PCT	20.0
/* Phase E: the port's signal delay (the most it allows). Only a burst sends a signal
 * whose delay has passed, and the receiver makes none while it sleeps. */
#define E_DELAY_US	10000u
#define E_WAIT_MS	3000
#define E_FRAMES	2u

#define FRAME_MIN	60u
#define FRAME_SPREAD	400u		/* frames are FRAME_MIN..FRAME_MIN+FRAME_SPREAD-1 */
#define FRAME_MAX	(FRAME_MIN + FRAME_SPREAD)
#define ETHERTYPE_TEST	0x88b5u		/* IEEE local experimental */
#define FRAME_MAGIC	0x54495852u	/* "RXIT" */
/* Frame layout after the 14-byte Ethernet header. */
#define OFF_MAGIC	14
#define OFF_PHASE	18
#define OFF_PEER	19
#define OFF_SEQ		20
#define OFF_FILL	28

enum phase_id {
	PH_A = 0,	/* peer 1, receiver sleeps */
	PH_R,		/* peer 1, bursts race the receiver going to sleep */
	PH_P,		/* peer 1, receiver polls */
	PH_B,		/* peer 2, receiver sleeps */
	PH_COUNT,
};

static const char *const phase_name[PH_COUNT] = { "A", "R", "P", "B" };

struct burst {
	uint32_t nb;		/* frames */
	uint32_t gap_ns;	/* pause before it */
};

struct phase_plan {
	struct burst *bursts;
	unsigned int nb_bursts;
	uint64_t first_seq;
	uint64_t nb_frames;
	bool lockstep;		/* gap counts from the receiver taking the previous burst */
};

/* What the peer saw while sending one phase. */
struct phase_tx {
	uint64_t signals;	/* eventfd writes (endpoint stats) */
	uint64_t tx_calls;	/* shmlink_ep_tx_burst() calls that sent something */
	uint64_t frames;
};

/* What the receiver saw in one phase. */
struct phase_rx {
	uint64_t frames;
	uint64_t sleeps;	/* rte_epoll_wait() calls */
	uint64_t wakeups;	/* ... that returned an event */
	uint64_t empty_wakeups;	/* ... after which there was nothing to receive */
	uint64_t rearm_hits;	/* the poll after enabling found frames: no sleep */
	uint64_t timeouts;
	uint64_t lost_wakeups;	/* a timeout, then frames found */
	uint64_t cpu_ns;
	uint64_t wall_ns;
	bool stalled;
};

struct test {
	char sock_path[108];
	bool connect;		/* the port connects; the peer listens on lst_fd */
	int lst_fd;
	char prefix[64];
	uint16_t port;
	struct rte_mempool *mp;
	struct rte_ether_addr port_mac;
	cpu_set_t peer_cpus;
	struct phase_plan plan[PH_COUNT];

	/* receiver -> peer */
	uint64_t rx_next_seq;	/* frames received so far (atomic) */
	uint32_t e_sent;	/* phase E: frames the port sent to peer 2 (atomic) */
	uint32_t rx_polling;	/* phase P: interrupts off, polling (atomic) */
	uint32_t rx_done;	/* the receiver is finished (atomic) */

	/* peer -> receiver and main */
	struct phase_tx tx[PH_COUNT];
	uint32_t e_asleep;	/* phase E: peer 2 sleeps on its eventfd (atomic) */
	uint32_t e_got;		/* phase E: frames peer 2 received (atomic) */
	uint32_t peer_failed;	/* atomic */
	char peer_err[256];

	/* LSC callback (EAL interrupt thread) */
	uint32_t lsc_up;	/* atomic */
	uint32_t lsc_down;	/* atomic */

	/* receiver */
	struct phase_rx rx[PH_COUNT];
	uint64_t rx_bad;
	char rx_err[256];
};


/* ---- helpers ---- */

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Too short to sleep for (timer slack is 50 us), or to yield for: spin. */
static void
spin_ns(uint64_t ns)
{
	uint64_t end = test_now_ns() + ns;

	while (test_now_ns() < end)
		rte_pause();
}

static void
sleep_us(uint64_t us)
{
	struct timespec ts = {
		.tv_sec = (time_t)(us / 1000000u),
		.tv_nsec = (long)(us % 1000000u) * 1000,
	};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* splitmix64: the plan is reproducible from the seed printed at start. */
static uint64_t
rand_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint32_t
rand_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rand_next(s) % (hi - lo + 1));
}

static int
plan_phase(struct phase_plan *p, unsigned int nb_bursts, uint32_t gap_lo, uint32_t gap_hi,
		uint64_t first_seq, uint64_t *seed)
{
	unsigned int i;

	p->bursts = calloc(nb_bursts, sizeof(*p->bursts));
	if (p->bursts == NULL)
		return -ENOMEM;
	p->nb_bursts = nb_bursts;
	p->first_seq = first_seq;
	p->nb_frames = 0;
	for (i = 0; i < nb_bursts; i++) {
		p->bursts[i].nb = rand_range(seed, 1, BURST_MAX);
		p->bursts[i].gap_ns = rand_range(seed, gap_lo, gap_hi);
		p->nb_frames += p->bursts[i].nb;
	}
	return 0;
}

static uint32_t
frame_len(uint64_t seq)
{
	return FRAME_MIN + (uint32_t)((seq * 37u) % FRAME_SPREAD);
}

static uint8_t
frame_byte(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131u + i * 7u);
}

static uint32_t
frame_build(uint8_t *buf, const struct rte_ether_addr *dst, uint8_t peer, uint8_t phase,
		uint64_t seq)
{
	const uint8_t src[RTE_ETHER_ADDR_LEN] = { 0x02, 0, 0, 0, 0x5e, peer };
	uint32_t len = frame_len(seq), magic = FRAME_MAGIC, i;

	memcpy(buf, dst->addr_bytes, RTE_ETHER_ADDR_LEN);
	memcpy(buf + RTE_ETHER_ADDR_LEN, src, RTE_ETHER_ADDR_LEN);
	buf[12] = ETHERTYPE_TEST >> 8;
	buf[13] = ETHERTYPE_TEST & 0xff;
	memcpy(buf + OFF_MAGIC, &magic, sizeof(magic));
	buf[OFF_PHASE] = phase;
	buf[OFF_PEER] = peer;
	memcpy(buf + OFF_SEQ, &seq, sizeof(seq));
	for (i = OFF_FILL; i < len; i++)
		buf[i] = frame_byte(seq, i);
	return len;
}

/* ---- the peer: a plain thread using lib/shmlink only ---- */

struct peer {
	int fd;
	struct shmlink_attach att;
	struct shmlink_ep *ep;
	uint8_t id;
};

static void
peer_fail(struct test *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
peer_fail(struct test *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->peer_err, sizeof(t->peer_err), fmt, ap);
	va_end(ap);
	__atomic_store_n(&t->peer_failed, 1, __ATOMIC_RELEASE);
}

/* Wait until *@p reaches @v; false after @timeout_ms. @spin: notice it within a
 * microsecond, yielding the CPU in between rather than sleeping. */
static bool
peer_wait_u64(const uint64_t *p, uint64_t v, unsigned int timeout_ms, bool spin)
{
	uint64_t end = test_now_ns() + (uint64_t)timeout_ms * 1000000u;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < v) {
		if (test_now_ns() > end)
			return false;
		if (spin)
			sched_yield();
		else
			sleep_us(500);
	}
	return true;
}

static bool
peer_wait_flag(const uint32_t *p)
{
	uint64_t end = test_now_ns() + (uint64_t)PEER_WAIT_MS * 1000000u;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) == 0) {
		if (test_now_ns() > end)
			return false;
		sleep_us(500);
	}
	return true;
}

/* --connect: take the port's next connection and offer it the server role. */
static int
peer_accept(struct test *t, struct peer *p, struct shmlink_attach_conf *conf)
{
	struct pollfd pfd = { .fd = t->lst_fd, .events = POLLIN };
	char why[256] = "";
	int rc;

	rc = poll(&pfd, 1, PEER_WAIT_MS);
	p->fd = rc > 0 ? accept4(t->lst_fd, NULL, NULL, SOCK_CLOEXEC) : -1;
	if (p->fd < 0) {
		peer_fail(t, "peer %u: the port did not connect to %s", p->id, t->sock_path);
		return -1;
	}
	conf->role = SHMLINK_ROLE_CLIENT;
	conf->sizes = (struct shmlink_qfile_sizes){ 0 };
	rc = shmlink_attach_offer(p->fd, conf, &p->att, why, sizeof(why));
	if (rc != 0) {
		peer_fail(t, "peer %u: offer: %s", p->id, why);
		return -1;
	}
	return 0;
}

/* Connect to the port's socket and answer its offer as the client. The port refuses a
 * second peer until it has seen the previous one leave (its interrupt thread handles
 * the hang-up), so retry until PEER_WAIT_MS has passed. */
static int
peer_connect(struct test *t, struct peer *p, struct shmlink_attach_conf *conf)
{
	uint64_t end = test_now_ns() + (uint64_t)PEER_WAIT_MS * 1000000u;
	char why[256] = "";
	int rc = -ETIMEDOUT;

	while (test_now_ns() < end) {
		p->fd = shmlink_ctl_connect(t->sock_path);
		if (p->fd >= 0) {
			rc = shmlink_attach_answer(p->fd, conf, &p->att, why, sizeof(why));
			if (rc == 0)
				break;
			close(p->fd);
			p->fd = -1;
		} else {
			rc = p->fd;
			snprintf(why, sizeof(why), "connect: %s", strerror(-rc));
		}
		sleep_us(10000);
	}
	if (rc != 0) {
		peer_fail(t, "peer %u: cannot attach to %s: %s", p->id, t->sock_path, why);
		return -1;
	}
	if (p->att.role != SHMLINK_ROLE_CLIENT) {
		peer_fail(t, "peer %u: the port assigned the server role", p->id);
		return -1;
	}
	return 0;
}

static void
peer_blocking(int efd)
{
	int fl = fcntl(efd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(efd, F_SETFL, fl & ~O_NONBLOCK);
}

/* Attach as the client (with --connect by taking the port's connection) and create
 * the endpoint the link agreed on. */
static int
peer_attach(struct test *t, struct peer *p)
{
	struct shmlink_attach_conf conf = {
		.role = SHMLINK_ROLE_CLIENT,
		.role_any = true,
		.nb_qp = 1,
		.mtu = RTE_ETHER_MTU,
		.buffer_size = SHMLINK_DEFAULT_BUFFER_SIZE,
		.mac = { 0x02, 0, 0, 0, 0x5e, p->id },
	};
	struct shmlink_ep_conf epc;

	if ((t->connect ? peer_accept(t, p, &conf) : peer_connect(t, p, &conf)) != 0)
		return -1;
	epc = shmlink_attach_ep_conf(&p->att, SHMLINK_TRIM_OFF);
	p->ep = shmlink_ep_create(p->att.role, &p->att.txq[0], &p->att.rxq[0], &epc);
	if (p->ep == NULL) {
		peer_fail(t, "peer %u: shmlink_ep_create: %s", p->id, strerror(errno));
		return -1;
	}
	/* As a hostile peer may: O_NONBLOCK belongs to the open file both sides share. The
	 * port's drains of an empty counter must not wait (the receiver would sleep for
	 * good), nor must this peer's own. */
	peer_blocking(p->att.txq[0].notify.efd);
	peer_blocking(p->att.rxq[0].notify.efd);
	return 0;
}

/* Leave: closing the control socket is what tells the port. */
static void
peer_detach(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	shmlink_ep_destroy(p->ep);
	p->ep = NULL;
	shmlink_attach_release(&p->att);
}

static int
peer_send_phase(struct test *t, struct peer *p, enum phase_id ph)
{
	static uint8_t bufs[BURST_MAX][FRAME_MAX];
	const struct phase_plan *pl = &t->plan[ph];
	struct shmlink_seg segs[BURST_MAX];
	struct shmlink_frame frames[BURST_MAX];
	struct shmlink_ep_stats st0, st1;
	struct phase_tx *tx = &t->tx[ph];
	uint64_t seq = pl->first_seq;
	unsigned int b, i;

	shmlink_ep_stats_get(p->ep, &st0);
	for (b = 0; b < pl->nb_bursts; b++) {
		uint32_t nb = pl->bursts[b].nb, done = 0;
		uint64_t end;

		if (pl->lockstep)
			spin_ns(pl->bursts[b].gap_ns);
		else
			sleep_us(pl->bursts[b].gap_ns / 1000u);
		for (i = 0; i < nb; i++) {
			segs[i].addr = bufs[i];
			segs[i].len = frame_build(bufs[i], &t->port_mac, p->id, (uint8_t)ph,
					seq + i);
			frames[i].segs = &segs[i];
			frames[i].nb_segs = 1;
			frames[i].len = segs[i].len;
		}
		/* One call per burst unless the rings are full (the receiver is behind). */
		end = test_now_ns() + (uint64_t)PEER_WAIT_MS * 1000000u;
		while (done < nb) {
			unsigned int n = shmlink_ep_tx_burst(p->ep, frames + done, nb - done);

			if (n > 0)
				tx->tx_calls++;
			done += n;
			if (done < nb) {
				if (shmlink_ep_broken(p->ep) || test_now_ns() > end) {
					peer_fail(t, "peer %u: phase %s: cannot send burst %u",
							p->id, phase_name[ph], b);
					return -1;
				}
				sleep_us(100);
			}
		}
		seq += nb;
		tx->frames += nb;
		/* Longer than the receiver's sleep: it must see a lost wake-up first. */
		if (pl->lockstep && !peer_wait_u64(&t->rx_next_seq, seq, 2 * RX_SLEEP_MS +
				1000, true)) {
			peer_fail(t, "peer %u: phase %s: burst %u not received", p->id,
					phase_name[ph], b);
			return -1;
		}
	}
	shmlink_ep_stats_get(p->ep, &st1);
	tx->signals = st1.signals - st0.signals;
	if (st1.tx_oversize != st0.tx_oversize) {
		peer_fail(t, "peer %u: phase %s: %" PRIu64 " frames dropped as oversize", p->id,
				phase_name[ph], st1.tx_oversize - st0.tx_oversize);
		return -1;
	}
	return 0;
}

/* Wait for the receiver to take everything sent so far: detaching drops unread frames. */
static int
peer_wait_received(struct test *t, struct peer *p, enum phase_id ph)
{
	uint64_t end_seq = t->plan[ph].first_seq + t->plan[ph].nb_frames;

	if (!peer_wait_u64(&t->rx_next_seq, end_seq, PEER_WAIT_MS, false)) {
		peer_fail(t, "peer %u: phase %s: the receiver did not catch up", p->id,
				phase_name[ph]);
		return -1;
	}
	return 0;
}

/* Phase E, peer side: sleep until each of the port's frames is signalled, answer the
 * first one. */
static int
peer_echo_phase(struct test *t, struct peer *p)
{
	const struct shmlink_notify *n = shmlink_ep_rx_notify(p->ep);
	struct shmlink_frame frames[4];
	struct shmlink_seg segs[4 * 8];
	uint8_t reply[FRAME_MIN];
	struct shmlink_seg rseg = { .addr = reply, .len = sizeof(reply) };
	struct shmlink_frame rf = { .segs = &rseg, .nb_segs = 1, .len = sizeof(reply) };
	uint32_t got = 0;

	memset(reply, 0, sizeof(reply));
	memcpy(reply, &t->port_mac, RTE_ETHER_ADDR_LEN);
	while (got < E_FRAMES) {
		unsigned int k;
		int rc;

		/* Nothing old may wake us: the receiver sends once we say we sleep. */
		shmlink_notify_drain(n);
		shmlink_notify_arm(n);
		if (!shmlink_ep_rx_ready(p->ep)) {
			__atomic_store_n(&t->e_asleep, got + 1, __ATOMIC_RELEASE);
			rc = shmlink_notify_wait(n, E_WAIT_MS);
			if (rc <= 0) {
				peer_fail(t, "peer %u: phase E: frame %u not signalled within %d ms "
						"(%d)", p->id, got + 1, E_WAIT_MS, rc);
				return -1;
			}
		}
		shmlink_notify_disarm(n);
		k = shmlink_ep_rx_burst(p->ep, frames, RTE_DIM(frames), segs, RTE_DIM(segs));
		shmlink_ep_rx_release(p->ep);
		if (k == 0)
			continue;	/* a spurious wake-up: sleep again */
		got += k;
		__atomic_store_n(&t->e_got, got, __ATOMIC_RELEASE);
		if (got == 1 && shmlink_ep_tx_burst(p->ep, &rf, 1) != 1) {
			peer_fail(t, "peer %u: phase E: cannot answer", p->id);
			return -1;
		}
	}
	return 0;
}

static void *
peer_main(void *arg)
{
	struct test *t = arg;
	struct peer p1 = { .fd = -1, .id = 1 }, p2 = { .fd = -1, .id = 2 };

	/* Phase R starts with the receiver idle: each of its bursts must find it so. */
	if (peer_attach(t, &p1) != 0 || peer_send_phase(t, &p1, PH_A) != 0 ||
			peer_wait_received(t, &p1, PH_A) != 0 ||
			peer_send_phase(t, &p1, PH_R) != 0)
		goto out;
	/* Phase P only once the receiver has switched to polling. */
	if (!peer_wait_flag(&t->rx_polling)) {
		peer_fail(t, "peer 1: the receiver never started polling");
		goto out;
	}
	if (peer_send_phase(t, &p1, PH_P) != 0 || peer_wait_received(t, &p1, PH_P) != 0)
		goto out;
	peer_detach(&p1);

	if (peer_attach(t, &p2) != 0 || peer_send_phase(t, &p2, PH_B) != 0 ||
			peer_wait_received(t, &p2, PH_B) != 0 || peer_echo_phase(t, &p2) != 0)
		goto out;
	/* Stay attached until the receiver is done, so it never sees the link go early. */
	if (!peer_wait_flag(&t->rx_done))
		peer_fail(t, "peer 2: the receiver did not finish");
out:
	peer_detach(&p1);
	peer_detach(&p2);
	return NULL;
}

/* ---- the receiver: the main lcore ---- */

static void
rx_error(struct test *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
rx_error(struct test *t, const char *fmt, ...)
{
	va_list ap;

	if (t->rx_bad++ > 0)
		return;		/* keep the first: the rest usually follow from it */
	va_start(ap, fmt);
	vsnprintf(t->rx_err, sizeof(t->rx_err), fmt, ap);
	va_end(ap);
}

/* The phase frame @seq belongs to (PH_COUNT: none). */
static enum phase_id
phase_of_seq(const struct test *t, uint64_t seq)
{
	unsigned int ph;

	for (ph = 0; ph < PH_COUNT; ph++)
		if (seq - t->plan[ph].first_seq < t->plan[ph].nb_frames)
			return (enum phase_id)ph;
	return PH_COUNT;
}

/*
 * Check one frame: the next sequence number, its phase, its length and every byte.
 * Frames are counted in the phase that sent them: a drain that ends one phase may
 * already take the first burst of the next.
 */
static void
rx_check(struct test *t, const struct rte_mbuf *m)
{
	uint64_t want = t->rx_next_seq, seq = want;
	const uint8_t *b = rte_pktmbuf_mtod(m, const uint8_t *);
	enum phase_id ph = phase_of_seq(t, want);
	uint32_t magic, i;

	if (m->nb_segs != 1 || m->pkt_len < OFF_FILL) {
		rx_error(t, "frame %" PRIu64 ": %u bytes in %u segments", want, m->pkt_len,
				m->nb_segs);
		goto next;
	}
	memcpy(&magic, b + OFF_MAGIC, sizeof(magic));
	memcpy(&seq, b + OFF_SEQ, sizeof(seq));
	if (magic != FRAME_MAGIC || phase_of_seq(t, seq) == PH_COUNT) {
		rx_error(t, "frame %" PRIu64 " due: magic %#x seq %" PRIu64 ": not ours", want,
				magic, seq);
		seq = want;
		goto next;
	}
	/* Resynchronise on what came, so one loss is reported once, not for every frame. */
	ph = phase_of_seq(t, seq);
	if (seq != want) {
		rx_error(t, "frame %" PRIu64 " arrived when %" PRIu64 " was due", seq, want);
		goto next;
	}
	if (b[OFF_PHASE] != ph) {
		rx_error(t, "frame %" PRIu64 ": sent in phase %u, planned in %s", seq,
				b[OFF_PHASE], phase_name[ph]);
		goto next;
	}
	if (m->pkt_len != frame_len(seq)) {
		rx_error(t, "frame %" PRIu64 ": %u bytes, sent %u", seq, m->pkt_len,
				frame_len(seq));
		goto next;
	}
	for (i = OFF_FILL; i < m->pkt_len; i++) {
		if (b[i] != frame_byte(seq, i)) {
			rx_error(t, "frame %" PRIu64 ": byte %u differs", seq, i);
			break;
		}
	}
next:
	if (ph != PH_COUNT)
		t->rx[ph].frames++;
	__atomic_store_n(&t->rx_next_seq, seq + 1, __ATOMIC_RELEASE);
}

/* One rx burst, checked and freed. */
static unsigned int
rx_poll(struct test *t)
{
	struct rte_mbuf *pkts[RX_BURST];
	uint16_t n, i;

	n = rte_eth_rx_burst(t->port, 0, pkts, RX_BURST);
	for (i = 0; i < n; i++)
		rx_check(t, pkts[i]);
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

static unsigned int
rx_drain(struct test *t)
{
	unsigned int n, total = 0;

	while ((n = rx_poll(t)) > 0)
		total += n;
	return total;
}

static bool
rx_phase_done(const struct test *t, enum phase_id ph)
{
	return t->rx_next_seq >= t->plan[ph].first_seq + t->plan[ph].nb_frames;
}

static bool
rx_intr_set(struct test *t, bool on)
{
	int rc = on ? rte_eth_dev_rx_intr_enable(t->port, 0) :
			rte_eth_dev_rx_intr_disable(t->port, 0);

	if (rc != 0) {
		rx_error(t, "rte_eth_dev_rx_intr_%s: %d", on ? "enable" : "disable", rc);
		return false;
	}
	return true;
}

enum rx_woke {
	RX_WOKE_NONE,		/* did not sleep */
	RX_WOKE_EVENT,
	RX_WOKE_TIMEOUT,
};

/* Receive phase @ph sleeping whenever the queue is empty (spec §5 sleep sequence). */
static void
rx_sleep_phase(struct test *t, enum phase_id ph)
{
	struct phase_rx *r = &t->rx[ph];
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), wall0 = test_now_ns();
	uint64_t progress = wall0;
	enum rx_woke woke = RX_WOKE_NONE;
	struct rte_epoll_event ev;

	for (;;) {
		unsigned int got = rx_drain(t);
		int rc;

		if (woke == RX_WOKE_EVENT && got == 0)
			r->empty_wakeups++;
		if (woke == RX_WOKE_TIMEOUT && got > 0)
			r->lost_wakeups++;
		woke = RX_WOKE_NONE;
		if (got > 0)
			progress = test_now_ns();
		if (rx_phase_done(t, ph) || t->rx_bad > 0 ||
				__atomic_load_n(&t->peer_failed, __ATOMIC_ACQUIRE) != 0)
			break;
		if (test_now_ns() - progress > (uint64_t)STALL_MS * 1000000u) {
			r->stalled = true;
			break;
		}
		if (!rx_intr_set(t, true))
			break;
		/* Frames that came before the word said "asleep" were not signalled. */
		if (rx_poll(t) > 0) {
			r->rearm_hits++;
			progress = test_now_ns();
			if (!rx_intr_set(t, false))
				break;
			continue;
		}
		r->sleeps++;
		rc = rte_epoll_wait(RTE_EPOLL_PER_THREAD, &ev, 1, RX_SLEEP_MS);
		if (!rx_intr_set(t, false))
			break;
		if (rc < 0) {
			rx_error(t, "rte_epoll_wait: %d (%s)", rc, strerror(errno));
			break;
		}
		if (rc == 0) {
			r->timeouts++;
			woke = RX_WOKE_TIMEOUT;
		} else {
			r->wakeups++;
			woke = RX_WOKE_EVENT;
		}
	}
	r->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	r->wall_ns = test_now_ns() - wall0;
}

/* Receive phase @ph busy-polling with interrupts disabled (left so by the last phase). */
static void
rx_poll_phase(struct test *t, enum phase_id ph)
{
	struct phase_rx *r = &t->rx[ph];
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), wall0 = test_now_ns();
	uint64_t progress = wall0;

	__atomic_store_n(&t->rx_polling, 1, __ATOMIC_RELEASE);
	while (!rx_phase_done(t, ph) && t->rx_bad == 0 &&
			__atomic_load_n(&t->peer_failed, __ATOMIC_ACQUIRE) == 0) {
		if (rx_poll(t) > 0)
			progress = test_now_ns();
		else if (test_now_ns() - progress > (uint64_t)STALL_MS * 1000000u) {
			r->stalled = true;
			break;
		}
	}
	r->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	r->wall_ns = test_now_ns() - wall0;
}

/* The port's tx_peer_signals xstat; UINT64_MAX if it cannot be read. */
static uint64_t
port_signals(const struct test *t)
{
	uint64_t id, v;

	if (rte_eth_xstats_get_id_by_name(t->port, "tx_peer_signals", &id) != 0 ||
			rte_eth_xstats_get_by_id(t->port, &id, &v, 1) != 1)
		return UINT64_MAX;
	return v;
}

/* Phase E: send peer 2 a frame once it sleeps; its signal must wait (the delay is
 * E_DELAY_US). Returns the port's signal count before the frame. */
static uint64_t
echo_send(struct test *t, uint32_t nth)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(t->mp);
	uint64_t end = test_now_ns() + (uint64_t)PEER_WAIT_MS * 1000000u, sig0;
	uint8_t *d;

	while (__atomic_load_n(&t->e_asleep, __ATOMIC_ACQUIRE) < nth &&
			__atomic_load_n(&t->peer_failed, __ATOMIC_ACQUIRE) == 0 && test_now_ns() < end)
		sleep_us(200);
	sig0 = port_signals(t);
	if (m == NULL || rte_pktmbuf_append(m, FRAME_MIN) == NULL) {
		rx_error(t, "phase E: no mbuf");
		rte_pktmbuf_free(m);
		return sig0;
	}
	d = rte_pktmbuf_mtod(m, uint8_t *);
	memset(d, 0, FRAME_MIN);
	memset(d, 0xff, RTE_ETHER_ADDR_LEN);
	if (rte_eth_tx_burst(t->port, 0, &m, 1) != 1) {
		rx_error(t, "phase E: frame %u not sent", nth);
		rte_pktmbuf_free(m);
	}
	__atomic_store_n(&t->e_sent, nth, __ATOMIC_RELEASE);
	CHECK(port_signals(t) == sig0, "phase E: frame %u was signalled at once with "
			"signal_delay_us=%u", nth, E_DELAY_US);
	return sig0;
}

/* Phase E, receiver side: the signal goes out when we go to sleep, then at stop. */
static void
rx_echo_phase(struct test *t)
{
	struct rte_epoll_event ev;
	struct rte_mbuf *pkts[RX_BURST];
	uint64_t sig0, end;
	uint16_t n = 0;
	int rc;

	sig0 = echo_send(t, 1);
	if (!rx_intr_set(t, true))
		return;
	CHECK(port_signals(t) == sig0 + 1, "phase E: enabling the rx interrupt did not send "
			"the pending signal");
	rc = rte_epoll_wait(RTE_EPOLL_PER_THREAD, &ev, 1, E_WAIT_MS + 1000);
	rx_intr_set(t, false);
	if (rc > 0)
		n = rte_eth_rx_burst(t->port, 0, pkts, RX_BURST);
	rte_pktmbuf_free_bulk(pkts, n);
	CHECK(rc > 0 && n == 1, "phase E: peer 2's answer: epoll %d, %u frames", rc, n);

	sig0 = echo_send(t, 2);
	rte_eth_dev_stop(t->port);
	CHECK(port_signals(t) == sig0 + 1, "phase E: rte_eth_dev_stop() did not send the "
			"pending signal");
	end = test_now_ns() + (uint64_t)E_WAIT_MS * 1000000u;
	while (__atomic_load_n(&t->e_got, __ATOMIC_ACQUIRE) < E_FRAMES && test_now_ns() < end)
		sleep_us(500);
	CHECK(__atomic_load_n(&t->e_got, __ATOMIC_ACQUIRE) == E_FRAMES, "phase E: peer 2 "
			"received %u of %u frames", __atomic_load_n(&t->e_got, __ATOMIC_ACQUIRE),
			E_FRAMES);
	printf("phase E: signal_delay_us=%u: %u frames to a sleeping peer, signalled at rx "
			"interrupt enable and at stop; port signals %" PRIu64 "\n", E_DELAY_US,
			__atomic_load_n(&t->e_got, __ATOMIC_ACQUIRE), port_signals(t));
}

/* ---- port set-up ---- */

static int
lsc_event(uint16_t port_id, enum rte_eth_event_type type __rte_unused, void *arg,
		void *ret_param __rte_unused)
{
	struct test *t = arg;
	struct rte_eth_link link;

	/* Called with the driver's control lock held: only read dev_link. */
	if (rte_eth_link_get_nowait(port_id, &link) != 0)
		return 0;
	__atomic_fetch_add(link.link_status ? &t->lsc_up : &t->lsc_down, 1, __ATOMIC_RELAXED);
	return 0;
}

static int
port_setup(struct test *t)
{
	struct rte_eth_conf conf = {
		.intr_conf = { .lsc = 1, .rxq = 1 },
	};
	struct rte_mempool *mp;
	int rc;

	if (rte_eth_dev_get_port_by_name(PORT_NAME, &t->port) != 0) {
		fprintf(stderr, "no port %s: the driver did not load or probe\n", PORT_NAME);
		return -ENODEV;
	}
	mp = rte_pktmbuf_pool_create("rxintr_pool", NB_MBUFS, 256, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	t->mp = mp;
	rc = rte_eth_dev_configure(t->port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(t->port, 0, NB_DESC, rte_socket_id(), NULL, mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(t->port, 0, NB_DESC, rte_socket_id(), NULL);
	if (rc == 0)
		rc = rte_eth_dev_callback_register(t->port, RTE_ETH_EVENT_INTR_LSC, lsc_event, t);
	if (rc == 0)
		rc = rte_eth_dev_start(t->port);
	if (rc == 0)
		rc = rte_eth_macaddr_get(t->port, &t->port_mac);
	if (rc != 0) {
		fprintf(stderr, "port %u set-up: %d (%s)\n", t->port, rc, rte_strerror(-rc));
		return rc;
	}
	/* Once, before any peer: the port keeps this FD for every peer. */
	rc = rte_eth_dev_rx_intr_ctl_q(t->port, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD,
			NULL);
	if (rc != 0) {
		fprintf(stderr, "rte_eth_dev_rx_intr_ctl_q(ADD): %d\n", rc);
		return rc;
	}
	return 0;
}

/* ---- checks and report ---- */

static void
check_sleep_phase(const struct test *t, enum phase_id ph)
{
	const struct phase_plan *pl = &t->plan[ph];
	const struct phase_tx *tx = &t->tx[ph];
	const struct phase_rx *r = &t->rx[ph];
	const char *n = phase_name[ph];

	CHECK(r->frames == pl->nb_frames, "phase %s: received %" PRIu64 " of %" PRIu64
			" frames", n, r->frames, pl->nb_frames);
	CHECK(!r->stalled, "phase %s: nothing arrived for %d ms", n, STALL_MS);
	CHECK(r->lost_wakeups == 0, "phase %s: %" PRIu64 " sleeps of %d ms timed out with "
			"frames waiting (lost wake-ups)", n, r->lost_wakeups, RX_SLEEP_MS);
	/* The library signals at most once per call, and not while the receiver polls. */
	CHECK(tx->signals <= tx->tx_calls, "phase %s: %" PRIu64 " signals for %" PRIu64
			" sends", n, tx->signals, tx->tx_calls);
	/* With 1..20 ms gaps the receiver must be asleep for most bursts, or this test
	 * proves nothing about interrupts. */
	CHECK(tx->signals * 2 >= pl->nb_bursts, "phase %s: only %" PRIu64 " of %u bursts "
			"found the receiver asleep", n, tx->signals, pl->nb_bursts);
	/*
	 * Each wake-up reads a non-zero eventfd counter, raised only by a peer signal,
	 * by the driver when enabling finds frames already there (then the re-poll finds
	 * them: a rearm hit), by a peer attaching, or left over from the previous phase.
	 */
	CHECK(r->wakeups <= tx->signals + r->rearm_hits + 4, "phase %s: %" PRIu64
			" wake-ups for %" PRIu64 " signals and %" PRIu64 " rearm hits", n,
			r->wakeups, tx->signals, r->rearm_hits);
	/* Each signal wakes a sleeper or races with the re-poll; a few may coalesce. */
	CHECK((r->wakeups + r->rearm_hits) * 4 >= tx->signals * 3, "phase %s: %" PRIu64
			" wake-ups and %" PRIu64 " rearm hits for %" PRIu64 " signals", n,
			r->wakeups, r->rearm_hits, tx->signals);
	CHECK(r->wakeups > r->empty_wakeups, "phase %s: no wake-up brought frames", n);
}

/* Phase R: signals coalesce and race the re-poll by design; only losses count. */
static void
check_race_phase(const struct test *t, enum phase_id ph)
{
	const struct phase_plan *pl = &t->plan[ph];
	const struct phase_tx *tx = &t->tx[ph];
	const struct phase_rx *r = &t->rx[ph];
	const char *n = phase_name[ph];

	CHECK(r->frames == pl->nb_frames, "phase %s: received %" PRIu64 " of %" PRIu64
			" frames", n, r->frames, pl->nb_frames);
	CHECK(!r->stalled, "phase %s: nothing arrived for %d ms", n, STALL_MS);
	CHECK(r->lost_wakeups == 0, "phase %s: %" PRIu64 " sleeps of %d ms timed out with "
			"frames waiting (lost wake-ups)", n, r->lost_wakeups, RX_SLEEP_MS);
	CHECK(tx->signals <= tx->tx_calls, "phase %s: %" PRIu64 " signals for %" PRIu64
			" sends", n, tx->signals, tx->tx_calls);
	CHECK(r->wakeups <= tx->signals + r->rearm_hits + 4, "phase %s: %" PRIu64
			" wake-ups for %" PRIu64 " signals and %" PRIu64 " rearm hits", n,
			r->wakeups, tx->signals, r->rearm_hits);
}

static void
print_phase(const struct test *t, enum phase_id ph)
{
	const struct phase_rx *r = &t->rx[ph];
	const struct phase_tx *tx = &t->tx[ph];

	printf("phase %s: bursts %u frames %" PRIu64 "/%" PRIu64 " peer signals %" PRIu64
			" sends %" PRIu64 " | sleeps %" PRIu64 " wake-ups %" PRIu64 " (empty %"
			PRIu64 ") rearm hits %" PRIu64 " timeouts %" PRIu64 " lost %" PRIu64
			" | cpu %.1f ms wall %.1f ms (%.2f%%)\n",
			phase_name[ph], t->plan[ph].nb_bursts, r->frames, t->plan[ph].nb_frames,
			tx->signals, tx->tx_calls, r->sleeps, r->wakeups, r->empty_wakeups,
			r->rearm_hits, r->timeouts, r->lost_wakeups, r->cpu_ns / 1e6,
			r->wall_ns / 1e6, r->wall_ns > 0 ? 100.0 * r->cpu_ns / r->wall_ns : 0.0);
}

/* ---- EAL run directory ---- */

/* Where EAL 22.11 puts /var/run/dpdk/<prefix> for this user (eal_create_runtime_dir). */
static void
runtime_dir(const char *prefix, char *buf, size_t len)
{
	const char *base = "/var/run";

	if (getuid() != 0) {
		base = getenv("XDG_RUNTIME_DIR");
		if (base == NULL)
			base = "/tmp";
	}
	snprintf(buf, len, "%s/dpdk/%s", base, prefix);
}

static void
remove_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(path);
}

/* ---- main ---- */

static int
parse_args(int argc, char **argv, const char **driver, uint64_t *seed, unsigned int *bursts,
		bool *connect)
{
	int i;

	if (argc < 2)
		return -1;
	*driver = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			*seed = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--bursts") == 0 && i + 1 < argc)
			*bursts = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--connect") == 0)
			*connect = true;
		else
			return -1;
	}
	return *bursts >= 2 ? 0 : -1;
}

static int
build_plan(struct test *t, unsigned int bursts, uint64_t seed)
{
	uint64_t s = seed;

	if (plan_phase(&t->plan[PH_A], bursts, GAP_MIN_NS, GAP_MAX_NS, 0, &s) != 0 ||
			plan_phase(&t->plan[PH_R], bursts * RACE_FACTOR, 0, RACE_GAP_MAX_NS,
				t->plan[PH_A].nb_frames, &s) != 0 ||
			plan_phase(&t->plan[PH_P], POLL_BURSTS, POLL_GAP_MIN_NS, POLL_GAP_MAX_NS,
				t->plan[PH_R].first_seq + t->plan[PH_R].nb_frames, &s) != 0 ||
			plan_phase(&t->plan[PH_B], bursts / 2, GAP_MIN_NS, GAP_MAX_NS,
				t->plan[PH_P].first_seq + t->plan[PH_P].nb_frames, &s) != 0)
		return -ENOMEM;
	t->plan[PH_R].lockstep = true;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct test t;
	const char *driver = NULL, *tmp = getenv("TMPDIR");
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	unsigned int bursts = DEFAULT_BURSTS;
	char vdev[256], logdir[300], prog[] = "test_rxintr";
	char *eal_argv[16];
	int eal_argc = 0, rc, fd_before, fd_after, i;
	uint32_t lsc_up, lsc_down;
	uint64_t t0, run_ns, cpu_ns, wall_ns;
	pthread_attr_t attr;
	pthread_t peer;
	struct stat sb;
	double cpu_pct;

	/* Keep our lines in order with EAL's and the driver's on stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	t.lst_fd = -1;
	if (parse_args(argc, argv, &driver, &seed, &bursts, &t.connect) != 0) {
		fprintf(stderr, "usage: %s DRIVER.so [--seed N] [--bursts N>=2] [--connect]\n",
				argv[0]);
		return 2;
	}
	if (stat(driver, &sb) != 0) {
		fprintf(stderr, "%s: %s\n", driver, strerror(errno));
		return 1;
	}
	driver = test_driver_arg(argv, driver);
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(t.prefix, sizeof(t.prefix), "shmlink_rxintr_%d", (int)getpid());
	if (snprintf(t.sock_path, sizeof(t.sock_path), "%s/shmlink-rxintr-%d.sock", tmp,
			(int)getpid()) >= (int)sizeof(t.sock_path)) {
		fprintf(stderr, "TMPDIR is too long for a socket path\n");
		return 1;
	}
	/* The signal delay matters in phase E only: the port sends nothing before. */
	snprintf(vdev, sizeof(vdev), "--vdev=%s,socket=%s,signal_delay_us=%u%s", PORT_NAME,
			t.sock_path, E_DELAY_US,
			t.connect ? ",listen=no,role=server" : "");
	if (t.connect) {
		t.lst_fd = shmlink_ctl_listen(t.sock_path);
		if (t.lst_fd < 0) {
			fprintf(stderr, "listen on %s: %s\n", t.sock_path, strerror(-t.lst_fd));
			return 1;
		}
	}
	runtime_dir(t.prefix, logdir, sizeof(logdir));
	if (build_plan(&t, bursts, seed) != 0)
		return 1;
	printf("rxintr: seed %#" PRIx64 ", phases A/R/P/B: %u/%u/%u/%u bursts, %" PRIu64 "/%"
			PRIu64 "/%" PRIu64 "/%" PRIu64 " frames, socket %s\n", seed,
			t.plan[PH_A].nb_bursts, t.plan[PH_R].nb_bursts, t.plan[PH_P].nb_bursts,
			t.plan[PH_B].nb_bursts, t.plan[PH_A].nb_frames, t.plan[PH_R].nb_frames,
			t.plan[PH_P].nb_frames, t.plan[PH_B].nb_frames, t.sock_path);

	/* The peer stands for another process: let it run anywhere, not on our lcore. */
	if (sched_getaffinity(0, sizeof(t.peer_cpus), &t.peer_cpus) != 0)
		CPU_ZERO(&t.peer_cpus);

	eal_argv[eal_argc++] = prog;
	eal_argv[eal_argc++] = (char *)"--no-huge";
	eal_argv[eal_argc++] = (char *)"-m";
	eal_argv[eal_argc++] = (char *)"512";
	eal_argv[eal_argc++] = (char *)"--no-pci";
	eal_argv[eal_argc++] = (char *)"--no-shconf";
	eal_argv[eal_argc++] = (char *)"--file-prefix";
	eal_argv[eal_argc++] = t.prefix;
	eal_argv[eal_argc++] = (char *)"-d";
	eal_argv[eal_argc++] = (char *)driver;
	eal_argv[eal_argc++] = vdev;
	eal_argv[eal_argc++] = (char *)"--log-level=pmd.net.shmlink:info";
	eal_argv[eal_argc] = NULL;
	rc = rte_eal_init(eal_argc, eal_argv);
	if (rc < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		remove_dir(logdir);
		return 1;
	}
	if (port_setup(&t) != 0) {
		check_failures++;
		goto cleanup;
	}
	fd_before = rte_eth_dev_rx_intr_ctl_q_get_fd(t.port, 0);

	pthread_attr_init(&attr);
	if (CPU_COUNT(&t.peer_cpus) > 0)
		pthread_attr_setaffinity_np(&attr, sizeof(t.peer_cpus), &t.peer_cpus);
	rc = pthread_create(&peer, &attr, peer_main, &t);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		fprintf(stderr, "pthread_create: %s\n", strerror(rc));
		check_failures++;
		goto stop;
	}

	t0 = test_now_ns();
	rx_sleep_phase(&t, PH_A);
	if (t.rx_bad == 0 && !t.rx[PH_A].stalled)
		rx_sleep_phase(&t, PH_R);
	if (t.rx_bad == 0 && !t.rx[PH_R].stalled)
		rx_poll_phase(&t, PH_P);
	if (t.rx_bad == 0 && !t.rx[PH_P].stalled)
		rx_sleep_phase(&t, PH_B);
	fd_after = rte_eth_dev_rx_intr_ctl_q_get_fd(t.port, 0);
	if (t.rx_bad == 0 && !t.rx[PH_B].stalled && rx_phase_done(&t, PH_B))
		rx_echo_phase(&t);
	run_ns = test_now_ns() - t0;
	__atomic_store_n(&t.rx_done, 1, __ATOMIC_RELEASE);
	pthread_join(peer, NULL);

	for (i = 0; i < PH_COUNT; i++)
		print_phase(&t, (enum phase_id)i);
	CHECK(__atomic_load_n(&t.peer_failed, __ATOMIC_ACQUIRE) == 0, "peer: %s", t.peer_err);
	CHECK(t.rx_bad == 0, "receiver: %" PRIu64 " bad frames or errors, first: %s",
			t.rx_bad, t.rx_err);
	check_sleep_phase(&t, PH_A);
	check_race_phase(&t, PH_R);
	check_sleep_phase(&t, PH_B);
	CHECK(t.rx[PH_P].frames == t.plan[PH_P].nb_frames, "phase P: received %" PRIu64
			" of %" PRIu64 " frames", t.rx[PH_P].frames, t.plan[PH_P].nb_frames);
	/* The word said "polling" throughout: any eventfd write is a wasted syscall. */
	CHECK(t.tx[PH_P].signals == 0, "phase P: the peer signalled %" PRIu64 " times while "
			"the receiver polled with interrupts disabled", t.tx[PH_P].signals);
	CHECK(fd_before >= 0 && fd_before == fd_after, "rx interrupt fd %d, then %d with the "
			"second peer", fd_before, fd_after);
	/* Up for each peer; down between them (the last one has not left yet). */
	lsc_up = __atomic_load_n(&t.lsc_up, __ATOMIC_RELAXED);
	lsc_down = __atomic_load_n(&t.lsc_down, __ATOMIC_RELAXED);
	CHECK(lsc_up == 2 && lsc_down >= 1, "link state events: %u up, %u down", lsc_up,
			lsc_down);

	cpu_ns = t.rx[PH_A].cpu_ns + t.rx[PH_B].cpu_ns;
	wall_ns = t.rx[PH_A].wall_ns + t.rx[PH_B].wall_ns;
	cpu_pct = wall_ns > 0 ? 100.0 * cpu_ns / wall_ns : 100.0;
	CHECK(cpu_pct < CPU_MAX_PCT, "receiver CPU %.2f%% of wall time while sleeping "
			"between bursts", cpu_pct);
	printf("rxintr: %s seed %#" PRIx64 " frames %" PRIu64 " bursts %u wake-ups %" PRIu64
			" (empty %" PRIu64 ") signals %" PRIu64 " polling-phase signals %" PRIu64
			" timeouts %" PRIu64 " lost %" PRIu64 " receiver cpu %.2f%% of %.2f s"
			" (run %.2f s) lsc up/down %u/%u\n",
			check_failures == 0 ? "PASS" : "FAIL", seed,
			t.rx[PH_A].frames + t.rx[PH_R].frames + t.rx[PH_P].frames +
				t.rx[PH_B].frames,
			t.plan[PH_A].nb_bursts + t.plan[PH_R].nb_bursts + t.plan[PH_P].nb_bursts +
				t.plan[PH_B].nb_bursts,
			t.rx[PH_A].wakeups + t.rx[PH_R].wakeups + t.rx[PH_B].wakeups,
			t.rx[PH_A].empty_wakeups + t.rx[PH_R].empty_wakeups +
				t.rx[PH_B].empty_wakeups,
			t.tx[PH_A].signals + t.tx[PH_R].signals + t.tx[PH_B].signals,
			t.tx[PH_P].signals,
			t.rx[PH_A].timeouts + t.rx[PH_R].timeouts + t.rx[PH_B].timeouts,
			t.rx[PH_A].lost_wakeups + t.rx[PH_R].lost_wakeups +
				t.rx[PH_B].lost_wakeups, cpu_pct, wall_ns / 1e9,
			run_ns / 1e9, lsc_up, lsc_down);

stop:
	rte_eth_dev_rx_intr_ctl_q(t.port, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, NULL);
	rte_eth_dev_callback_unregister(t.port, RTE_ETH_EVENT_INTR_LSC, lsc_event, &t);
	rte_eth_dev_stop(t.port);
cleanup:
	rte_eth_dev_close(t.port);
	rte_eal_cleanup();
	remove_dir(logdir);
	if (t.lst_fd >= 0)
		close(t.lst_fd);
	unlink(t.sock_path);	/* normally gone with the port (or ours, --connect) */
	for (i = 0; i < PH_COUNT; i++)
		free(t.plan[i].bursts);
	return check_failures == 0 ? 0 : 1;
}
