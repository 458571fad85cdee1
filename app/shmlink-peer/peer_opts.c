/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/* The command line: every option range-checked, anything unknown refused. */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "peer.h"

/* The ranges the net_shmlink driver accepts, so both sides can agree. */
#define OPT_MIN_MTU		68u
#define OPT_MAX_MTU		65000u
#define OPT_DEFAULT_MTU		1500u
#define OPT_MIN_BUFSZ		128u
#define OPT_MAX_BUFSZ		(1u << 20)
#define OPT_MIN_FILESZ		(UINT64_C(4) << 10)
#define OPT_MAX_FILESZ		(UINT64_C(1) << 30)
#define OPT_DEFAULT_BURST	32u
#define OPT_DEFAULT_TXPKT	64u
#define OPT_DEFAULT_CONNECT_S	10.0
/* A week: longer waits are typos, and keep times exact in a double. */
#define OPT_MAX_SECONDS		(7.0 * 24 * 3600)

enum {
	OPT_SOCKET = 256,
	OPT_LISTEN,
	OPT_CONNECT_TIMEOUT,
	OPT_RECONNECT,
	OPT_ROLE,
	OPT_FRAMING,
	OPT_VIRTIO,
	OPT_QUEUES,
	OPT_MTU,
	OPT_BUFFER_SIZE,
	OPT_DATA_SIZE,
	OPT_PIPE_SIZE,
	OPT_MAC,
	OPT_PEER_MAC,
	OPT_TRIM,
	OPT_CKSUM_OFFLOAD,
	OPT_UDP_CKSUM,
	OPT_VLAN,
	OPT_ATTACH_DELAY,
	OPT_RX_COUNT,
	OPT_MODE,
	OPT_VERIFY,
	OPT_WINDOW,
	OPT_TX_PPS,
	OPT_BURST,
	OPT_TXPKTS,
	OPT_IP,
	OPT_PEER_IP,
	OPT_IP6,
	OPT_TX_UDP,
	OPT_CPUS,
	OPT_RX_MODE,
	OPT_DURATION,
	OPT_STATS_PERIOD,
	OPT_JSON,
	OPT_EXPECT_MIN,
	OPT_FAIL_ON_ERRORS,
	OPT_ALLOW_UNSEALED,
	OPT_HELP,
};

static const struct option opts_long[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "listen", no_argument, NULL, OPT_LISTEN },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "reconnect", no_argument, NULL, OPT_RECONNECT },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "framing", required_argument, NULL, OPT_FRAMING },
	{ "virtio-hdr", no_argument, NULL, OPT_VIRTIO },
	{ "allow-unsealed", no_argument, NULL, OPT_ALLOW_UNSEALED },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "buffer-size", required_argument, NULL, OPT_BUFFER_SIZE },
	{ "data-size", required_argument, NULL, OPT_DATA_SIZE },
	{ "pipe-size", required_argument, NULL, OPT_PIPE_SIZE },
	{ "mac", required_argument, NULL, OPT_MAC },
	{ "peer-mac", required_argument, NULL, OPT_PEER_MAC },
	{ "trim", required_argument, NULL, OPT_TRIM },
	{ "cksum-offload", required_argument, NULL, OPT_CKSUM_OFFLOAD },
	{ "udp-cksum", no_argument, NULL, OPT_UDP_CKSUM },
	{ "vlan", required_argument, NULL, OPT_VLAN },
	{ "attach-delay", required_argument, NULL, OPT_ATTACH_DELAY },
	{ "rx-count", required_argument, NULL, OPT_RX_COUNT },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "tx-pps", required_argument, NULL, OPT_TX_PPS },
	{ "burst", required_argument, NULL, OPT_BURST },
	{ "txpkts", required_argument, NULL, OPT_TXPKTS },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "peer-ip", required_argument, NULL, OPT_PEER_IP },
	{ "ip6", required_argument, NULL, OPT_IP6 },
	{ "tx-udp", required_argument, NULL, OPT_TX_UDP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "rx-mode", required_argument, NULL, OPT_RX_MODE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "stats-period", required_argument, NULL, OPT_STATS_PERIOD },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "expect-min", required_argument, NULL, OPT_EXPECT_MIN },
	{ "fail-on-errors", no_argument, NULL, OPT_FAIL_ON_ERRORS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* opts_one() names an option by its code: the table must follow the enum. */
_Static_assert(PEER_DIM(opts_long) == OPT_HELP - OPT_SOCKET + 2,
		"opts_long must list every option once, in the order of their codes");

static const char *const opts_modes[] = {
	[PEER_MODE_RXONLY] = "rxonly",
	[PEER_MODE_TXONLY] = "txonly",
	[PEER_MODE_IO] = "io",
	[PEER_MODE_MACSWAP] = "macswap",
	[PEER_MODE_ICMPECHO] = "icmpecho",
};

static void
opts_usage(FILE *f)
{
	fprintf(f,
"usage: " PEER_NAME " --socket PATH [options]\n"
"The sandbox side of a net_shmlink link, on libshmlink alone: attaches over the control\n"
"socket PATH, then receives, generates or forwards frames with one busy-polling thread\n"
"per queue pair, like dpdk-testpmd.\n"
"\n"
"Attach:\n"
"  --socket PATH            control socket (required)\n"
"  --listen                 create PATH and wait for a peer (default: connect to it,\n"
"                           retrying every 100 ms until it appears, and again if it\n"
"                           leaves the handshake unfinished)\n"
"  --connect-timeout S      give up waiting for a peer after S seconds, 0: never\n"
"                           (default: 10 when connecting, 0 when listening)\n"
"  --reconnect              when the peer leaves, wait for the next one and go on\n"
"  --role server|client     gVisor role of this side (default: connecting, the one the\n"
"                           listener assigns; listening, client)\n"
"  --framing eth|ip         Ethernet frames or raw IP packets (default: eth)\n"
"  --virtio-hdr             frames carry a 10-byte virtio-net header\n"
"  --allow-unsealed         connecting: take queue files not sealed against shrinking\n"
"                           (a listener's queue_files=DIR); UNSAFE with a hostile peer\n"
"  --queues N               queue pairs, 1..16 (default: 1)\n"
"  --mtu N                  L3 MTU, 68..65000 (default: 1500)\n"
"  --buffer-size N          listening: buffer size, 128..1048576 (default: 2048)\n"
"  --data-size N            listening: data region per queue, 4096..2^30 (default 8 MiB)\n"
"  --pipe-size N            listening: size of each pipe, 4096..2^30 (default: 256 KiB)\n"
"  --mac MAC                our MAC address (default: random, locally administered)\n"
"  --peer-mac MAC           destination of generated frames (default: the peer's MAC)\n"
"  --trim auto|on|off       client role: cut received frames to their L3 length\n"
"                           (default: auto, which is on in the client role)\n"
"  --cksum-offload LIST     what we say of ourselves (control protocol 1.1): tx, our\n"
"                           UDP checksums may be left 0; rx, we take frames with\n"
"                           unfilled checksums (a bad one is then counted, not corrupt);\n"
"                           tx,rx both; none (default), as gVisor without offloads\n"
"  --udp-cksum              txonly: fill the UDP checksums, unless the link agreed we\n"
"                           may leave them 0 (default: 0, which UDP over IPv4 allows)\n"
"  --vlan ID                txonly: tag the frames with 802.1Q VLAN ID 1..4094\n"
"                           (--txpkts sizes then count the tag)\n"
"  --attach-delay MS        wait MS ms between the handshake and making the endpoints\n"
"                           (a client posts its receive buffers then), as a gVisor stack\n"
"                           that attaches its NIC later (default: 0)\n"
"\n"
"Traffic:\n"
"  --mode MODE              rxonly: count and check frames; txonly: generate test frames;\n"
"                           io: send back what arrives; macswap: the same with the\n"
"                           Ethernet addresses swapped; icmpecho: answer ARP and ping\n"
"                           for --ip (and NDP and ping6 for --ip6)  (default: io)\n"
"  --verify                 txonly: also receive the frames that come back and check them\n"
"  --window N|auto          txonly --verify: at most N frames out at a time per queue,\n"
"                           so that a forwarder which drops under back-pressure (as\n"
"                           testpmd does without --retry) need not; 0: no limit;\n"
"                           auto (default): what the link holds, less a burst\n"
"  --tx-pps N               txonly: at most N frames per second per queue (default: 0,\n"
"                           as fast as the link takes them)\n"
"  --burst N                frames per burst, 1..%u (default: %u)\n"
"  --txpkts SIZE[,SIZE...]  txonly frame sizes, used in turn (default: %u); each from\n"
"                           %u (%u with --framing ip) up to the MTU plus link headers\n"
"  --ip ADDR                our IPv4 address (default: 198.18.0.2)\n"
"  --peer-ip ADDR           destination of generated frames (default: 198.18.0.1)\n"
"  --ip6 ADDR               our IPv6 address, for icmpecho (default: none)\n"
"  --tx-udp SRC[,DST]       UDP ports of generated frames (default: 9,9)\n"
"  --cpus LIST              pin the thread of queue i to the i-th CPU of LIST (such as\n"
"                           1,3-4; used round-robin if shorter than --queues)\n"
"  --rx-mode poll|interrupt busy polling, or sleeping on the eventfd when idle\n"
"                           (default: poll; txonly always polls)\n"
"\n"
"Run and report:\n"
"  --duration S             stop after S seconds of traffic, 0: at SIGINT/SIGTERM\n"
"  --rx-count N             stop once N frames came in (checked every 2 ms)\n"
"  --stats-period S         print statistics every S seconds (default: 0, never)\n"
"  --json FILE              also write the summary as JSON to FILE\n"
"  --expect-min N           fail unless at least N frames were received\n"
"  --fail-on-errors         fail if a frame was lost, reordered or corrupt, or the peer\n"
"                           broke the protocol\n"
"  --help                   print this and exit\n"
"\n"
"Exit status: 0 success, 1 failure (attach, expectations), 2 bad options.\n",
		PEER_BURST_MAX, OPT_DEFAULT_BURST, OPT_DEFAULT_TXPKT,
		PKT_ETH_IP_UDP_LEN + PKT_TEST_HDR_LEN, PKT_IP_UDP_LEN + PKT_TEST_HDR_LEN);
}

static int __attribute__((format(printf, 1, 2)))
opts_bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PEER_NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PEER_NAME " --help' for more information.\n");
	return -1;
}

/* A whole decimal (or 0x hex) number in [min, max]. */
static int
opts_u64(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return opts_bad("--%s %s: not a number", name, s);
	/* Decimal, or hex with 0x; never octal: "010" is ten. */
	v = strtoull(s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10);
	if (errno != 0 || *end != '\0')
		return opts_bad("--%s %s: not a number", name, s);
	if (v < min || v > max)
		return opts_bad("--%s %s: out of range %" PRIu64 "..%" PRIu64, name, s, min,
				max);
	*out = v;
	return 0;
}

static int
opts_u32(const char *name, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (opts_u64(name, s, min, max, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Seconds, fractions allowed, in [0, OPT_MAX_SECONDS]. */
static int
opts_seconds(const char *name, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	if ((s[0] < '0' || s[0] > '9') && s[0] != '.')
		return opts_bad("--%s %s: not a number of seconds", name, s);
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return opts_bad("--%s %s: not a number of seconds", name, s);
	if (v < 0 || v > OPT_MAX_SECONDS)
		return opts_bad("--%s %s: out of range 0..%.0f", name, s, OPT_MAX_SECONDS);
	*out = v;
	return 0;
}

static int
opts_mac(const char *name, const char *s, uint8_t mac[PEER_ETH_ALEN])
{
	unsigned int i;
	const char *p = s;

	for (i = 0; i < PEER_ETH_ALEN; i++) {
		char *end;
		unsigned long v;

		if (!((p[0] >= '0' && p[0] <= '9') || (p[0] >= 'a' && p[0] <= 'f') ||
				(p[0] >= 'A' && p[0] <= 'F')))
			break;
		v = strtoul(p, &end, 16);
		if (end - p > 2 || v > 0xff)
			break;
		mac[i] = (uint8_t)v;
		p = end;
		if (i < PEER_ETH_ALEN - 1) {
			if (*p != ':')
				break;
			p++;
		}
	}
	if (i < PEER_ETH_ALEN || *p != '\0')
		return opts_bad("--%s %s: not a MAC address such as 02:00:00:00:00:01", name, s);
	return 0;
}

static int
opts_list_item(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char item[32];

	if (strlen(s) >= sizeof(item) || s[0] == '\0')
		return opts_bad("--%s: empty or overlong list item", name);
	strcpy(item, s);
	return opts_u64(name, item, min, max, v);
}

/* Split @s at commas into @items (modified in place). Returns the count, or -1. */
static int
opts_split(const char *name, char *s, char **items, unsigned int max)
{
	unsigned int n = 0;
	char *save = NULL, *tok;

	if (s[0] == '\0' || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,") != NULL)
		return opts_bad("--%s %s: empty list item", name, s);
	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return opts_bad("--%s: more than %u items", name, max);
		items[n++] = tok;
	}
	return (int)n;
}

/* "1,3-5": CPUs in the order given. */
static int
opts_cpus(const char *arg, struct peer_opts *o)
{
	char buf[256], *items[PEER_MAX_QUEUES] = { NULL };
	int n, i;

	if (strlen(arg) >= sizeof(buf))
		return opts_bad("--cpus: list too long");
	strcpy(buf, arg);
	n = opts_split("cpus", buf, items, PEER_MAX_QUEUES);
	if (n < 0)
		return -1;
	o->nb_cpus = 0;
	for (i = 0; i < n; i++) {
		char *dash = strchr(items[i], '-');
		uint64_t lo, hi, c;

		if (dash != NULL)
			*dash = '\0';
		if (opts_list_item("cpus", items[i], 0, CPU_SETSIZE - 1, &lo) != 0)
			return -1;
		hi = lo;
		if (dash != NULL && opts_list_item("cpus", dash + 1, lo, CPU_SETSIZE - 1,
				&hi) != 0)
			return -1;
		for (c = lo; c <= hi; c++) {
			if (o->nb_cpus == PEER_MAX_QUEUES)
				return opts_bad("--cpus: more than %u CPUs", PEER_MAX_QUEUES);
			o->cpus[o->nb_cpus++] = (int)c;
		}
	}
	return 0;
}

static int
opts_txpkts(const char *arg, struct peer_opts *o)
{
	char buf[PEER_MAX_TXPKTS * 8], *items[PEER_MAX_TXPKTS] = { NULL };
	int n, i;

	if (strlen(arg) >= sizeof(buf))
		return opts_bad("--txpkts: list too long");
	strcpy(buf, arg);
	n = opts_split("txpkts", buf, items, PEER_MAX_TXPKTS);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t v;

		/* The real bounds depend on framing and MTU: checked at the end. */
		if (opts_list_item("txpkts", items[i], 1, UINT32_MAX, &v) != 0)
			return -1;
		o->txpkts[i] = (uint32_t)v;
	}
	o->nb_txpkts = (unsigned int)n;
	return 0;
}

static int
opts_udp(const char *arg, struct peer_opts *o)
{
	char buf[64], *items[2] = { NULL, NULL };
	uint64_t v;
	int n;

	if (strlen(arg) >= sizeof(buf))
		return opts_bad("--tx-udp: too long");
	strcpy(buf, arg);
	n = opts_split("tx-udp", buf, items, 2);
	if (n < 0 || opts_list_item("tx-udp", items[0], 0, UINT16_MAX, &v) != 0)
		return -1;
	o->udp_src = (uint16_t)v;
	o->udp_dst = (uint16_t)v;
	if (n == 2) {
		if (opts_list_item("tx-udp", items[1], 0, UINT16_MAX, &v) != 0)
			return -1;
		o->udp_dst = (uint16_t)v;
	}
	return 0;
}

static int
opts_word(const char *name, const char *s, const char *const *words, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (words[i] != NULL && strcmp(s, words[i]) == 0)
			return (int)i;
	return opts_bad("--%s %s: unknown value", name, s);
}

/* --cksum-offload: tx, rx, tx,rx (either order) or none. */
static int
opts_offloads(const char *name, const char *s, uint16_t *out)
{
	if (strcmp(s, "none") == 0)
		*out = 0;
	else if (strcmp(s, "tx") == 0)
		*out = SHMLINK_CTL_O_CSUM_TX;
	else if (strcmp(s, "rx") == 0)
		*out = SHMLINK_CTL_O_CSUM_RX;
	else if (strcmp(s, "tx,rx") == 0 || strcmp(s, "rx,tx") == 0)
		*out = SHMLINK_CTL_O_CSUM_TX | SHMLINK_CTL_O_CSUM_RX;
	else
		return opts_bad("--%s %s: unknown value (tx, rx, tx,rx or none)", name, s);
	return 0;
}

static void
opts_defaults(struct peer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout = -1;	/* not given */
	o->role = SHMLINK_ROLE_CLIENT;
	o->nb_qp = 1;
	o->mtu = OPT_DEFAULT_MTU;
	o->buffer_size = SHMLINK_DEFAULT_BUFFER_SIZE;
	o->mode = PEER_MODE_IO;
	o->burst = OPT_DEFAULT_BURST;
	o->nb_txpkts = 1;
	o->txpkts[0] = OPT_DEFAULT_TXPKT;
	inet_pton(AF_INET, "198.18.0.2", &o->ip);
	inet_pton(AF_INET, "198.18.0.1", &o->peer_ip);
	o->udp_src = 9;
	o->udp_dst = 9;
	/* A random unicast, locally administered address, as the driver picks one. */
	if (getrandom(o->mac, sizeof(o->mac), 0) != (ssize_t)sizeof(o->mac))
		memcpy(o->mac, (uint8_t[]){ 0, 0x53, 0x4c, 0x50, 0, 1 }, sizeof(o->mac));
	o->mac[0] = (uint8_t)((o->mac[0] & 0xfe) | 0x02);
}

/* One option; 0 or -1. */
static int
opts_one(int c, const char *arg, struct peer_opts *o)
{
	static const char *const roles[] = { "client", "server" };
	static const char *const framings[] = { "eth", "ip" };
	static const char *const trims[] = { "auto", "on", "off" };
	static const char *const rx_modes[] = { "poll", "interrupt" };
	/* opts_long lists the options in the order of their codes. */
	const char *name = opts_long[c - OPT_SOCKET].name;
	uint64_t v;
	int w;

	switch (c) {
	case OPT_SOCKET:
		if (arg[0] == '\0' || strlen(arg) >= 108)
			return opts_bad("--socket: a path of 1 to 107 bytes");
		o->socket_path = arg;
		return 0;
	case OPT_LISTEN:
		o->listen = true;
		return 0;
	case OPT_CONNECT_TIMEOUT:
		return opts_seconds(name, arg, &o->connect_timeout);
	case OPT_RECONNECT:
		o->reconnect = true;
		return 0;
	case OPT_ROLE:
		w = opts_word(name, arg, roles, 2);
		o->role = w == 1 ? SHMLINK_ROLE_SERVER : SHMLINK_ROLE_CLIENT;
		o->role_set = true;
		return w < 0 ? -1 : 0;
	case OPT_FRAMING:
		w = opts_word(name, arg, framings, 2);
		o->raw_ip = w == 1;
		return w < 0 ? -1 : 0;
	case OPT_VIRTIO:
		o->virtio_hdr = true;
		return 0;
	case OPT_ALLOW_UNSEALED:
		o->allow_unsealed = true;
		return 0;
	case OPT_QUEUES:
		if (opts_u64(name, arg, 1, PEER_MAX_QUEUES, &v) != 0)
			return -1;
		o->nb_qp = (uint16_t)v;
		return 0;
	case OPT_MTU:
		return opts_u32(name, arg, OPT_MIN_MTU, OPT_MAX_MTU, &o->mtu);
	case OPT_BUFFER_SIZE:
		return opts_u32(name, arg, OPT_MIN_BUFSZ, OPT_MAX_BUFSZ, &o->buffer_size);
	case OPT_DATA_SIZE:
		return opts_u64(name, arg, OPT_MIN_FILESZ, OPT_MAX_FILESZ, &o->data_size);
	case OPT_PIPE_SIZE:
		return opts_u64(name, arg, OPT_MIN_FILESZ, OPT_MAX_FILESZ, &o->pipe_size);
	case OPT_MAC:
		return opts_mac(name, arg, o->mac);
	case OPT_PEER_MAC:
		o->peer_mac_set = true;
		return opts_mac(name, arg, o->peer_mac);
	case OPT_TRIM:
		w = opts_word(name, arg, trims, 3);
		o->trim = w == 1 ? SHMLINK_TRIM_ON : w == 2 ? SHMLINK_TRIM_OFF : SHMLINK_TRIM_AUTO;
		return w < 0 ? -1 : 0;
	case OPT_CKSUM_OFFLOAD:
		return opts_offloads(name, arg, &o->offloads);
	case OPT_UDP_CKSUM:
		o->udp_cksum = true;
		return 0;
	case OPT_VLAN:
		if (opts_u64(name, arg, 1, 4094, &v) < 0)
			return -1;
		o->vlan = (uint16_t)v;
		return 0;
	case OPT_ATTACH_DELAY:
		return opts_u32(name, arg, 0, 60000, &o->attach_delay_ms);
	case OPT_RX_COUNT:
		return opts_u64(name, arg, 1, UINT64_MAX, &o->rx_count);
	case OPT_MODE:
		w = opts_word(name, arg, opts_modes, PEER_DIM(opts_modes));
		o->mode = (enum peer_mode)(w < 0 ? 0 : w);
		return w < 0 ? -1 : 0;
	case OPT_VERIFY:
		o->verify = true;
		return 0;
	case OPT_WINDOW:
		o->window_set = true;
		o->window_auto = strcmp(arg, "auto") == 0;
		if (o->window_auto)
			return 0;
		return opts_u32(name, arg, 0, UINT32_MAX, &o->window);
	case OPT_TX_PPS:
		return opts_u64(name, arg, 0, UINT64_C(1000000000), &o->tx_pps);
	case OPT_BURST:
		if (opts_u64(name, arg, 1, PEER_BURST_MAX, &v) != 0)
			return -1;
		o->burst = (unsigned int)v;
		return 0;
	case OPT_TXPKTS:
		return opts_txpkts(arg, o);
	case OPT_IP:
	case OPT_PEER_IP:
		if (inet_pton(AF_INET, arg, c == OPT_IP ? &o->ip : &o->peer_ip) != 1)
			return opts_bad("--%s %s: not an IPv4 address", name, arg);
		return 0;
	case OPT_IP6:
		if (inet_pton(AF_INET6, arg, &o->ip6) != 1)
			return opts_bad("--%s %s: not an IPv6 address", name, arg);
		o->ip6_set = true;
		return 0;
	case OPT_TX_UDP:
		return opts_udp(arg, o);
	case OPT_CPUS:
		return opts_cpus(arg, o);
	case OPT_RX_MODE:
		w = opts_word(name, arg, rx_modes, 2);
		o->rx_intr = w == 1;
		return w < 0 ? -1 : 0;
	case OPT_DURATION:
		return opts_seconds(name, arg, &o->duration);
	case OPT_STATS_PERIOD:
		if (opts_seconds(name, arg, &o->stats_period) != 0)
			return -1;
		if (o->stats_period > 0 && o->stats_period < 0.1)
			return opts_bad("--%s %s: at least 0.1 (or 0: never)", name, arg);
		return 0;
	case OPT_JSON:
		if (arg[0] == '\0')
			return opts_bad("--json: empty file name");
		o->json_path = arg;
		return 0;
	case OPT_EXPECT_MIN:
		o->expect_min_set = true;
		return opts_u64(name, arg, 0, UINT64_MAX, &o->expect_min);
	case OPT_FAIL_ON_ERRORS:
		o->fail_on_errors = true;
		return 0;
	default:
		return opts_bad("unknown option");
	}
}

/* Checks that need several options. */
static int
opts_check(struct peer_opts *o)
{
	uint32_t min = pkt_l2_len(o) + PKT_IP_UDP_LEN + PKT_TEST_HDR_LEN;
	uint32_t max = opts_max_frame(o);
	unsigned int i;

	if (o->socket_path == NULL)
		return opts_bad("--socket PATH is required");
	if (!o->listen && (o->data_size != 0 || o->pipe_size != 0))
		return opts_bad("--data-size and --pipe-size set the files a listener creates: "
				"they need --listen");
	if (o->data_size != 0 && o->data_size < o->buffer_size)
		return opts_bad("--data-size %" PRIu64 " is smaller than --buffer-size %u",
				o->data_size, o->buffer_size);
	if (o->connect_timeout < 0)
		o->connect_timeout = o->listen ? 0 : OPT_DEFAULT_CONNECT_S;
	if (o->verify && o->mode != PEER_MODE_TXONLY)
		return opts_bad("--verify goes with --mode txonly (rxonly always verifies)");
	if ((o->window > 0 || o->window_set) && !o->verify)
		return opts_bad("--window goes with --mode txonly --verify");
	if (!o->window_set)
		o->window_auto = true;
	if (o->vlan != 0 && (o->mode != PEER_MODE_TXONLY || o->raw_ip))
		return opts_bad("--vlan goes with --mode txonly and Ethernet framing");
	if (o->tx_pps > 0 && o->mode != PEER_MODE_TXONLY)
		return opts_bad("--tx-pps goes with --mode txonly");
	if (o->expect_min_set && o->mode == PEER_MODE_TXONLY && !o->verify)
		return opts_bad("--expect-min counts received frames: txonly receives only "
				"with --verify");
	for (i = 0; i < o->nb_txpkts; i++) {
		if (o->txpkts[i] < min || o->txpkts[i] > max)
			return opts_bad("--txpkts %u: out of range %u..%u (%s framing, MTU %u)",
					o->txpkts[i], min, max, o->raw_ip ? "ip" : "eth",
					o->mtu);
	}
	return 0;
}

int
opts_parse(int argc, char **argv, struct peer_opts *o)
{
	int c;

	opts_defaults(o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts_long, NULL)) != -1) {
		if (c == OPT_HELP) {
			opts_usage(stdout);
			return PEER_EXIT_OK;
		}
		if (c == '?') {
			opts_bad("unknown option '%s'", argv[optind - 1]);
			return PEER_EXIT_USAGE;
		}
		if (c == ':') {
			opts_bad("option '%s' needs a value", argv[optind - 1]);
			return PEER_EXIT_USAGE;
		}
		if (opts_one(c, optarg, o) != 0)
			return PEER_EXIT_USAGE;
	}
	if (optind < argc) {
		opts_bad("unexpected argument '%s'", argv[optind]);
		return PEER_EXIT_USAGE;
	}
	if (opts_check(o) != 0)
		return PEER_EXIT_USAGE;
	return -1;
}

const char *
opts_mode_name(enum peer_mode m)
{
	return (unsigned int)m < PEER_DIM(opts_modes) ? opts_modes[m] : "?";
}

/* What net_shmlink takes (shmlink_max_frame()). */
uint32_t
opts_max_frame(const struct peer_opts *o)
{
	return shmlink_max_frame(o->mtu, o->raw_ip);
}
