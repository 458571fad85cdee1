/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * bench_idle's memif side, in two helper processes so that each process holds at most
 * RTE_MAX_ETHPORTS ports: one holds the memif servers, the other the memif clients the
 * benchmark polls. The parent drives each over a socket pair, the helper's fd 3 (EAL
 * logs to stdout), a line per command:
 *   up N SEQ   create N ports on the socket DIR/mSEQ (clients: and wait for link)
 *   poll MS    (clients) poll them all for MS ms; answers "NS BUSY"
 *   down       remove them
 * Every command is answered with "ok", a value, or "err".
 */

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "bench_idle.h"
#include "bench_pin.h"

struct idle_memif {
	bool client;
	const char *dir;
	unsigned int n;
	uint16_t port[IDLE_MAX_PORTS];
	struct rte_mempool *mp;
};

static int
idle_memif_up(struct idle_memif *h, unsigned int n, unsigned int seq)
{
	char args[256], name[32];
	unsigned int i;

	if (n > IDLE_MAX_PORTS)
		return -1;
	for (h->n = 0; h->n < n; h->n++) {
		i = h->n;
		snprintf(name, sizeof(name), "net_memif%u", i);
		snprintf(args, sizeof(args), "%s,role=%s,id=%u,socket=%s/m%u", name,
				h->client ? "client" : "server", i, h->dir, seq);
		if (idle_probe(args, name, &h->port[i], h->mp) != 0)
			return -1;
	}
	return h->client && !idle_links_up(h->port, n) ? -1 : 0;
}

static void
idle_memif_down(struct idle_memif *h)
{
	while (h->n > 0)
		idle_remove(h->port[--h->n]);
}

/* Answer one command line; false on a line it does not know. */
static bool
idle_memif_serve(struct idle_memif *h, const char *line, FILE *out)
{
	unsigned int a, b;
	bool busy = false;

	if (sscanf(line, "up %u %u", &a, &b) == 2) {
		fprintf(out, "%s\n", idle_memif_up(h, a, b) == 0 ? "ok" : "err");
	} else if (sscanf(line, "poll %u", &a) == 1 && h->client && h->n > 0) {
		double ns = idle_poll_ns(h->port, h->n, a, &busy);

		fprintf(out, "%.4f %d\n", ns, busy);
	} else if (strcmp(line, "down\n") == 0) {
		idle_memif_down(h);
		fprintf(out, "ok\n");
	} else {
		return false;
	}
	fflush(out);
	return true;
}

/* bench_idle --memif-helper ROLE DIR CPU: commands and answers on fd 3. */
int
idle_helper_main(int argc, char **argv)
{
	struct idle_memif h = { 0 };
	char prefix[64], line[128];
	FILE *in, *out;

	if (argc != 5)
		return 2;
	h.client = strcmp(argv[2], "client") == 0;
	h.dir = argv[3];
	in = fdopen(3, "r");
	out = fdopen(dup(3), "w");
	/* The parent removes what starts with its prefix. */
	snprintf(prefix, sizeof(prefix), "shmlink-idle-%d-%s", getppid(), argv[2]);
	if (in == NULL || out == NULL || idle_eal_init(prefix, NULL) != 0)
		return 1;
	h.mp = rte_pktmbuf_pool_create("idle", IDLE_POOL_MBUFS, 0, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (h.mp == NULL || (h.client && bench_pin(atoi(argv[4])) != 0))
		return 1;
	while (fgets(line, sizeof(line), in) != NULL)
		if (!idle_memif_serve(&h, line, out))
			break;
	idle_memif_down(&h);
	rte_mempool_free(h.mp);
	rte_eal_cleanup();
	return 0;
}

/* Start a helper: @self re-executed with --memif-helper, talking over a socket pair. */
int
idle_helper_start(struct idle_helper *h, const char *self, const char *role,
		const char *dir, int cpu)
{
	char cpus[16];
	int sv[2];

	snprintf(cpus, sizeof(cpus), "%d", cpu);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	h->pid = fork();
	if (h->pid == 0) {
		/* fd 3 without close-on-exec, whether or not it already is sv[1] */
		if (sv[1] == 3 ? fcntl(3, F_SETFD, 0) != 0 : dup2(sv[1], 3) < 0)
			_exit(127);
		execl(self, self, "--memif-helper", role, dir, cpus, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (h->pid < 0) {
		close(sv[0]);
		return -1;
	}
	h->to = fdopen(sv[0], "w");
	h->from = h->to != NULL ? fdopen(fcntl(sv[0], F_DUPFD_CLOEXEC, 0), "r") : NULL;
	if (h->from == NULL) {
		idle_helper_stop(h);
		return -1;
	}
	return 0;
}

/* Send @cmd; its answer "ok" (0), or a value and a busy flag (if @value). */
int
idle_helper_ask(struct idle_helper *h, const char *cmd, double *value, bool *busy)
{
	char line[128];
	int b = 0;

	if (fprintf(h->to, "%s\n", cmd) < 0 || fflush(h->to) != 0 ||
			fgets(line, sizeof(line), h->from) == NULL)
		return -1;
	if (value == NULL)
		return strcmp(line, "ok\n") == 0 ? 0 : -1;
	if (sscanf(line, "%lf %d", value, &b) != 2)
		return -1;
	*busy = *busy || b != 0;
	return 0;
}

/* Close its commands (it cleans up and exits) and reap it; killed after 10 s. */
void
idle_helper_stop(struct idle_helper *h)
{
	int st, i;

	if (h->to != NULL)
		fclose(h->to);
	if (h->from != NULL)
		fclose(h->from);
	h->to = h->from = NULL;
	for (i = 0; h->pid > 0 && i < 1000 && waitpid(h->pid, &st, WNOHANG) == 0; i++)
		usleep(10000);
	if (h->pid > 0 && i == 1000) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, &st, 0);
	}
	h->pid = 0;
}
