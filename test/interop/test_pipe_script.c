/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Pipe golden vectors and differential scripts (spec §3.6, §9.1).
 *
 * The same scripts of pipe operations run on gVisor's pipe.Tx / pipe.Rx (the Go
 * peer "pipepeer script") and on shmlink_pipe_tx / shmlink_pipe_rx. After every
 * step both rings must be identical byte for byte, and every push and pull must
 * return the same slot. Sequences A and B of spec §3.6 are checked in addition
 * against the header values the spec lists, on both sides. Then many random
 * scripts on rings of random sizes (also ones that are not a multiple of 8) cover
 * wraps, full rings, aborts and batching far beyond the two sequences.
 *
 * Usage: test_pipe_script PIPEPEER [SEED]
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <shmlink_pipe.h>

#include "interop_common.h"

#define NB_RANDOM_SCRIPTS	200
#define STEPS_PER_SCRIPT	250

/* The script text that both sides run. */
struct script {
	char *text;
	size_t len;
	size_t cap;
	unsigned int steps;
};

static void
script_add(struct script *s, const char *cmd, uint64_t arg, bool has_arg)
{
	char line[64];
	int n = has_arg ? snprintf(line, sizeof(line), "%s %" PRIu64 "\n", cmd, arg) :
			snprintf(line, sizeof(line), "%s\n", cmd);

	if (s->len + (size_t)n + 1 > s->cap) {
		s->cap = (s->cap + (size_t)n + 1) * 2;
		s->text = realloc(s->text, s->cap);
		if (s->text == NULL)
			interop_fail("out of memory");
	}
	memcpy(s->text + s->len, line, (size_t)n + 1);
	s->len += (size_t)n;
	s->steps++;
}

/* One expected header of a golden step: the u64 at @c off after step @c step. */
struct golden {
	unsigned int step;	/* relative to the sequence's "ring" step */
	unsigned int off;
	uint64_t value;
	const char *result;	/* expected result of the step, or NULL */
};

#define FREE SHMLINK_PIPE_SLOT_FREE

/* Spec §3.6 sequence A on a fresh 128-byte ring. */
static const char *const seq_a[] = {
	"ring 128", "tinit", "rinit", "push 20", "tflush", "push 30", "push 10", "tflush",
	"pull", "rflush", "pull", "pull", "rflush", "push 30", "tflush", "pull", "rflush",
};
static const struct golden gold_a[] = {
	{ 1, 0, FREE, "ok" },
	{ 3, 0, FREE, "off=8,len=20" },		/* header held back */
	{ 3, 32, 0, NULL },
	{ 4, 32, FREE, NULL },			/* free marker at next */
	{ 4, 0, 0x14, NULL },			/* published */
	{ 5, 0, 0x14, "off=40,len=30" },
	{ 6, 72, 0x0a, "off=80,len=10" },	/* written at once: not the first */
	{ 6, 32, FREE, NULL },			/* the first is held back */
	{ 7, 96, FREE, NULL },
	{ 7, 32, 0x1e, NULL },
	{ 8, 0, 0x14, "off=8,len=20" },
	{ 9, 0, FREE | 0x18, NULL },		/* reader released 32 bytes */
	{ 10, 0, FREE | 0x18, "off=40,len=30" },
	{ 11, 0, FREE | 0x18, "off=80,len=10" },
	{ 12, 32, FREE | 0x38, NULL },		/* reader released 64 bytes */
	{ 13, 96, 0xffffff98, "off=8,len=30" },	/* wrap published alone: 2^32-based size */
	{ 13, 0, FREE | 0x18, NULL },		/* new slot at 0 held back */
	{ 14, 40, FREE, NULL },
	{ 14, 0, 0x1e, NULL },
	{ 15, 96, FREE | 0xffffff98, "off=8,len=30" },	/* implicit release of the wrap */
	{ 16, 0, FREE | 0x20, NULL },
};

/* Spec §3.6 sequence B on a fresh 128-byte ring. */
static const char *const seq_b[] = {
	"ring 128", "tinit", "rinit", "push 72", "tflush", "pull", "rflush",
	"push 16", "push 16", "tflush", "pull", "pull", "rflush",
};
static const struct golden gold_b[] = {
	{ 3, 0, FREE, "off=8,len=72" },
	{ 5, 0, 0x48, "off=8,len=72" },
	{ 6, 0, FREE | 0x48, NULL },
	{ 6, 80, FREE, NULL },
	{ 7, 80, FREE, "off=88,len=16" },	/* held back */
	{ 8, 104, 0xffffff90, "off=8,len=16" },	/* wrap written in place ("ahead") */
	{ 8, 0, 0x10, NULL },
	{ 9, 24, FREE, NULL },
	{ 9, 80, 0x10, NULL },
	{ 10, 80, 0x10, "off=88,len=16" },
	{ 11, 104, 0xffffff90, "off=8,len=16" },	/* no implicit release: tail != head */
	{ 12, 80, FREE | 0xffffffc0, NULL },	/* freed region spanning the wrap */
};

/* The C side of the script: one ring, one writer, one reader, in one thread. */
struct sim {
	uint8_t *buf;
	size_t size;
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
};

static void
hex_append(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
where(char *res, size_t len, const struct sim *s, const void *p, uint32_t n)
{
	if (p == NULL)
		snprintf(res, len, "nil");
	else
		snprintf(res, len, "off=%td,len=%u", (const uint8_t *)p - s->buf, n);
}

/* Run one script line on the C pipe; write the line the Go peer prints for it. */
static void
sim_step(struct sim *s, unsigned int step, const char *line, char *out)
{
	char cmd[16], res[64] = "ok";
	unsigned long long arg = 0;
	const void *p;
	uint32_t n, i;

	if (sscanf(line, "%15s %llu", cmd, &arg) < 1)
		interop_fail("step %u: bad script line %s", step, line);
	if (strcmp(cmd, "ring") == 0) {
		if (arg < SHMLINK_PIPE_MIN_SIZE || arg > 4096)
			interop_fail("step %u: ring size %llu out of the tested range", step, arg);
		free(s->buf);
		s->size = arg;
		s->buf = aligned_alloc(8, (arg + 7) & ~7ULL);
		if (s->buf == NULL)
			interop_fail("out of memory");
		memset(s->buf, 0, (arg + 7) & ~7ULL);
		memcpy(s->buf, &(uint64_t){ SHMLINK_PIPE_SLOT_FREE }, 8);
	} else if (strcmp(cmd, "tinit") == 0) {
		if (shmlink_pipe_tx_init(&s->tx, s->buf, s->size) != 0)
			interop_fail("step %u: shmlink_pipe_tx_init(%zu) failed", step, s->size);
	} else if (strcmp(cmd, "rinit") == 0) {
		if (shmlink_pipe_rx_init(&s->rx, s->buf, s->size) != 0)
			interop_fail("step %u: shmlink_pipe_rx_init(%zu) failed", step, s->size);
	} else if (strcmp(cmd, "push") == 0 || strcmp(cmd, "pushw") == 0) {
		uint8_t *w = shmlink_pipe_tx_push(&s->tx, (uint32_t)arg);

		if (w != NULL && cmd[4] == 'w')
			for (i = 0; i < arg; i++)
				w[i] = (uint8_t)(step + 13 * i);
		where(res, sizeof(res), s, w, (uint32_t)arg);
	} else if (strcmp(cmd, "tflush") == 0) {
		shmlink_pipe_tx_flush(&s->tx);
	} else if (strcmp(cmd, "tabort") == 0) {
		shmlink_pipe_tx_abort(&s->tx);
	} else if (strcmp(cmd, "pull") == 0) {
		p = shmlink_pipe_rx_pull(&s->rx, &n);
		where(res, sizeof(res), s, p, n);
	} else if (strcmp(cmd, "rflush") == 0) {
		shmlink_pipe_rx_flush(&s->rx);
	} else if (strcmp(cmd, "rabort") == 0) {
		shmlink_pipe_rx_abort(&s->rx);
	} else {
		interop_fail("step %u: unknown command %s", step, cmd);
	}
	out += sprintf(out, "%u %s -> %s ", step, line, res);
	hex_append(out, s->buf, s->size);
}

/* Decode the ring hex at the end of a result line. */
static size_t
line_ring(const char *line, uint8_t *ring, size_t max)
{
	const char *h = strrchr(line, ' ');
	size_t n = 0;

	if (h == NULL)
		return 0;
	for (h++; h[0] != '\0' && h[1] != '\0' && n < max; h += 2) {
		unsigned int v;

		if (sscanf(h, "%2x", &v) != 1)
			break;
		ring[n++] = (uint8_t)v;
	}
	return n;
}

static uint64_t
ring_u64(const uint8_t *ring, size_t len, unsigned int off)
{
	uint64_t v = 0;

	if (off + 8 <= len)
		memcpy(&v, ring + off, 8);
	return v;
}

/* "[off]=value" for every non-zero 8-aligned u64: how the spec writes ring states. */
static void
print_headers(const char *who, const char *line)
{
	uint8_t ring[4096];
	size_t len = line_ring(line, ring, sizeof(ring)), off;

	printf("%s", who);
	for (off = 0; off + 8 <= len; off += 8) {
		uint64_t v = ring_u64(ring, len, (unsigned int)off);

		if (v != 0)
			printf(" [%zu]=%#" PRIx64, off, v);
	}
	printf("\n");
}

/* One step as "command -> result" and its headers. */
static void
print_step(const char *line)
{
	const char *cmd = strchr(line, ' ') + 1;
	const char *res_end = strchr(strstr(line, " -> ") + 4, ' ');
	char head[64];

	snprintf(head, sizeof(head), "  %-.*s", (int)(res_end - cmd), cmd);
	printf("%-32s", head);
	print_headers("", line);
}

static void
check_golden(const char *name, const struct golden *g, size_t ng, unsigned int first,
		char **lines, const char *who)
{
	size_t i;

	for (i = 0; i < ng; i++) {
		const char *line = lines[first + g[i].step];
		uint8_t ring[256];
		size_t len = line_ring(line, ring, sizeof(ring));
		uint64_t v = ring_u64(ring, len, g[i].off);
		char res[64];

		if (v != g[i].value)
			interop_fail("%s, %s: after step %u, [%u] = %#" PRIx64 ", spec says %#"
					PRIx64 "\n  %s", who, name, g[i].step, g[i].off, v,
					g[i].value, line);
		if (g[i].result != NULL) {
			snprintf(res, sizeof(res), "-> %s ", g[i].result);
			if (strstr(line, res) == NULL)
				interop_fail("%s, %s: step %u should return %s:\n  %s", who, name,
						g[i].step, g[i].result, line);
		}
	}
	printf("%s: %s matches spec §3.6 (%zu header checks)\n", who, name, ng);
}

static void
add_random_script(struct script *s, struct irng *r)
{
	uint64_t size = 24 + irng_below(r, 300), max = (size & ~7ULL) - 16;
	unsigned int i;

	script_add(s, "ring", size, true);
	script_add(s, "tinit", 0, false);
	script_add(s, "rinit", 0, false);
	for (i = 0; i < STEPS_PER_SCRIPT; i++) {
		uint64_t op = irng_below(r, 100), n;

		/* Mostly sizes that fit; one in four up to just past the maximum. */
		if (irng_below(r, 4) == 0)
			n = irng_below(r, max + 9);
		else
			n = irng_below(r, (max < 32 ? max : 32) + 1);
		if (op < 30)
			script_add(s, "push", n, true);
		else if (op < 42)
			script_add(s, "pushw", n, true);
		else if (op < 57)
			script_add(s, "tflush", 0, false);
		else if (op < 60)
			script_add(s, "tabort", 0, false);
		else if (op < 85)
			script_add(s, "pull", 0, false);
		else if (op < 97)
			script_add(s, "rflush", 0, false);
		else
			script_add(s, "rabort", 0, false);
	}
}

/* Run the script through the Go peer; return its output split into lines. */
static char **
run_go(const char *pipepeer, const struct script *s, unsigned int *nlines, char **textp)
{
	char *argv[] = { (char *)pipepeer, "script", NULL };
	int in = memfd_create("script-in", MFD_CLOEXEC);
	int out = memfd_create("script-out", MFD_CLOEXEC);
	char **lines, *text, *save = NULL, *l;
	off_t size;
	int rc;

	if (in < 0 || out < 0)
		interop_fail("memfd_create: %s", strerror(errno));
	if (write(in, s->text, s->len) != (ssize_t)s->len || lseek(in, 0, SEEK_SET) != 0)
		interop_fail("writing the script: %s", strerror(errno));
	interop_spawn(argv, NULL, 0, in, out);
	rc = interop_wait_peer(60000);
	if (rc != 0)
		interop_fail("pipepeer script exited with %d", rc);
	size = lseek(out, 0, SEEK_END);
	text = malloc((size_t)size + 1);
	lines = calloc(s->steps + 1, sizeof(*lines));
	if (text == NULL || lines == NULL)
		interop_fail("out of memory");
	if (pread(out, text, (size_t)size, 0) != size)
		interop_fail("reading the Go output: %s", strerror(errno));
	text[size] = '\0';
	*nlines = 0;
	for (l = strtok_r(text, "\n", &save); l != NULL && *nlines <= s->steps;
			l = strtok_r(NULL, "\n", &save))
		lines[(*nlines)++] = l;
	close(in);
	close(out);
	*textp = text;
	return lines;
}

int
main(int argc, char **argv)
{
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 20261125;
	struct script s = { 0 };
	struct irng r = { .s = seed };
	struct sim sim = { 0 };
	unsigned int i, nlines, step;
	char **go_lines, **c_lines;
	char *text, *go_text, *save = NULL, *cmd;
	size_t maxline = 0;

	interop_watchdog("test_pipe_script", 120);
	if (argc < 2) {
		fprintf(stderr, "usage: %s PIPEPEER [SEED]\n", argv[0]);
		return 2;
	}
	for (i = 0; i < sizeof(seq_a) / sizeof(seq_a[0]); i++)
		script_add(&s, seq_a[i], 0, false);
	for (i = 0; i < sizeof(seq_b) / sizeof(seq_b[0]); i++)
		script_add(&s, seq_b[i], 0, false);
	for (i = 0; i < NB_RANDOM_SCRIPTS; i++)
		add_random_script(&s, &r);
	printf("running %u pipe steps (spec §3.6 A and B, then %u random scripts, seed %"
			PRIu64 ") on gVisor's pipe and on shmlink_pipe\n", s.steps,
			NB_RANDOM_SCRIPTS, seed);

	go_lines = run_go(argv[1], &s, &nlines, &go_text);
	if (nlines != s.steps)
		interop_fail("gVisor side answered %u of %u steps", nlines, s.steps);

	/* Same script on our pipe; each line must equal gVisor's. */
	c_lines = calloc(s.steps, sizeof(*c_lines));
	text = strdup(s.text);
	for (i = 0; i < s.steps; i++)
		if (strlen(go_lines[i]) > maxline)
			maxline = strlen(go_lines[i]);
	if (c_lines == NULL || text == NULL)
		interop_fail("out of memory");
	for (step = 0, cmd = strtok_r(text, "\n", &save); cmd != NULL;
			step++, cmd = strtok_r(NULL, "\n", &save)) {
		c_lines[step] = malloc(maxline + 64);
		if (c_lines[step] == NULL)
			interop_fail("out of memory");
		sim_step(&sim, step, cmd, c_lines[step]);
		if (strcmp(c_lines[step], go_lines[step]) != 0) {
			unsigned int from = step, j;

			/* Replay the script from its "ring" step, as gVisor answered it. */
			while (from > 0 && strstr(go_lines[from], " ring ") == NULL)
				from--;
			fprintf(stderr, "step %u (%s): shmlink differs from gVisor; the script "
					"so far, with gVisor's results:\n", step, cmd);
			for (j = from; j < step; j++) {
				const char *res = strstr(go_lines[j], " -> ") + 4;

				fprintf(stderr, "  %.*s\n", (int)(strchr(res, ' ') - go_lines[j]),
						go_lines[j]);
			}
			fprintf(stderr, "  gVisor:  %s\n  shmlink: %s\n", go_lines[step],
					c_lines[step]);
			print_headers("  gVisor: ", go_lines[step]);
			print_headers("  shmlink:", c_lines[step]);
			interop_fail("shmlink_pipe and gVisor's pipe disagree at step %u", step);
		}
	}

	/* Print the golden sequences as the spec writes them, then check them. */
	printf("spec §3.6 sequence A on gVisor's pipe: step, result, non-zero u64 after it\n");
	for (i = 0; i < sizeof(seq_a) / sizeof(seq_a[0]); i++)
		print_step(go_lines[i]);
	printf("spec §3.6 sequence B on gVisor's pipe\n");
	for (i = 0; i < sizeof(seq_b) / sizeof(seq_b[0]); i++)
		print_step(go_lines[sizeof(seq_a) / sizeof(seq_a[0]) + i]);
	check_golden("sequence A", gold_a, sizeof(gold_a) / sizeof(gold_a[0]), 0, go_lines,
			"gVisor");
	check_golden("sequence A", gold_a, sizeof(gold_a) / sizeof(gold_a[0]), 0, c_lines,
			"shmlink");
	check_golden("sequence B", gold_b, sizeof(gold_b) / sizeof(gold_b[0]),
			sizeof(seq_a) / sizeof(seq_a[0]), go_lines, "gVisor");
	check_golden("sequence B", gold_b, sizeof(gold_b) / sizeof(gold_b[0]),
			sizeof(seq_a) / sizeof(seq_a[0]), c_lines, "shmlink");
	printf("PASS: %u steps, rings identical byte for byte after every step\n", s.steps);

	for (i = 0; i < s.steps; i++)
		free(c_lines[i]);
	free(c_lines);
	free(go_text);
	free(go_lines);
	free(text);
	free(s.text);
	free(sim.buf);
	return 0;
}
