/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The endpoint tests' harness (endpoint_harness.c): links, pattern frames, flows.
 */

#ifndef SHMLINK_TEST_ENDPOINT_HARNESS_H
#define SHMLINK_TEST_ENDPOINT_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "shmlink.h"

/* The check counters are endpoint_harness.c's, for every file of the program. */
#define TEST_COMMON_EXTERN
#include "../common/test_common.h"

struct link {
	int txfds[SHMLINK_QFD_COUNT];
	int rxfds[SHMLINK_QFD_COUNT];
	struct shmlink_qmap c_txq;	/* the client's mappings */
	struct shmlink_qmap c_rxq;
	struct shmlink_qmap s_txq;	/* the server's mappings */
	struct shmlink_qmap s_rxq;
	struct shmlink_ep *client;	/* NULL when a fake client plays that side */
	struct shmlink_ep *server;	/* NULL when a fake server plays that side */
};

#define CHECK_CLIENT_QUIESCENT(ep) check_client_quiescent_at(__FILE__, __LINE__, (ep))

#define CHECK_STATS_CLEAN(ep, who) check_stats_clean_at(__FILE__, __LINE__, (ep), (who))

#define BURST_MAX	64u

#define RX_MAX		64u

#define SEGS_MAX	4096u

#define SRC_SEGS	6u

#define FRAME_ROOM	(9216u + 64u)

#define CHUNK		SHMLINK_DEFAULT_BUFFER_SIZE

struct src_frame {
	struct shmlink_seg segs[SRC_SEGS];
	struct shmlink_frame f;
	uint8_t mem[FRAME_ROOM];
};

#define FRAME_CHECK(f, exp, len, what, seq) \
	frame_check_at(__FILE__, __LINE__, (f), (exp), (len), (what), (seq))

enum seg_mode {
	SEG_SINGLE,
	SEG_MULTI,
	SEG_MIXED,	/* by sequence number */
};

struct flow {
	const char *name;
	struct shmlink_ep *tx;
	struct shmlink_ep *rx;
	uint32_t nb;				/* frames to send */
	uint32_t (*len_of)(uint32_t seq);	/* length given to tx_burst */
	enum seg_mode mode;
	unsigned int burst;			/* most frames per tx_burst (varies) */
	uint32_t zeros;				/* receiver sees this many zeros first */
	uint32_t skip;				/* and the frame without its first bytes */
	uint32_t tx_seq;			/* next to send */
	uint32_t rx_seq;			/* next expected */
	uint32_t nb_runts;			/* frames expected to be dropped as runts */
	uint32_t nb_calls;
};

extern struct src_frame src_pool[BURST_MAX];
extern uint8_t content_buf[FRAME_ROOM];
extern uint8_t expect_buf[FRAME_ROOM];
extern struct shmlink_frame rx_frames[RX_MAX];
extern struct shmlink_seg rx_segs[SEGS_MAX];
extern bool flow_evict;
extern const uint32_t sample_sizes[];
extern const unsigned int nb_sample_sizes;
extern const struct shmlink_ep_conf conf_default;

void put_le32(uint8_t *p, uint32_t v);
void put_le64(uint8_t *p, uint64_t v);
uint64_t get_le64(const uint8_t *p);
void link_close(struct link *l);
bool link_open(struct link *l, const struct shmlink_qfile_sizes *tx_sizes,
		const struct shmlink_qfile_sizes *rx_sizes,
		const struct shmlink_ep_conf *cconf, const struct shmlink_ep_conf *sconf);
void link_settle(struct link *l);
/* The end of a test that went well: settle the link, check that the client has every
 * buffer back and that neither side counted an error, close it. */
#define LINK_CLOSE_CLEAN(l) link_close_clean_at(__FILE__, __LINE__, (l))
void link_close_clean_at(const char *file, int line, struct link *l);
void check_client_quiescent_at(const char *file, int line, struct shmlink_ep *client);
void check_stats_clean_at(const char *file, int line, struct shmlink_ep *ep,
		const char *who);
struct shmlink_ep_stats stats_of(struct shmlink_ep *ep);
struct shmlink_ep_buffers buffers_of(struct shmlink_ep *ep);
void pattern_fill(uint8_t *dst, uint32_t seq, uint32_t len);
void src_build(struct src_frame *s, const uint8_t *content, uint32_t len, bool multi,
		uint32_t seed);
void src_pattern(struct src_frame *s, uint32_t seq, uint32_t len, bool multi);
bool frame_check_at(const char *file, int line, const struct shmlink_frame *f,
		const uint8_t *exp, uint32_t len, const char *what, uint32_t seq);
bool flow_multi(const struct flow *fl, uint32_t seq);
/* The next @n frames of @fl (from tx_seq), built in src_pool, into @frames. */
void flow_next_frames(const struct flow *fl, struct shmlink_frame *frames, unsigned int n);
void flow_check_frame(struct flow *fl, const struct shmlink_frame *f);
unsigned int flow_rx(struct flow *fl);
void run_flows(struct flow *fls, unsigned int n);
void flow_init(struct flow *fl, const char *name, struct shmlink_ep *tx,
		struct shmlink_ep *rx, uint32_t nb, uint32_t (*len_of)(uint32_t),
		enum seg_mode mode, unsigned int burst);
uint32_t len_seq_plus_one(uint32_t seq);
uint32_t len_sample(uint32_t seq);
uint32_t len_random(uint32_t seq);
void sample_flows_and_close(struct link *l, const char *what);
uint32_t chunks_for(uint32_t wire, uint32_t buf_size);
void send_seq_frames(struct shmlink_ep *ep, const uint32_t *lens, unsigned int n,
		uint32_t seq0, unsigned int *consumed);
unsigned int client_rx(struct link *l);
unsigned int server_rx(struct link *l);

/* One test of a test_ep_* program, and the main() they share: runs every test, or the
 * ones named on the command line, and prints a summary line for @suite. */
struct ep_test {
	const char *name;
	void (*fn)(void);
};

int ep_test_main(const char *suite, const struct ep_test *tests, unsigned int nb_tests,
		int argc, char **argv);

#endif /* SHMLINK_TEST_ENDPOINT_HARNESS_H */
