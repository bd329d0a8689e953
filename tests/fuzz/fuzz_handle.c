/*
 * fuzz_handle.c - segfeed's whole handling of a request (feedback_handle)
 * on whatever a client may send: the route and method, the query, the
 * headers (signatures, topics, content types), the body, through every
 * endpoint (one-click unsubscribe, Twilio, Kannel, Shopify), on a real
 * store made once per process (tests/fuzz/fstore.h: a file, or a schema
 * on PostgreSQL).  Beyond crashes and leaks: every answer
 * has a status between 200 and 599 and a terminated log line (its
 * controls are masked where it is logged, daemon_log); a head to log is
 * one.
 *
 * An input is a request, HTTP-like:
 *
 *   POST                          the method
 *   /twilio/sms?x=1               the target, query and all
 *   X-Twilio-Signature: abc       headers, up to a blank line
 *   Content-Type: application/x-www-form-urlencoded
 *
 *   From=%2B15550001111&Body=STOP the body, to the end of the input
 *
 * Signatures and tokens cannot be forged by the fuzzer (HMACs), so it
 * explores what segfeed does before and without them.  libFuzzer entry
 * point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "feedback.h"
#include "fstore.h"
#include "store_record.h"

#define MAX_HEADERS	32

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char page[] = "<p>{{email}}</p><form method=\"post\">"
    "<button>Unsubscribe</button></form>\n";
static char dir[64], db[512];
static struct feedback_env env;
static struct conf *cf;

static void
cleanup(void)
{
	store_close(env.st);
	conf_free(cf);
	fstore_remove(db);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_customer c;
	enum store_change ch;
	char err[512];
	int64_t id;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/segm-fuzz-handle-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	fstore_name(dir, db, sizeof(db));
	if (store_open(db, STORE_CREATE, 1000, &env.st, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	atexit(cleanup);
	memset(&c, 0, sizeof(c));
	c.email = "ann@example.com";
	c.phone = "+15550001111";
	if (store_customer_upsert(env.st, &c, &id, &ch) == -1)
		exit(1);
	cf = conf_defaults();
	memcpy(cf->outbox.key, "0123456789abcdef0123", 20);
	cf->outbox.keylen = 20;
	free(cf->feedback.public_url);
	cf->feedback.public_url = strdup("https://shop.example/");
	snprintf(cf->feedback.twilio_auth_token,
	    sizeof(cf->feedback.twilio_auth_token), "fuzz token");
	snprintf(cf->feedback.kannel_secret,
	    sizeof(cf->feedback.kannel_secret), "fuzz kannel");
	snprintf(cf->feedback.shopify_secret,
	    sizeof(cf->feedback.shopify_secret), "fuzz shopify");
	env.conf = cf;
	env.page = page;
	env.pagelen = sizeof(page) - 1;
	if (conf_unsub_route("https://shop.example/u/", &env.unsub, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	snprintf(env.conf_hash, sizeof(env.conf_hash), "%064d", 0);
	return 0;
}

/* The next line of [*P, END) into a fresh string; NULL at the end. */
static char *
next_line(const char **p, const char *end)
{
	const char *nl, *s = *p;
	size_t n;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	n = (nl != NULL ? nl : end) - s;
	*p = nl != NULL ? nl + 1 : end;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	return strndup(s, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *colon;
	struct feedback_header hdr[MAX_HEADERS];
	char *names[MAX_HEADERS], *line, *method, *target;
	struct feedback_request rq;
	struct feedback_response rs;
	size_t nh = 0, i;

	if ((method = next_line(&p, end)) == NULL)
		return 0;
	if ((target = next_line(&p, end)) == NULL) {
		free(method);
		return 0;
	}
	while ((line = next_line(&p, end)) != NULL) {
		if (*line == '\0' || nh == MAX_HEADERS ||
		    (colon = strchr(line, ':')) == NULL) {
			free(line);
			break;
		}
		names[nh] = line;
		*(char *)colon = '\0';
		for (colon++; *colon == ' '; colon++)
			;
		hdr[nh].name = line;
		hdr[nh].value = colon;
		nh++;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.target = target;
	rq.headers = hdr;
	rq.nheaders = nh;
	rq.content_type = feedback_header(&rq, "Content-Type");
	rq.id = "FUZZ1";
	rq.body = p;
	rq.len = (size_t)(end - p);
	rq.now = 1795000000;

	feedback_response_init(&rs);
	feedback_handle(&env, &rq, &rs);
	if (rs.status < 200 || rs.status > 599)
		abort();
	if (strnlen(rs.log, sizeof(rs.log)) == sizeof(rs.log) ||
	    strnlen(rs.anchor, sizeof(rs.anchor)) == sizeof(rs.anchor))
		abort();
	if (rs.anchor[0] != '\0' && strncmp(rs.anchor, "audit=", 6) != 0)
		abort();
	feedback_response_free(&rs);
	for (i = 0; i < nh; i++)
		free(names[i]);
	free(method);
	free(target);
	return 0;
}
