/*
 * msgbench.c - segmilter's own cost per message, without an MTA: the
 * end-of-message work (lookups, policy, rendering, ledger and audit
 * commit) on a real store, with the smfi_* calls counted, not sent.
 *
 *   msgbench CONF MESSAGE.eml MESSAGES RCPTS [CUSTOMERS]
 *
 * Recipients are NNNbench@example.com, numbered on across messages, as
 * smtp-source -N numbers them: each message's recipients are neighbours
 * in the store, and so are the ledger pages they write.  With CUSTOMERS,
 * the numbers are spread over 1..CUSTOMERS in a fixed shuffled order
 * instead, each once, as a real list's recipients fall.  Prints
 * microseconds per message and per recipient, CPU time included, and on
 * a PostgreSQL store the round trips a message takes.  MSGBENCH_FIRST
 * (default 0) is where the numbering starts: relays of a fleet run side
 * by side on ranges of their own.  MSGBENCH_NOW (default the clock) is
 * the time the messages are sent at: a store's history made in the past.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "milter.h"
#include "render.h"

static int
ops_nop(void *ctx, const char *rcpt)
{
	(void)ctx;
	(void)rcpt;
	return 0;
}

static int
ops_chg(void *ctx, const char *name, int index, const char *value)
{
	(void)ctx;
	(void)name;
	(void)index;
	(void)value;
	return 0;
}

static int
ops_chg_add(void *ctx, const char *name, const char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return 0;
}

static int
ops_body(void *ctx, const unsigned char *p, size_t len)
{
	(void)p;
	*(size_t *)ctx += len;
	return 0;
}

static int
ops_reply(void *ctx, const char *a, const char *b, const char *c)
{
	(void)ctx;
	fprintf(stderr, "msgbench: reply %s %s %s\n", a, b, c);
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * The SEQth number (from 1) of a fixed shuffle of 1..N: SEQ times a
 * multiplier modulo a prime above N is a permutation of 1..prime-1, and
 * the values over N are skipped by walking on (each SEQ <= N still gets
 * its own value).  A multiplier near 0.618 times the prime puts any two
 * neighbouring SEQs far apart.
 */
static long
shuffled(long seq, long n)
{
	static long prime, mult;
	long p, d, v;

	if (prime <= n) {
		for (p = n + 1;; p++) {
			for (d = 2; d * d <= p && p % d != 0; d++)
				;
			if (d * d > p)
				break;
		}
		prime = p;
		mult = (long)((double)p * 0.6180339887);
		if (mult < 1)
			mult = 1;
	}
	v = seq;
	do
		v = (long)((long long)v * mult % prime);
	while (v > n);
	return v;
}

int
main(int argc, char **argv)
{
	struct daemon_gen *g;
	struct milter_ops ops;
	struct milter_msg *m;
	struct store *st;
	struct buf text;
	char err[8192], rcpt[64], *body, *line, *colon;
	size_t replaced = 0;
	long messages, rcpts, customers = 0, i, j, seq = 0;
	uint64_t trips;
	int64_t sent_at = 0;
	double t0, c0, wall, cpu;
	FILE *fp;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: msgbench CONF MESSAGE MESSAGES RCPTS"
		    " [CUSTOMERS]\n");
		return 64;
	}
	messages = atol(argv[3]);
	rcpts = atol(argv[4]);
	if (argc == 6 && (customers = atol(argv[5])) < messages * rcpts) {
		fprintf(stderr, "msgbench: %ld customers for %ld recipients\n",
		    customers, messages * rcpts);
		return 64;
	}
	if (getenv("MSGBENCH_FIRST") != NULL)
		seq = atol(getenv("MSGBENCH_FIRST"));
	if (getenv("MSGBENCH_NOW") != NULL)
		sent_at = atoll(getenv("MSGBENCH_NOW"));
	render_init();
	daemon_log_open("msgbench", 1);
	if (daemon_gen_load(argv[1], &g, err, sizeof(err)) == -1 ||
	    store_open(g->conf->store_path, STORE_DAEMON, 5000, &st, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	buf_init(&text, 64 << 20);
	if ((fp = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	while ((i = (long)fread(err, 1, sizeof(err), fp)) > 0)
		buf_append(&text, err, (size_t)i);
	fclose(fp);
	body = strstr(text.data, "\n\n");
	*body = '\0';
	body += 2;
	ops.ctx = &replaced;
	ops.delrcpt = ops_nop;
	ops.chgheader = ops_chg;
	ops.replacebody = ops_body;
	ops.setreply = ops_reply;
	ops.addheader = ops_chg_add;
	ops.chgfrom = NULL;

	t0 = now_s();
	c0 = cpu_s();
	trips = store_round_trips(st);
	m = milter_msg_new();
	for (i = 0; i < messages; i++) {
		milter_msg_set_queue_id(m, "BENCH");
		milter_msg_sender(m, "<news@shop.example>");
		for (j = 0; j < rcpts; j++) {
			seq++;
			snprintf(rcpt, sizeof(rcpt), "<%ldbench@example.com>",
			    customers > 0 ? shuffled(seq, customers) : seq);
			milter_msg_rcpt(m, rcpt);
		}
		for (line = text.data; line != NULL && *line != '\0';) {
			char *nl = strchr(line, '\n');

			if (nl != NULL)
				*nl = '\0';
			colon = strchr(line, ':');
			*colon = '\0';
			milter_msg_header(m, &g->env, line, colon + 2);
			*colon = ':';
			if (nl != NULL)
				*nl = '\n';
			line = nl ? nl + 1 : NULL;
		}
		milter_msg_eoh(m, &g->env);
		milter_msg_body(m, (const unsigned char *)body, strlen(body));
		if (milter_msg_eom(m, &g->env, st,
		    sent_at > 0 ? sent_at : (int64_t)time(NULL), &ops) !=
		    MILTER_CONTINUE) {
			fprintf(stderr, "msgbench: message %ld not accepted\n",
			    i);
			return 1;
		}
		milter_msg_reset(m);
	}
	wall = now_s() - t0;
	cpu = cpu_s() - c0;
	printf("   segmilter alone, %ld rcpt%s%s: %8.0f us/message %6.0f"
	    " us/recipient (cpu %.0f us/message), %zu bytes replaced\n", rcpts,
	    rcpts == 1 ? "" : "s", customers > 0 ? ", spread" : "",
	    wall * 1e6 / (double)messages,
	    wall * 1e6 / (double)(messages * rcpts),
	    cpu * 1e6 / (double)messages, replaced);
	if (store_round_trips(st) > 0)
		printf("   round trips: %.1f a message\n",
		    (double)(store_round_trips(st) - trips) / (double)messages);
	milter_msg_free(m);
	store_close(st);
	daemon_gen_free(g);
	buf_free(&text);
	return 0;
}
