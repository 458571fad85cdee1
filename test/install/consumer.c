/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/* A program that knows libshmlink only through its installed header and pkg-config. */
#include <stdio.h>
#include <string.h>
#include <shmlink.h>

int
main(void)
{
	int txf[SHMLINK_QFD_COUNT], rxf[SHMLINK_QFD_COUNT];
	struct shmlink_qmap tq[2], rq[2];
	struct shmlink_ep_conf conf = { 0 };
	char msg[] = "hello, sandbox", out[64] = "";
	struct shmlink_seg seg = { msg, sizeof(msg) }, segs[8];
	struct shmlink_frame f = { &seg, 1, sizeof(msg) }, got;
	struct shmlink_ep *c, *s;

	if (shmlink_qfile_create(NULL, txf) || shmlink_qfile_create(NULL, rxf) ||
	    shmlink_qmap_map(&tq[0], txf, 2048, NULL) || shmlink_qmap_map(&rq[0], rxf, 2048, NULL) ||
	    shmlink_qmap_map(&tq[1], txf, 2048, NULL) || shmlink_qmap_map(&rq[1], rxf, 2048, NULL))
		return 1;
	c = shmlink_ep_create(SHMLINK_ROLE_CLIENT, &tq[0], &rq[0], &conf);
	s = shmlink_ep_create(SHMLINK_ROLE_SERVER, &tq[1], &rq[1], &conf);
	if (c == NULL || s == NULL || shmlink_ep_tx_burst(c, &f, 1) != 1 ||
	    shmlink_ep_rx_burst(s, &got, 1, segs, 8) != 1 || got.len != sizeof(msg))
		return 1;
	memcpy(out, got.segs[0].addr, got.segs[0].len);
	printf("server received: %s\n", out);
	return strcmp(out, msg) != 0;
}
