/*
 * fuzz_milter.c - the milter's message callbacks on whatever an SMTP
 * client may send: sessions of envelope, headers and body driven through
 * milter_msg_* as src/milter/mlfi.c drives them for libmilter, without
 * libmilter, with the MTA's side (struct milter_ops) played by stubs that
 * check each request; on a real store made once per process
 * (tests/fuzz/fstore.h: a file, or a schema on PostgreSQL).
 *
 * An input is one or more messages on one connection, SMTP-like:
 *
 *   Q 4QFUZZ1                   queue id (macro i)      envelope,
 *   O smux                      options, below          up to a
 *   F <news@shop.example>       MAIL FROM               blank line
 *   R <ann@example.com>         RCPT TO, repeated
 *
 *   Subject: {{offer}}          headers, up to a blank line; a line
 *   X-Campaign-ID: spring       starting with a blank continues one
 *                               (libmilter's "\n" fold)
 *   Hello {{first_name}}        body, each line sent with CRLF
 *   .                           end of message; ".." is a "."
 *
 * The end of the input ends the last message (in the headers: the
 * client went away, as an abort).  A header whose value is "@marker"
 * gets a copy marker instead, made for the recipients given so far and
 * an empty body, the same one for every message of the input, so that
 * a copy's pass (a message with no body to those recipients), a
 * marker's replay and a marker on another message are all reached.
 * Options, per message: s split copies (outbox.reinject_url), u
 * unsubscribe links, b return paths (milter.bounce_domain; a sender the
 * MTA is asked for must be one genuine token's, and the MTA offers to
 * change it unless f), l and c split by language and currency, e unknown
 * placeholders empty, a accept on store errors, n the store down, m SMS
 * on (webhook), x the MTA refuses every change.
 *
 * The store holds customers of every kind (first-time, repeat, lapsed,
 * VIP by spend, b2b, no consent, refused consent, reachable by SMS in
 * four zones); campaigns "spring" (variants, a held one) and "cart"
 * (SMS).
 * What a message writes (ledger, audit, outbox, copies seen) is deleted
 * after each input through a second connection, so each input starts
 * from the same store.  Spooled bodies past 1 KB go to unlinked files in
 * the fuzzer's directory (made once, removed at exit).
 *
 * Checks beyond crashes, leaks and hangs: a recipient is removed only if
 * the MTA gave it, and once; a header written holds no CR and folds only
 * before a blank (no header injection from a template or a value); a
 * reply is one line with no control character and no lone '%' (a format
 * to libmilter); a discarded message asked the MTA for nothing; every
 * log line is one line without control characters (syslog(3) is caught
 * here: thousands of messages a second must not reach the system log).
 *
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../../src/store/db.h"
#include "bounce.h"
#include "buf.h"
#include "campaign.h"
#include "conf.h"
#include "fstore.h"
#include "marker.h"
#include "milter.h"
#include "parse.h"
#include "render.h"
#include "segment.h"
#include "store_record.h"
#include "tz.h"

#define NOW		((int64_t)1795000000)	/* 2026-11-18 11:06:40Z */
#define DAY		86400
#define MAX_MESSAGES	8
#define MAX_RCPTS	64

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], db_path[512], campaigns_dir[96];
static struct store *st;
static struct db *db;		/* the same store, to empty it */
static struct conf *cf;
static struct campaign_set *set;
static struct daemon_env env;
static char *url_on, *url_off, *unsub_on, *unsub_off, *bounce_on, *bounce_off;
static char marker[MARKER_MAX];	/* "": none made for this input */

/* One message's dealings with the MTA. */
struct mta {
	char		**rcpts;	/* as given, to check delrcpt */
	int		 *removed;
	size_t		  nrcpts;
	int		  refuse;	/* option x */
	int		  no_chgfrom;	/* option f */
	int		  asked;	/* requests that change the message */
	size_t		  body;		/* bytes of the new body */
};

static const char spring_conf[] =
    "id = \"spring\";\n"
    "audience = { exclude = [ \"b2b\" ]; };\n"
    "variants = {\n"
    "  vip = { offer = \"VIP: 25% off\"; code = \"VIP25\"; };\n"
    "  repeat = { offer = \"20% off\"; };\n"
    "  lapsed = { offer = \"We miss you\";"
    " send_after = \"2026-12-01T09:00:00Z\"; };\n"
    "  default = { offer = \"10% off\"; headline = \"Spring\"; };\n"
    "};\n";

static const char cart_conf[] =
    "id = \"cart\";\n"
    "variants = { vip = { offer = \"15% \xe2\x82\xac off\"; };\n"
    "  default = { offer = \"10% off\"; }; };\n"
    "sms = { segments = [ \"first_time\", \"repeat\", \"vip\" ];\n"
    "  text = \"{{first_name|default:\\\"Hi\\\"}}: {{offer}}. STOP\";\n"
    "  send_after = \"2026-11-18T12:00:00Z\"; };\n";

/*
 * The customers: email consent -1 none, 0 refused, 1 granted; ORDERS
 * of 50, 100, ... 40 days apart, the last AGE days ago.
 */
static const struct person {
	const char	*email, *first, *phone, *zone, *country, *region;
	const char	*language, *currency, *account_type;
	int		 email_consent, sms_consent, orders, age;
} people[] = {
	{ "ann@example.com", "Ann", "+4915112345678", "Europe/Berlin", "DE",
	    "BE", "de", "EUR", NULL, 1, 1, 1, 10 },
	{ "rob@example.com", "Rob", "+12125550103", "America/New_York", "US",
	    "NY", "en", "USD", NULL, 1, 1, 3, 10 },
	{ "bea@example.com", "Bea", NULL, NULL, "DE", NULL, NULL, NULL, NULL,
	    0, 0, 1, 10 },
	{ "cy@example.com", "Cy", NULL, NULL, "DE", NULL, NULL, NULL, NULL,
	    -1, 0, 1, 10 },
	{ "zoe@example.com", "Zo\xc3\xa9", "+33612345678", "Europe/Paris",
	    "FR", NULL, "fr", "EUR", NULL, 1, 0, 2, 10 },
	{ "dee@example.com", "Dee", "+13055550102", "America/New_York", "US",
	    "FL", "en", "USD", NULL, 1, 1, 1, 10 },
	{ "len@example.com", "Len", "+447700900123", "Europe/London", "GB",
	    NULL, "en", "GBP", NULL, 1, 1, 2, 200 },
	{ "vic@example.com", "Vic", NULL, NULL, "DE", NULL, "de", "EUR",
	    NULL, 1, 0, 8, 5 },
	{ "max@acme.example", "Max", NULL, NULL, "DE", NULL, "de", "EUR",
	    "b2b", 1, 0, 5, 10 },
};

static void
cleanup(void)
{
	char path[160];

	store_close(st);
	db_close(db);
	fstore_remove(db_path);
	snprintf(path, sizeof(path), "%s/spring.conf", campaigns_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cart.conf", campaigns_dir);
	unlink(path);
	rmdir(campaigns_dir);
	rmdir(dir);
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_milter: %s: %s\n", what, why);
	exit(1);
}

/*
 * The milter's log lines, caught here instead of libc's syslog(3): one
 * line each, no control character (daemon_log masks what came from the
 * message); then dropped.
 */
void
syslog(int prio, const char *fmt, ...)
{
	char line[4096];
	const char *p;
	va_list ap;

	(void)prio;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

static void
put_person(const struct person *pp)
{
	struct store_customer c;
	struct store_consent k;
	struct store_order o;
	enum store_change ch;
	char ref[64];
	int64_t id, oid;
	int i;

	memset(&c, 0, sizeof(c));
	c.email = pp->email;
	c.first_name = pp->first;
	c.phone = pp->phone;
	c.time_zone = pp->zone;
	c.country = pp->country;
	c.region = pp->region;
	c.language = pp->language;
	c.currency = pp->currency;
	c.account_type = pp->account_type;
	if (store_customer_upsert(st, &c, &id, &ch) == -1)
		die("customer", store_error(st));
	memset(&k, 0, sizeof(k));
	k.customer_id = id;
	k.source = "checkout";
	k.recorded_at = NOW - 300 * DAY;
	k.evidence = "box ticked";
	if (pp->email_consent >= 0) {
		k.channel = CHANNEL_EMAIL;
		k.granted = pp->email_consent;
		if (store_consent_record(st, &k, 0, &ch) == -1)
			die("consent", store_error(st));
	}
	if (pp->sms_consent) {
		k.channel = CHANNEL_SMS;
		k.granted = 1;
		k.evidence = "SMS box ticked";
		if (store_consent_record(st, &k, 0, &ch) == -1)
			die("consent", store_error(st));
	}
	for (i = 0; i < pp->orders; i++) {
		memset(&o, 0, sizeof(o));
		snprintf(ref, sizeof(ref), "#%s-%d", pp->email, i);
		o.ref = ref;
		o.customer_id = id;
		o.created_at = NOW - (int64_t)(pp->age + 40 * i) * DAY;
		o.financial_status = "paid";
		o.currency = pp->currency != NULL ? pp->currency : "EUR";
		o.total = 5000 * (i + 1);
		if (store_order_upsert(st, &o, &oid, &ch) == -1)
			die("order", store_error(st));
	}
}

static void
write_file(const char *name, const char *text)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", campaigns_dir, name);
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) != 0)
		die(path, "cannot write");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct segment_rebuild_stats stats;
	char err[4096];
	size_t i;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/segm-fuzz-milter-XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", "cannot make a directory");
	atexit(cleanup);
	fstore_name(dir, db_path, sizeof(db_path));
	snprintf(campaigns_dir, sizeof(campaigns_dir), "%s/campaigns", dir);
	if (store_open(db_path, STORE_CREATE, 5000, &st, err,
	    sizeof(err)) == -1)
		die("store", err);
	db = fstore_open(db_path);
	/* a reset is thrown away with the store: no fsync for it */
	if (db_engine(db) == DB_SQLITE &&
	    db_exec(db, "PRAGMA synchronous=OFF") != DB_OK)
		die("store", db_errmsg(db));

	cf = conf_defaults();
	free(cf->milter.spool_dir);
	cf->milter.spool_dir = strdup(dir);
	cf->milter.spool_memory_kb = 1;		/* bodies past 1 KB: disk */
	memcpy(cf->outbox.key, "0123456789abcdef", 16);
	cf->outbox.keylen = 16;
	url_off = cf->outbox.reinject_url;
	url_on = strdup("smtp://127.0.0.1:1");
	unsub_off = cf->milter.unsubscribe_url;
	unsub_on = strdup("https://shop.example/u?t=");
	bounce_off = cf->milter.bounce_domain;
	bounce_on = strdup("shop.example");
	cf->sms.window.start = 8 * 60;
	cf->sms.window.end = 21 * 60;
	free(cf->sms.windows);
	if ((cf->sms.windows = calloc(1, sizeof(*cf->sms.windows))) == NULL)
		die("calloc", "out of memory");
	snprintf(cf->sms.windows[0].where, sizeof(cf->sms.windows[0].where),
	    "US-FL");
	cf->sms.windows[0].w.start = 9 * 60;
	cf->sms.windows[0].w.end = 20 * 60;
	cf->sms.nwindows = 1;

	for (i = 0; i < sizeof(people) / sizeof(people[0]); i++)
		put_person(&people[i]);
	if (segment_rebuild(st, cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)) == -1)
		die("rebuild", err);

	if (mkdir(campaigns_dir, 0700) == -1)
		die(campaigns_dir, "cannot make it");
	free(cf->milter.campaigns_dir);
	cf->milter.campaigns_dir = strdup(campaigns_dir);
	write_file("spring.conf", spring_conf);
	write_file("cart.conf", cart_conf);
	if (campaign_set_load(campaigns_dir, cf, &set, err, sizeof(err)) ==
	    -1)
		die("campaigns", err);

	env.conf = cf;
	env.campaigns = set;
	snprintf(env.conf_hash, sizeof(env.conf_hash), "%064d", 0);
	env.tzdb = tzdb_new(TZ_DIR);
	render_init();
	return 0;
}

/* A header value as an MTA may be asked to write it. */
static void
check_header(const char *name, const char *value)
{
	const char *p;

	if (name == NULL || *name == '\0' || strpbrk(name, ": \r\n") != NULL)
		abort();
	for (p = value; p != NULL && *p != '\0'; p++)
		if (*p == '\r' || (*p == '\n' && p[1] != ' ' && p[1] != '\t'))
			abort();
}

static int
mta_delrcpt(void *ctx, const char *rcpt)
{
	struct mta *m = ctx;
	size_t i;

	for (i = 0; i < m->nrcpts; i++)
		if (!m->removed[i] && strcmp(m->rcpts[i], rcpt) == 0)
			break;
	if (i == m->nrcpts)
		abort();	/* not given, or removed twice */
	m->removed[i] = 1;
	m->asked++;
	return m->refuse ? -1 : 0;
}

static int
mta_chgheader(void *ctx, const char *name, int index, const char *value)
{
	struct mta *m = ctx;

	if (index < 1)
		abort();
	check_header(name, value);
	m->asked++;
	return m->refuse ? -1 : 0;
}

static int
mta_replacebody(void *ctx, const unsigned char *p, size_t len)
{
	struct mta *m = ctx;

	(void)p;
	m->body += len;
	m->asked++;
	return m->refuse ? -1 : 0;
}

static int
mta_setreply(void *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	const char *p;

	(void)ctx;
	if (strlen(rcode) != 3 || (rcode[0] != '4' && rcode[0] != '5') ||
	    xcode[0] != rcode[0])
		abort();
	for (p = text; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
		if (*p == '%' && *++p != '%')
			abort();	/* a format directive to libmilter */
	}
	return 0;
}

static int
mta_addheader(void *ctx, const char *name, const char *value)
{
	struct mta *m = ctx;

	check_header(name, value);
	m->asked++;
	return m->refuse ? -1 : 0;
}

/*
 * Only a return path made with the key, for the one recipient left in
 * the message (the others were removed before: apply's order).
 */
static int
mta_chgfrom(void *ctx, const char *sender)
{
	struct mta *m = ctx;
	struct bounce_token bt;
	char tok[BOUNCE_TOKEN_MAX + 64], addr[320], norm[320];
	const char *at, *left = NULL, *why;
	size_t i, n = 0;

	if (strncmp(sender, "<" BOUNCE_LOCAL "+", 9) != 0 ||
	    (at = strchr(sender, '@')) == NULL ||
	    strcmp(at, "@shop.example>") != 0 ||
	    (size_t)(at - sender - 9) >= sizeof(tok))
		abort();
	memcpy(tok, sender + 9, (size_t)(at - sender - 9));
	tok[at - sender - 9] = '\0';
	for (i = 0; i < m->nrcpts; i++)
		if (!m->removed[i]) {
			left = m->rcpts[i];
			n++;
		}
	if (n != 1)
		abort();
	/* the address as the milter reads it ("<ann@example.com >") */
	snprintf(addr, sizeof(addr), "%s", left + (*left == '<'));
	addr[strcspn(addr, ">")] = '\0';
	if (parse_email(addr, norm, sizeof(norm), &why) == -1 ||
	    bounce_token_parse(cf->outbox.key, cf->outbox.keylen, tok,
	    &bt) == -1 || bt.customer_id <= 0 ||
	    !bounce_token_names_email(&bt, norm))
		abort();
	m->asked++;
	return m->refuse ? -1 : 0;
}

/* The next line of [*P, END), without its LF (nor a CR before it). */
static int
next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*p >= end)
		return 0;
	*line = *p;
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		nl = end;
	*len = (size_t)(nl - *p);
	*p = nl < end ? nl + 1 : end;
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	return 1;
}

/* Per-message options. */
static void
options(const char *o, size_t n, struct mta *m, int *no_store)
{
	cf->outbox.reinject_url = memchr(o, 's', n) ? url_on : url_off;
	cf->milter.unsubscribe_url = memchr(o, 'u', n) ? unsub_on : unsub_off;
	cf->milter.bounce_domain = memchr(o, 'b', n) ? bounce_on : bounce_off;
	m->no_chgfrom = memchr(o, 'f', n) != NULL;
	cf->outbox.split_language = memchr(o, 'l', n) != NULL;
	cf->outbox.split_currency = memchr(o, 'c', n) != NULL;
	cf->milter.unknown_empty = memchr(o, 'e', n) != NULL;
	cf->milter.on_store_error = memchr(o, 'a', n) ? ON_ERROR_ACCEPT :
	    ON_ERROR_TEMPFAIL;
	cf->sms.driver = memchr(o, 'm', n) ? SMS_WEBHOOK : SMS_OFF;
	m->refuse = memchr(o, 'x', n) != NULL;
	*no_store = memchr(o, 'n', n) != NULL;
}

/*
 * One header, "Name: value" with its folds, as libmilter hands it; a
 * failure is the message's to remember, as in mlfi.c.
 */
static void
header(struct milter_msg *msg, const struct mta *m, const char *h, size_t n)
{
	char *name, *value, *colon, nonce[MARKER_NONCE_MAX];
	char rcpts[MARKER_DIGEST_MAX], body[MARKER_DIGEST_MAX];
	char emails[MAX_RCPTS][PARSE_EMAIL_MAX + 1], bare[PARSE_EMAIL_MAX + 1];
	const char *list[MAX_RCPTS], *why;
	size_t i;

	if ((colon = memchr(h, ':', n)) == NULL || colon == h)
		return;		/* not a header: the MTA would not send it */
	name = strndup(h, (size_t)(colon - h));
	for (colon++; colon < h + n && (*colon == ' ' || *colon == '\t');
	    colon++)
		;
	value = strndup(colon, (size_t)(h + n - colon));
	if (name == NULL || value == NULL)
		abort();
	if (strcmp(value, "@marker") == 0) {
		/* the recipients as segmilter normalises them (msg.c) */
		for (i = 0; i < m->nrcpts; i++) {
			snprintf(bare, sizeof(bare), "%.*s",
			    (int)strcspn(m->rcpts[i] + (m->rcpts[i][0] == '<'),
			    ">"), m->rcpts[i] + (m->rcpts[i][0] == '<'));
			if (parse_email(bare, emails[i], sizeof(emails[i]),
			    &why) == -1)
				emails[i][0] = '\0';
			list[i] = emails[i];
		}
		marker_rcpts(list, m->nrcpts, rcpts);
		marker_body_end(marker_body_new(), body);
		if (marker[0] == '\0' && marker_make(cf->outbox.key,
		    cf->outbox.keylen, "spring", NOW, rcpts, body, marker,
		    sizeof(marker), nonce) == -1)
			abort();
		free(value);
		value = strdup(marker);
	}
	(void)milter_msg_header(msg, &env, name, value);
	free(name);
	free(value);
}

/*
 * One message from *P: envelope, headers, body; *P left after its "."
 * line.  0, or -1 at the end of the input.
 */
static int
message(struct milter_msg *msg, const char **p, const char *end, int64_t now)
{
	struct milter_ops ops;
	struct buf hdr, body;
	struct mta m;
	const char *line;
	size_t len, i;
	int rc, no_store = 0, eom = 1;
	enum milter_verdict v;

	memset(&m, 0, sizeof(m));
	m.rcpts = calloc(MAX_RCPTS, sizeof(*m.rcpts));
	m.removed = calloc(MAX_RCPTS, sizeof(*m.removed));
	if (m.rcpts == NULL || m.removed == NULL)
		abort();
	options("", 0, &m, &no_store);
	milter_msg_reset(msg);		/* MAIL FROM starts a new one */
	milter_msg_sender(msg, "<>");
	while (next_line(p, end, &line, &len) && len > 0) {
		if (len < 2 || line[1] != ' ')
			continue;
		if (line[0] == 'Q') {
			char *qid = strndup(line + 2, len - 2);

			milter_msg_set_queue_id(msg, qid);
			free(qid);
		} else if (line[0] == 'O') {
			options(line + 2, len - 2, &m, &no_store);
		} else if (line[0] == 'F') {
			char *s = strndup(line + 2, len - 2);

			milter_msg_sender(msg, s);
			free(s);
		} else if (line[0] == 'R' && m.nrcpts < MAX_RCPTS) {
			m.rcpts[m.nrcpts] = strndup(line + 2, len - 2);
			milter_msg_rcpt(msg, m.rcpts[m.nrcpts++]);
		}
	}

	/* headers, a fold joined to its header with "\n" */
	buf_init(&hdr, 1 << 20);
	for (;;) {
		if (!next_line(p, end, &line, &len)) {
			eom = 0;	/* the client went away */
			break;
		}
		if (len > 0 && (line[0] == ' ' || line[0] == '\t') &&
		    hdr.len > 0) {
			buf_putc(&hdr, '\n');
			buf_append(&hdr, line, len);
			continue;
		}
		if (hdr.len > 0)
			header(msg, &m, hdr.data, hdr.len);
		buf_reset(&hdr);
		if (len == 0)
			break;
		buf_append(&hdr, line, len);
	}
	if (!eom && hdr.len > 0)
		header(msg, &m, hdr.data, hdr.len);
	buf_free(&hdr);
	if (!eom)
		goto done;

	rc = milter_msg_eoh(msg, &env);
	if (rc != 1 && rc != 2)
		eom = 0;	/* accepted, or tempfailed, at the headers */
	/* the body to its "." line, sent a line at a time with CRLF */
	buf_init(&body, 1 << 20);
	while (next_line(p, end, &line, &len)) {
		if (len == 1 && line[0] == '.')
			break;
		if (len > 0 && line[0] == '.') {
			line++;
			len--;
		}
		buf_reset(&body);
		buf_append(&body, line, len);
		buf_append(&body, "\r\n", 2);
		if (eom)
			milter_msg_body(msg, (const unsigned char *)body.data,
			    body.len);
	}
	buf_free(&body);
	if (!eom)
		goto done;

	ops.ctx = &m;
	ops.delrcpt = mta_delrcpt;
	ops.chgheader = mta_chgheader;
	ops.replacebody = mta_replacebody;
	ops.setreply = mta_setreply;
	ops.addheader = mta_addheader;
	ops.chgfrom = m.no_chgfrom ? NULL : mta_chgfrom;
	v = milter_msg_eom(msg, &env, no_store ? NULL : st, now, &ops);
	if (v == MILTER_DISCARD && m.asked > 0)
		abort();	/* discarded, yet changed */
done:
	for (i = 0; i < m.nrcpts; i++)
		free(m.rcpts[i]);
	free(m.rcpts);
	free(m.removed);
	return *p < end ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct milter_msg *msg;
	int i;

	marker[0] = '\0';
	msg = milter_msg_new();		/* one connection */
	for (i = 0; i < MAX_MESSAGES; i++)
		if (message(msg, &p, end, NOW + 60 * i) == -1)
			break;
	milter_msg_free(msg);
	if (db_exec(db, "BEGIN; DELETE FROM ledger; DELETE FROM audit;"
	    " DELETE FROM audit_hours; DELETE FROM outbox;"
	    " DELETE FROM copy_seen; COMMIT;") != DB_OK)
		die("reset", db_errmsg(db));
	return 0;
}
