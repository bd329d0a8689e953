/*
 * fuzz_shopify.c - Shopify's webhook payloads, as the listener will hand
 * them over: an input is a topic name, a newline and the body (one that
 * names no topic picks one by its first byte).  The body is checked
 * against an HMAC, parsed for its topic and, if accepted, applied to a
 * real store twice under one delivery id.
 *
 * Beyond crashes, leaks and reads past the body: a refusal says why and
 * names the topic; an accepted payload holds only what the store can
 * take (a normalised email or none, line numbers in order, bounded
 * counts); the store takes it (a store error on a payload the parser
 * accepted is a bug); and the second delivery of the same id is a
 * duplicate that changes nothing.
 *
 * The store is made once per process (tests/fuzz/fstore.h: a file in a
 * directory removed at exit, or a schema on PostgreSQL); each input gets
 * delivery ids of its own.  libFuzzer entry point; see
 * fuzz_render.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "feedback_shopify.h"
#include "fstore.h"
#include "segment.h"
#include "store_feedback.h"

#define NOW	((int64_t)1794324600)

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], db_path[512];
static struct store *st;
static struct conf *cf;		/* the segment rules */
static unsigned long inputs;

static void
cleanup(void)
{
	store_close(st);
	conf_free(cf);
	fstore_remove(db_path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct segment_rebuild_stats stats;
	char err[512];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/segm-fuzz-shopify-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	fstore_name(dir, db_path, sizeof(db_path));
	cf = conf_defaults();
	/* segments published: each delivery refreshes its customer's */
	if (store_open(db_path, STORE_CREATE, 5000, &st, err,
	    sizeof(err)) == -1 || segment_rebuild(st, cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_shopify: %s\n", err);
		exit(1);
	}
	return 0;
}

/* What an accepted payload may hold. */
static void
check_payload(const struct feedback_shopify *p)
{
	size_t i;

	if (p->w.email != NULL && (strchr(p->w.email, '@') == NULL ||
	    strlen(p->w.email) > PARSE_EMAIL_MAX))
		abort();
	if (p->w.nlines > FEEDBACK_SHOPIFY_ITEMS_MAX ||
	    p->w.nrefunds > FEEDBACK_SHOPIFY_ITEMS_MAX ||
	    p->w.nevents > FEEDBACK_SHOPIFY_ITEMS_MAX + 1 || p->w.nconsent > 2)
		abort();
	for (i = 0; i < p->w.nlines; i++)
		if (p->w.lines[i].line_no != (int64_t)i + 1 ||
		    p->w.lines[i].quantity < 0)
			abort();
	if (p->w.order != NULL && (p->w.order->ref == NULL ||
	    p->w.order->financial_status == NULL))
		abort();
	for (i = 0; i < p->subject.norders; i++)
		if (p->subject.orders[i] == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feedback_shopify_delivery d;
	struct feedback_shopify *p;
	enum feedback_shopify_topic topic;
	enum store_webhook_result res;
	enum store_change ch;
	const uint8_t *nl;
	char name[64], id[64], err[1024];
	size_t n;
	int rc;

	nl = memchr(data, '\n', size < sizeof(name) ? size : sizeof(name));
	n = nl != NULL ? (size_t)(nl - data) : 0;
	memcpy(name, data, n);
	name[n] = '\0';
	if (nl != NULL && feedback_shopify_topic_parse(name, &topic) == 0) {
		size -= n + 1;
		data = nl + 1;
	} else
		topic = (enum feedback_shopify_topic)(size > 0 ?
		    data[0] % SHOPIFY_TOPIC_COUNT : 0);

	/* the body's HMAC under one secret never passes under another */
	if (feedback_shopify_valid("shpss_fuzz", data, size,
	    "jMENZ4WhiGEMlXqsrXishpMuuglCL21RAroNvVioNbQ=") == 1)
		abort();

	snprintf(id, sizeof(id), "fuzz-%lu", ++inputs);
	memset(&d, 0, sizeof(d));
	d.webhook_id = id;
	d.received_at = NOW;
	err[0] = '\0';
	if (feedback_shopify_parse(topic, data, size, &d, &p, err,
	    sizeof(err)) == -1) {
		if (p != NULL || strncmp(err, feedback_shopify_topic_name(topic),
		    strlen(feedback_shopify_topic_name(topic))) != 0)
			abort();
		return 0;
	}
	check_payload(p);
	rc = feedback_shopify_apply(st, p, &cf->seg, NOW, &res, &ch, err,
	    sizeof(err));
	if (rc == -1) {
		fprintf(stderr, "fuzz_shopify: %s\n", err);
		abort();
	}
	if (rc == 0) {
		if (feedback_shopify_apply(st, p, &cf->seg, NOW, &res, &ch,
		    err, sizeof(err)) != 0 || res != STORE_WEBHOOK_DUPLICATE ||
		    ch != STORE_UNCHANGED)
			abort();
	}
	feedback_shopify_free(p);
	return 0;
}
