/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Counters: the periodic testpmd-like statistics, the summary at exit and its JSON
 * form. The queue threads own their counters; this side only reads them.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "peer.h"

/* Every field of struct peer_qstats, in order, with its JSON name. */
#define STATS_FIELDS(X) \
	X(rx_packets) X(rx_bytes) X(rx_verified) X(rx_foreign) X(rx_lost) \
	X(rx_reordered) X(rx_corrupt) X(rx_sleeps) X(tx_packets) X(tx_bytes) \
	X(tx_dropped) X(tx_full) X(tx_unreturned) X(rx_cksum_none) X(rx_cksum_valid) \
	X(rx_cksum_bad)

#define STATS_COUNT(f) + 1
_Static_assert(0 STATS_FIELDS(STATS_COUNT) == PEER_QSTATS_FIELDS,
		"STATS_FIELDS must list every counter of struct peer_qstats");

void
stats_read(const struct peer_queue *q, struct peer_qstats *s)
{
#define STATS_LOAD(f) s->f = __atomic_load_n(&q->st.f, __ATOMIC_RELAXED);
	STATS_FIELDS(STATS_LOAD)
#undef STATS_LOAD
}

static void
stats_add(struct peer_qstats *to, const struct peer_qstats *from)
{
#define STATS_ADD(f) to->f += from->f;
	STATS_FIELDS(STATS_ADD)
#undef STATS_ADD
}

uint64_t
stats_ep_errors(const struct shmlink_ep_stats *e)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		n += e->err[i];
	return n;
}

double
stats_active(const struct peer_ctx *ctx)
{
	return ctx->active + (ctx->attached ? peer_now() - ctx->t_attach : 0);
}

void
stats_total(const struct peer_ctx *ctx, struct peer_qstats *t, struct shmlink_ep_stats *e)
{
	uint16_t i;

	memset(t, 0, sizeof(*t));
	if (e != NULL)
		memset(e, 0, sizeof(*e));
	for (i = 0; i < ctx->o->nb_qp; i++) {
		struct peer_qstats s;

		stats_read(ctx->q[i], &s);
		stats_add(t, &s);
		if (e != NULL)
			shmlink_ep_stats_add(e, &ctx->q[i]->ep_saved);
	}
}

void
stats_finish(struct peer_ctx *ctx)
{
	uint16_t i;

	if (ctx->o->mode != PEER_MODE_TXONLY || !ctx->o->verify)
		return;
	for (i = 0; i < ctx->o->nb_qp; i++) {
		struct peer_qstats *s = &ctx->q[i]->st;

		s->tx_unreturned = s->tx_packets > s->rx_verified ?
				s->tx_packets - s->rx_verified : 0;
	}
}

static double
stats_rate(uint64_t n, double secs)
{
	return secs > 0 ? n / secs : 0;
}

void
stats_mark(struct peer_ctx *ctx)
{
	uint16_t i;

	ctx->t_last_print = peer_now();
	for (i = 0; i < ctx->o->nb_qp; i++)
		stats_read(ctx->q[i], &ctx->q[i]->last);
}

void
stats_print_period(struct peer_ctx *ctx)
{
	double now = peer_now(), dt = now - ctx->t_last_print;
	struct peer_qstats tot = { 0 }, dtot = { 0 };
	uint16_t i;

	ctx->t_last_print = now;
	printf("\n  ############ " PEER_NAME " statistics: %s, %.1f s attached ############\n",
			ctx->o->socket_path, stats_active(ctx));
	for (i = 0; i < ctx->o->nb_qp; i++) {
		struct peer_queue *q = ctx->q[i];
		struct peer_qstats s;

		stats_read(q, &s);
		stats_add(&tot, &s);
		dtot.rx_packets += s.rx_packets - q->last.rx_packets;
		dtot.rx_bytes += s.rx_bytes - q->last.rx_bytes;
		dtot.tx_packets += s.tx_packets - q->last.tx_packets;
		dtot.tx_bytes += s.tx_bytes - q->last.tx_bytes;
		if (ctx->o->nb_qp > 1)
			printf("  queue %2u: RX %" PRIu64 " (%.0f pps, %.1f Mbit/s)  TX %" PRIu64
					" (%.0f pps, %.1f Mbit/s)  lost %" PRIu64 "  corrupt %"
					PRIu64 "  TX-dropped %" PRIu64 "\n", i, s.rx_packets,
					stats_rate(s.rx_packets - q->last.rx_packets, dt),
					stats_rate((s.rx_bytes - q->last.rx_bytes) * 8, dt) / 1e6,
					s.tx_packets,
					stats_rate(s.tx_packets - q->last.tx_packets, dt),
					stats_rate((s.tx_bytes - q->last.tx_bytes) * 8, dt) / 1e6,
					s.rx_lost, s.rx_corrupt, s.tx_dropped);
		q->last = s;
	}
	printf("  RX-packets: %-14" PRIu64 " RX-bytes: %-16" PRIu64 " RX-lost: %-8" PRIu64
			" RX-reordered: %-6" PRIu64 " RX-corrupt: %" PRIu64 "\n",
			tot.rx_packets, tot.rx_bytes, tot.rx_lost, tot.rx_reordered,
			tot.rx_corrupt);
	printf("  TX-packets: %-14" PRIu64 " TX-bytes: %-16" PRIu64 " TX-dropped: %-8" PRIu64
			"\n", tot.tx_packets, tot.tx_bytes, tot.tx_dropped);
	printf("  Throughput (since last show)\n");
	printf("  Rx-pps: %14.0f          Rx-bps: %16.0f\n", stats_rate(dtot.rx_packets, dt),
			stats_rate(dtot.rx_bytes * 8, dt));
	printf("  Tx-pps: %14.0f          Tx-bps: %16.0f\n", stats_rate(dtot.tx_packets, dt),
			stats_rate(dtot.tx_bytes * 8, dt));
	printf("  ################################################################"
			"############\n");
	fflush(stdout);
}

static void
stats_print_ep(FILE *f, const struct shmlink_ep_stats *e)
{
	int i;

	fprintf(f, "  endpoint:");
	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		fprintf(f, " %s %" PRIu64, shmlink_err_name((enum shmlink_err)i), e->err[i]);
	fprintf(f, "\n            rx_oversize %" PRIu64 " rx_runt %" PRIu64 " rx_trimmed %"
			PRIu64 " tx_oversize %" PRIu64 " signals %" PRIu64 "\n",
			e->rx_oversize, e->rx_runt, e->rx_trimmed, e->tx_oversize, e->signals);
}

static void
stats_print_q(FILE *f, const char *name, const struct peer_qstats *s, double secs)
{
	fprintf(f, "  %-6s RX %" PRIu64 " frames %" PRIu64 " bytes (%.0f pps, %.3f Gbit/s)"
			"  verified %" PRIu64 " foreign %" PRIu64 "\n", name, s->rx_packets,
			s->rx_bytes, stats_rate(s->rx_packets, secs),
			stats_rate(s->rx_bytes * 8, secs) / 1e9, s->rx_verified, s->rx_foreign);
	fprintf(f, "  %-6s    lost %" PRIu64 " reordered %" PRIu64 " corrupt %" PRIu64
			" sleeps %" PRIu64 "\n", "", s->rx_lost, s->rx_reordered, s->rx_corrupt,
			s->rx_sleeps);
	fprintf(f, "  %-6s TX %" PRIu64 " frames %" PRIu64 " bytes (%.0f pps, %.3f Gbit/s)"
			"  dropped %" PRIu64 " full %" PRIu64 " unreturned %" PRIu64 "\n", "",
			s->tx_packets, s->tx_bytes, stats_rate(s->tx_packets, secs),
			stats_rate(s->tx_bytes * 8, secs) / 1e9, s->tx_dropped, s->tx_full,
			s->tx_unreturned);
}

void
stats_print_summary(struct peer_ctx *ctx, FILE *f)
{
	const struct peer_opts *o = ctx->o;
	double secs = stats_active(ctx);
	struct shmlink_ep_stats e;
	struct peer_qstats t;
	uint16_t i;

	stats_total(ctx, &t, &e);
	fprintf(f, "\n  ============ " PEER_NAME " summary: %s, mode %s%s, %.3f s attached, "
			"%" PRIu64 " attach(es) ============\n", o->socket_path,
			opts_mode_name(o->mode), o->verify ? " --verify" : "", secs, ctx->attaches);
	for (i = 0; o->nb_qp > 1 && i < o->nb_qp; i++) {
		struct peer_qstats s;
		char name[16];

		stats_read(ctx->q[i], &s);
		snprintf(name, sizeof(name), "q%u", i);
		stats_print_q(f, name, &s, secs);
	}
	stats_print_q(f, "total", &t, secs);
	stats_print_ep(f, &e);
	fflush(f);
}

static void
stats_json_obj(FILE *f, const struct peer_qstats *s, const struct shmlink_ep_stats *e,
		double secs, const char *indent)
{
	int i;

#define STATS_JSON(name) fprintf(f, "%s\"" #name "\": %" PRIu64 ",\n", indent, s->name);
	STATS_FIELDS(STATS_JSON)
#undef STATS_JSON
	fprintf(f, "%s\"rx_pps\": %.1f,\n%s\"tx_pps\": %.1f,\n%s\"duration\": %.6f,\n",
			indent, stats_rate(s->rx_packets, secs), indent,
			stats_rate(s->tx_packets, secs), indent, secs);
	fprintf(f, "%s\"endpoint\": {", indent);
	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		fprintf(f, "\"%s\": %" PRIu64 ", ", shmlink_err_name((enum shmlink_err)i),
				e->err[i]);
	fprintf(f, "\"rx_oversize\": %" PRIu64 ", \"rx_runt\": %" PRIu64 ", \"rx_trimmed\": %"
			PRIu64 ", \"tx_oversize\": %" PRIu64 ", \"signals\": %" PRIu64 "}\n",
			e->rx_oversize, e->rx_runt, e->rx_trimmed, e->tx_oversize, e->signals);
}

/* A JSON string of a path: quotes, backslashes and control bytes escaped. */
static void
stats_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int
stats_write_json(struct peer_ctx *ctx, const char *path)
{
	const struct peer_opts *o = ctx->o;
	double secs = stats_active(ctx);
	struct shmlink_ep_stats e;
	struct peer_qstats t;
	FILE *f = fopen(path, "w");
	uint16_t i;
	bool bad;

	if (f == NULL) {
		peer_log("--json %s: %s", path, strerror(errno));
		return -1;
	}
	stats_total(ctx, &t, &e);
	fprintf(f, "{\n  \"program\": \"" PEER_NAME "\",\n  \"socket\": ");
	stats_json_str(f, o->socket_path);
	fprintf(f, ",\n  \"mode\": \"%s\",\n  \"verify\": %s,\n  \"listen\": %s,\n"
			"  \"role\": %s,\n  \"framing\": \"%s\",\n  \"virtio_hdr\": %s,\n"
			"  \"queues\": %u,\n  \"burst\": %u,\n  \"attaches\": %" PRIu64 ",\n"
			"  \"duration\": %.6f,\n",
			opts_mode_name(o->mode), o->verify ? "true" : "false",
			o->listen ? "true" : "false", ctx->attaches == 0 ? "null" :
			ctx->role == SHMLINK_ROLE_SERVER ? "\"server\"" : "\"client\"",
			o->raw_ip ? "ip" : "eth", o->virtio_hdr ? "true" : "false", o->nb_qp,
			o->burst, ctx->attaches, secs);
	fprintf(f, "  \"total\": {\n");
	stats_json_obj(f, &t, &e, secs, "    ");
	fprintf(f, "  },\n  \"per_queue\": [\n");
	for (i = 0; i < o->nb_qp; i++) {
		struct peer_qstats s;

		stats_read(ctx->q[i], &s);
		fprintf(f, "    {\n      \"queue\": %u,\n", i);
		stats_json_obj(f, &s, &ctx->q[i]->ep_saved, secs, "      ");
		fprintf(f, "    }%s\n", i + 1 < o->nb_qp ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad) {
		peer_log("--json %s: write failed", path);
		return -1;
	}
	return 0;
}
