/*
 * test_milter.c - one message through milter_msg as libmilter would
 * drive it, on a real store, with the smfi_* calls recorded: who is
 * removed and why, what is rewritten, what the ledger and audit log
 * hold, and every failure path (unknown campaign, store down, template
 * error, malformed MIME).  Also the campaign files' loader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit.h"
#include "bounce.h"
#include "buf.h"
#include "campaign.h"
#include "expr.h"
#include "digest.h"
#include "marker.h"
#include "unsub.h"
#include "milter.h"
#include "outbox.h"
#include "policy.h"
#include "render.h"
#include "segment.h"
#include "store_outbox.h"
#include "store_record.h"
#include "tstore.h"
#include "tz.h"

#define NOW	((int64_t)1795000000)
#define DAY	86400

struct mx {
	char			 dir[64];
	char			 db[256];	/* the store's name */
	struct store		*st;
	struct conf		*cf;
	struct campaign_set	*set;
	struct daemon_env	 env;
	/* what the MTA was asked */
	struct buf		 log;	/* one request per line */
	struct buf		 body;
	char			 reply[600];
	int			 no_chgfrom;	/* the MTA does not offer it */
};

static int
rec_delrcpt(void *ctx, const char *rcpt)
{
	struct mx *x = ctx;

	buf_printf(&x->log, "delrcpt %s\n", rcpt);
	return 0;
}

static int
rec_chgheader(void *ctx, const char *name, int index, const char *value)
{
	struct mx *x = ctx;

	buf_printf(&x->log, "chgheader %s %d %s\n", name, index,
	    value ? value : "(delete)");
	return 0;
}

static int
rec_replacebody(void *ctx, const unsigned char *p, size_t len)
{
	struct mx *x = ctx;

	buf_append(&x->body, p, len);
	return 0;
}

static int
rec_setreply(void *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	struct mx *x = ctx;

	snprintf(x->reply, sizeof(x->reply), "%s %s %s", rcode, xcode, text);
	return 0;
}

static int
rec_addheader(void *ctx, const char *name, const char *value)
{
	struct mx *x = ctx;

	buf_printf(&x->log, "addheader %s %s\n", name, value);
	return 0;
}

static int
rec_chgfrom(void *ctx, const char *sender)
{
	struct mx *x = ctx;

	buf_printf(&x->log, "chgfrom %s\n", sender);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int64_t
customer(struct mx *x, const char *email, const char *first, int consent,
    int orders)
{
	struct store_customer c;
	struct store_consent k;
	struct store_order o;
	enum store_change ch;
	char ref[64];
	int64_t id, oid;
	int i;

	memset(&c, 0, sizeof(c));
	c.email = email;
	c.first_name = first;
	c.country = "DE";
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	if (consent >= 0) {
		memset(&k, 0, sizeof(k));
		k.customer_id = id;
		k.channel = CHANNEL_EMAIL;
		k.granted = consent;
		k.source = "checkout";
		k.recorded_at = NOW - 300 * DAY;
		k.evidence = "box ticked";
		assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);
	}
	for (i = 0; i < orders; i++) {
		memset(&o, 0, sizeof(o));
		snprintf(ref, sizeof(ref), "#%s-%d", email, i);
		o.ref = ref;
		o.customer_id = id;
		o.created_at = NOW - (10 + i) * DAY;
		o.financial_status = "paid";
		o.currency = "EUR";
		o.total = 5000;
		assert_int_equal(store_order_upsert(x->st, &o, &oid, &ch), 0);
	}
	return id;
}

static const char campaign_file[] =
    "id = \"spring\";\n"
    "audience = { exclude = [ \"b2b\" ]; };\n"
    "variants = {\n"
    "  vip = { offer = \"VIP: 25% off\"; };\n"
    "  repeat = { offer = \"20% off\"; };\n"
    "  default = { offer = \"10% off\"; headline = \"Spring\"; };\n"
    "};\n";

static int
mx_setup(void **state)
{
	struct mx *x = calloc(1, sizeof(*x));
	struct segment_rebuild_stats stats;
	char path[160], err[2048];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-milter-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	x->cf = conf_defaults();
	free(x->cf->milter.spool_dir);
	x->cf->milter.spool_dir = strdup(x->dir);
	x->cf->milter.spool_memory_kb = 16;	/* big bodies go to disk */
	customer(x, "ann@example.com", "Ann", 1, 1);	/* first_time */
	customer(x, "rob@example.com", "Rob", 1, 3);	/* repeat */
	customer(x, "bea@example.com", "Bea", 0, 1);	/* refused */
	customer(x, "cy@example.com", "Cy", -1, 1);	/* no record */
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)), 0);

	snprintf(path, sizeof(path), "%s/campaigns", x->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(x->cf->milter.campaigns_dir);
	x->cf->milter.campaigns_dir = strdup(path);
	snprintf(path, sizeof(path), "%s/campaigns/spring.conf", x->dir);
	write_file(path, campaign_file);
	if (campaign_set_load(x->cf->milter.campaigns_dir, x->cf, &x->set,
	    err, sizeof(err)) == -1)
		fail_msg("%s", err);
	x->env.conf = x->cf;
	x->env.campaigns = x->set;
	snprintf(x->env.conf_hash, sizeof(x->env.conf_hash), "%064d", 0);
	buf_init(&x->log, 1 << 20);
	buf_init(&x->body, 1 << 26);
	*state = x;
	return 0;
}

static int
mx_teardown(void **state)
{
	struct mx *x = *state;
	char cmd[160];

	store_close(x->st);
	conf_free(x->cf);
	campaign_set_free(x->set);
	buf_free(&x->log);
	buf_free(&x->body);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/*
 * Runs one message: HEADERS is "Name: value\n" lines, BODY the body
 * (LF, turned into CRLF as the MTA would send it).
 */
static enum milter_verdict
run(struct mx *x, const char *const *rcpts, const char *headers,
    const char *body, struct store *st)
{
	struct milter_ops ops = { x, rec_delrcpt, rec_chgheader,
	    rec_replacebody, rec_setreply, rec_addheader,
	    x->no_chgfrom ? NULL : rec_chgfrom };
	struct milter_msg *m = milter_msg_new();
	enum milter_verdict v;
	char name[128], value[1024];
	const char *p, *colon, *nl;
	struct buf crlf;
	int rc;

	buf_reset(&x->log);
	buf_reset(&x->body);
	x->reply[0] = '\0';
	milter_msg_set_queue_id(m, "4QTEST1");
	milter_msg_sender(m, "<news@shop.example>");
	for (; *rcpts != NULL; rcpts++)
		milter_msg_rcpt(m, *rcpts);
	for (p = headers; *p != '\0'; p = nl + 1) {
		colon = strchr(p, ':');
		nl = strchr(p, '\n');
		snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
		snprintf(value, sizeof(value), "%.*s", (int)(nl - colon - 2),
		    colon + 2);
		assert_int_equal(milter_msg_header(m, &x->env, name, value), 0);
	}
	rc = milter_msg_eoh(m, &x->env);
	if (rc == 0) {
		milter_msg_free(m);
		return MILTER_CONTINUE;
	}
	assert_int_equal(rc, 1);
	buf_init(&crlf, 1 << 26);
	for (p = body; *p != '\0'; p++) {
		if (*p == '\n')
			buf_putc(&crlf, '\r');
		buf_putc(&crlf, *p);
	}
	assert_int_equal(milter_msg_body(m, (const unsigned char *)
	    buf_str(&crlf), crlf.len), 0);
	buf_free(&crlf);
	v = milter_msg_eom(m, &x->env, st, NOW, &ops);
	milter_msg_free(m);
	return v;
}

static const char campaign_headers[] =
    "From: Shop <news@shop.example>\n"
    "Subject: {{headline}} for {{first_name|default:\"you\"}}\n"
    "X-Campaign-ID: spring\n"
    "Message-ID: <m1@shop.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n";

static const char again_headers[] =
    "Subject: {{headline}} for {{first_name|default:\"you\"}}\n"
    "X-Campaign-ID: spring\n"
    "Message-ID: <m2@shop.example>\n";

static void
test_transactional_untouched(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<bea@example.com>", NULL };

	assert_int_equal(run(x, rcpts, "From: shop@example.com\n"
	    "Subject: Your order #1001\n", "Thanks {{x}}\n", x->st),
	    MILTER_CONTINUE);
	/* nothing asked of the MTA: not even Bea, who refused, is removed */
	assert_int_equal(x->log.len, 0);
	assert_int_equal(x->body.len, 0);
}

static void
test_suppress_and_rewrite(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<Ann@Example.com>", "<bea@example.com>",
	    "<cy@example.com>", "<nobody@example.com>", NULL };
	struct audit_report rep;

	assert_int_equal(run(x, rcpts, campaign_headers,
	    "Hello {{first_name|default:\"there\"}},\n{{offer}} this week.\n"
	    "{{#first_time}}Welcome back for a second order!{{/first_time}}\n",
	    x->st), MILTER_CONTINUE);
	assert_string_equal(buf_str(&x->log),
	    "delrcpt <bea@example.com>\n"
	    "delrcpt <cy@example.com>\n"
	    "delrcpt <nobody@example.com>\n"
	    "chgheader X-Campaign-ID 1 (delete)\n"
	    "chgheader Subject 1 Spring for Ann\n");
	/* one recipient left: her own name; first_time is the default */
	assert_string_equal(buf_str(&x->body), "Hello Ann,\r\n10% off this"
	    " week.\r\nWelcome back for a second order!\r\n");

	/* four audit rows, chained */
	assert_int_equal(audit_verify(x->st, NULL, NULL, 0, &rep), 0);
	assert_int_equal(rep.rows, 4);
}

/*
 * Another message (another relay's, sharing the store) delivers a
 * campaign to Rob after this message looked him up and before it
 * records: a trigger on Ann's ledger row plays it, inside this
 * message's transaction and before Rob's row.  With the cap at one a
 * window, Rob's delivery is counted again there and refused; Ann's
 * stands.
 */
static void
test_fatigue_meanwhile(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<rob@example.com>",
	    NULL };
	const char *other = "INSERT INTO ledger (customer_id, campaign_id,"
	    " recipient, message_key, queue_id, decision, at) SELECT id,"
	    " 'other', email, '<o@x>', 'Q2', 'deliver', 1795000000"
	    " FROM customers WHERE email = 'rob@example.com';";
	char detail[256];

	if (tstore_pgsql())
		tstore_exec(x->db, "CREATE FUNCTION meanwhile() RETURNS trigger"
		    " LANGUAGE plpgsql AS $$ BEGIN %s RETURN NULL; END $$;"
		    " CREATE TRIGGER meanwhile AFTER INSERT ON ledger"
		    " FOR EACH ROW WHEN (NEW.recipient = 'ann@example.com')"
		    " EXECUTE FUNCTION meanwhile()", other);
	else
		tstore_exec(x->db, "CREATE TRIGGER meanwhile AFTER INSERT ON"
		    " ledger WHEN NEW.recipient = 'ann@example.com' BEGIN %s"
		    " END", other);
	assert_int_equal(run(x, rcpts, campaign_headers, "{{offer}}\n",
	    x->st), MILTER_CONTINUE);
	/* rendered for both, before Rob was refused: no one's own name */
	assert_string_equal(buf_str(&x->log), "delrcpt <rob@example.com>\n"
	    "chgheader X-Campaign-ID 1 (delete)\n"
	    "chgheader Subject 1 Spring for you\n");
	assert_int_equal(tstore_int(x->db, "SELECT count(*) FROM ledger"
	    " WHERE campaign_id = 'spring' AND decision = 'deliver'"), 1);
	assert_int_equal(tstore_int(x->db, "SELECT count(*) FROM ledger"
	    " WHERE campaign_id = 'spring' AND recipient = 'rob@example.com'"
	    " AND decision = 'fatigued'"), 1);
	tstore_text(x->db, detail, sizeof(detail), "SELECT detail FROM audit"
	    " WHERE recipient = 'rob@example.com'");
	assert_string_equal(detail, "frequency cap: 1 delivered in 16 h"
	    " (cap 1); since the lookup");
}

static void
test_duplicate_discarded(void **state)
{
	struct mx *x = *state;
	const char *const ann[] = { "<ann@example.com>", NULL };
	const char *const both[] = { "<ann@example.com>",
	    "<rob@example.com>", NULL };

	assert_int_equal(run(x, ann, campaign_headers, "{{offer}}\n", x->st),
	    MILTER_CONTINUE);
	/* the MTA retrying the same message: it never reached her */
	assert_int_equal(run(x, ann, campaign_headers, "{{offer}}\n", x->st),
	    MILTER_CONTINUE);
	assert_string_equal(buf_str(&x->body), "10% off\r\n");
	/* the campaign sent again, another message: Ann is done */
	assert_int_equal(run(x, ann, again_headers, "{{offer}}\n", x->st),
	    MILTER_DISCARD);
	assert_int_equal(x->log.len, 0);
	/* Rob is new and, top spender of four, VIP: his variant */
	assert_int_equal(run(x, both, again_headers, "{{offer}}\n",
	    x->st), MILTER_CONTINUE);
	assert_string_equal(buf_str(&x->log),
	    "delrcpt <ann@example.com>\n"
	    "chgheader X-Campaign-ID 1 (delete)\n"
	    "chgheader Subject 1 Spring for Rob\n");
	assert_string_equal(buf_str(&x->body), "VIP: 25% off\r\n");
}

/* Without a Message-ID, a retry is known by its content. */
static void
test_retry_without_message_id(void **state)
{
	struct mx *x = *state;
	const char *const ann[] = { "<ann@example.com>", NULL };
	const char *h = "Subject: {{offer}}\nX-Campaign-ID: spring\n";

	assert_int_equal(run(x, ann, h, "{{offer}}\n", x->st),
	    MILTER_CONTINUE);
	assert_int_equal(run(x, ann, h, "{{offer}}\n", x->st),
	    MILTER_CONTINUE);
	/* another message of the campaign: she has it already */
	assert_int_equal(run(x, ann, h, "Again: {{offer}}\n", x->st),
	    MILTER_DISCARD);
}

/* A campaign of headers only: its Subject is still tailored. */
static void
test_headers_only(void **state)
{
	struct mx *x = *state;
	const char *const ann[] = { "<ann@example.com>", NULL };

	assert_int_equal(run(x, ann, "Subject: {{offer}} for"
	    " {{first_name}}\nX-Campaign-ID: spring\n", "", x->st),
	    MILTER_CONTINUE);
	assert_string_equal(buf_str(&x->log),
	    "chgheader X-Campaign-ID 1 (delete)\n"
	    "chgheader Subject 1 10% off for Ann\n");
	assert_string_equal(buf_str(&x->body), "");
}

static void
test_failures_tempfail(void **state)
{
	struct mx *x = *state;
	const char *const ann[] = { "<ann@example.com>", NULL };
	struct audit_report rep;

	/* a campaign nobody configured */
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: autumn\n",
	    "x\n", x->st), MILTER_TEMPFAIL);
	assert_string_equal(x->reply, "451 4.7.1 segmilter: unknown campaign"
	    " 'autumn'");
	/* a '%' in a reply would be a format directive to libmilter */
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: 50%off\n",
	    "x\n", x->st), MILTER_TEMPFAIL);
	assert_string_equal(x->reply, "451 4.7.1 segmilter: unknown campaign"
	    " '50%%off'");
	/* a control character (a folded header) never reaches the log or
	 * the reply: no campaign is named so */
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: spr\ting\n",
	    "x\n", x->st), MILTER_TEMPFAIL);
	assert_string_equal(x->reply, "451 4.7.1 segmilter: unknown campaign"
	    " 'spr?ing'");
	/* the store is down */
	assert_int_equal(run(x, ann, campaign_headers, "x\n", NULL),
	    MILTER_TEMPFAIL);
	assert_string_equal(x->reply, "451 4.3.0 segmilter: customer store"
	    " unavailable, try again later");
	x->cf->milter.on_store_error = ON_ERROR_ACCEPT;
	assert_int_equal(run(x, ann, campaign_headers, "x\n", NULL),
	    MILTER_CONTINUE);
	assert_int_equal(x->log.len, 0);
	x->cf->milter.on_store_error = ON_ERROR_TEMPFAIL;
	/* a placeholder no variant fills: tempfail, nothing recorded */
	assert_int_equal(run(x, ann, campaign_headers, "{{coupon}} 50%\n",
	    x->st), MILTER_TEMPFAIL);
	assert_non_null(strstr(x->reply, "451 4.7.0 segmilter: campaign"
	    " spring: "));
	assert_non_null(strstr(x->reply, "coupon"));
	assert_int_equal(audit_verify(x->st, NULL, NULL, 0, &rep), 0);
	assert_int_equal(rep.rows, 0);
	/* ... or empty, when configured so */
	x->cf->milter.unknown_empty = 1;
	assert_int_equal(run(x, ann, campaign_headers, "[{{coupon}}]\n",
	    x->st), MILTER_CONTINUE);
	assert_string_equal(buf_str(&x->body), "[]\r\n");
}

static void
test_malformed_mime_untouched(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<bea@example.com>",
	    NULL };

	assert_int_equal(run(x, rcpts, "Subject: s\nX-Campaign-ID: spring\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\n",
	    "--b1\nContent-Type: text/plain\nContent-Transfer-Encoding:"
	    " x-unheard-of\n\n{{offer}}\n--b1--\n", x->st), MILTER_CONTINUE);
	/* the body is left alone; suppression still applies */
	assert_int_equal(x->body.len, 0);
	assert_string_equal(buf_str(&x->log),
	    "delrcpt <bea@example.com>\n"
	    "chgheader X-Campaign-ID 1 (delete)\n");
}

/* A body past the memory limit is spooled to disk and still rendered. */
static void
test_large_body(void **state)
{
	struct mx *x = *state;
	const char *const ann[] = { "<ann@example.com>", NULL };
	struct buf big;
	size_t i;

	buf_init(&big, 1 << 26);
	buf_puts(&big, "{{offer}}\n");
	for (i = 0; i < 20000; i++)
		buf_puts(&big, "A line of campaign copy, seventy bytes or so,"
		    " to fill the body.\n");
	assert_int_equal(run(x, ann, campaign_headers, buf_str(&big), x->st),
	    MILTER_CONTINUE);
	assert_true(x->body.len > 1300000);
	assert_memory_equal(x->body.data, "10% off\r\nA line", 15);
	buf_free(&big);
}

/* The copy queued for one job, read back from the outbox. */
static void
outbox_job(struct mx *x, int64_t id, struct buf *msg, struct buf *rcpts)
{
	struct store_job *j;
	int64_t next;

	assert_int_equal(store_outbox_claim(x->st, NOW + 1, 600,
	    STORE_JOB_EMAIL, &j, &next), 0);
	assert_int_equal(j->id, id);
	buf_reset(msg);
	buf_reset(rcpts);
	assert_null(j->message);	/* a copy is read as it is sent */
	assert_int_equal(buf_reserve(msg, j->len), 0);
	assert_int_equal(store_outbox_read(x->st, j->id, 0, msg->data,
	    j->len), 0);
	msg->len = j->len;
	msg->data[msg->len] = '\0';
	buf_puts(rcpts, j->recipients);
	store_outbox_update(x->st, j->id, JOB_SENT, NOW, NULL, NOW);
	store_job_free(j);
}

static void
split_on(struct mx *x)
{
	free(x->cf->outbox.reinject_url);
	x->cf->outbox.reinject_url = strdup("smtp://127.0.0.1:1");
	memcpy(x->cf->outbox.key, "0123456789abcdef", 16);
	x->cf->outbox.keylen = 16;
}

/*
 * Whether the copy MSG carries a marker that segmilter on the
 * re-injection port honours for the one recipient EMAIL: bound to her
 * and to the copy's body.  MSG is cut at the marker's line end.
 */
static int
marker_for(struct mx *x, struct buf *msg, const char *email)
{
	char bound[MARKER_DIGEST_MAX], body[MARKER_DIGEST_MAX], *marker;
	const char *start = strstr(buf_str(msg), "\r\n\r\n") + 4;
	struct marker_body *b;
	struct marker mk;

	marker_rcpts(&email, 1, bound);
	b = marker_body_new();
	marker_body_add(b, start, strlen(start));
	marker_body_end(b, body);
	if ((marker = strstr(buf_str(msg), MARKER_HEADER ": ")) == NULL)
		return 0;
	marker += strlen(MARKER_HEADER ": ");
	*strstr(marker, "\r\n") = '\0';
	return marker_parse(marker, &mk) == 0 &&
	    marker_verify(x->cf->outbox.key, x->cf->outbox.keylen, &mk, bound,
	    body);
}

/* Two variants: the larger part in place, the other a marked copy. */
static void
test_split_copies(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<Ann@example.com>", "<rob@example.com>",
	    "<bea@example.com>", NULL };
	struct buf msg, to;

	split_on(x);
	buf_init(&msg, 1 << 20);
	buf_init(&to, 1 << 20);
	assert_int_equal(run(x, rcpts, "Subject: {{offer}}\n"
	    "X-Campaign-ID: spring\nMessage-ID: <s1@shop.example>\n"
	    "X-Other: kept\n", "Dear customer: {{offer}}\n", x->st),
	    MILTER_CONTINUE);
	/* Ann (default) and Rob (vip): one part each; Ann's stays */
	assert_string_equal(buf_str(&x->log),
	    "delrcpt <rob@example.com>\n"
	    "delrcpt <bea@example.com>\n"
	    "chgheader X-Campaign-ID 1 (delete)\n"
	    "chgheader Subject 1 10% off\n");
	assert_string_equal(buf_str(&x->body), "Dear customer: 10% off\r\n");
	outbox_job(x, 1, &msg, &to);
	assert_string_equal(buf_str(&to), "rob@example.com\n");
	assert_non_null(strstr(buf_str(&msg), "Subject: VIP: 25% off\r\n"));
	assert_non_null(strstr(buf_str(&msg), "X-Other: kept\r\n"));
	assert_null(strstr(buf_str(&msg), "X-Campaign-ID"));
	assert_non_null(strstr(buf_str(&msg), "\r\n\r\nDear customer: VIP:"
	    " 25% off\r\n"));
	/* the marker is bound to Rob and to the copy's body */
	assert_true(marker_for(x, &msg, "rob@example.com"));
	buf_free(&msg);
	buf_free(&to);
}

/*
 * A recipient the ledger takes out of a copy's part after the copy was
 * built (here: Ann twice in one message; between two messages, another
 * message delivered in the meantime): the copy's marker names the
 * envelope it goes with, or segmilter on the re-injection port would not
 * know its own copy.
 */
static void
test_split_marker_rebound(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<ANN@example.com>",
	    "<rob@example.com>", "<Rob@example.com>", "<rob@EXAMPLE.com>",
	    NULL };
	struct buf msg, to;

	split_on(x);
	buf_init(&msg, 1 << 20);
	buf_init(&to, 1 << 20);
	assert_int_equal(run(x, rcpts, "Subject: {{offer}}\n"
	    "X-Campaign-ID: spring\nMessage-ID: <r1@shop.example>\n",
	    "Dear customer: {{offer}}\n", x->st), MILTER_CONTINUE);
	outbox_job(x, 1, &msg, &to);
	assert_string_equal(buf_str(&to), "ann@example.com\n");
	assert_true(marker_for(x, &msg, "ann@example.com"));
	buf_free(&msg);
	buf_free(&to);
}

/*
 * A copy of a message without MIME headers whose text gains 8-bit: the
 * in-place message gets them from the MTA (chgheader); the copy must
 * carry them itself, or its reader shows quoted-printable.
 */
static void
test_split_copy_gains_mime(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<rob@example.com>",
	    NULL };
	struct buf msg, to;

	split_on(x);
	customer(x, "rob@example.com", "Zo\xc3\xab", 1, 0);
	buf_init(&msg, 1 << 20);
	buf_init(&to, 1 << 20);
	assert_int_equal(run(x, rcpts, "Subject: Hi\nX-Campaign-ID: spring\n"
	    "Message-ID: <q1@shop.example>\n", "Hi {{first_name}}\n", x->st),
	    MILTER_CONTINUE);
	outbox_job(x, 1, &msg, &to);
	assert_string_equal(buf_str(&to), "rob@example.com\n");
	assert_non_null(strstr(buf_str(&msg), "Content-Type: text/plain;"
	    " charset=utf-8\r\n"));
	assert_non_null(strstr(buf_str(&msg), "Content-Transfer-Encoding:"
	    " quoted-printable\r\n"));
	assert_non_null(strstr(buf_str(&msg), "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(buf_str(&msg), "\r\n\r\nHi Zo=C3=AB\r\n"));
	buf_free(&msg);
	buf_free(&to);
}

/* A message that names its recipient: one part, and copy, each. */
static void
test_split_personal(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<rob@example.com>",
	    NULL };
	struct buf msg, to;

	split_on(x);
	buf_init(&msg, 1 << 20);
	buf_init(&to, 1 << 20);
	assert_int_equal(run(x, rcpts, "Subject: For you\n"
	    "X-Campaign-ID: spring\n", "Hello {{first_name}}: {{offer}}\n",
	    x->st), MILTER_CONTINUE);
	/* the first part stays (a tie: the first), Rob gets a copy */
	assert_string_equal(buf_str(&x->body), "Hello Ann: 10% off\r\n");
	outbox_job(x, 1, &msg, &to);
	assert_string_equal(buf_str(&to), "rob@example.com\n");
	assert_non_null(strstr(buf_str(&msg), "Hello Rob: VIP: 25% off"));
	buf_free(&msg);
	buf_free(&to);
}

/* What copy MSG carries after its first body line. */
static const char *
after_first_line(struct buf *msg)
{
	return strchr(strstr(buf_str(msg), "\r\n\r\n") + 4, '\n') + 1;
}

/*
 * Copies of a message past the spool's memory limit: their bodies share
 * a spool on disk and go into the store through incremental blob I/O,
 * each from its own place in the spool, byte for byte.
 */
static void
test_split_big(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<rob@example.com>",
	    "<dee@example.com>", NULL };
	struct segment_rebuild_stats stats;
	struct buf big, msg, to;
	const char *tail;
	char err[512];
	size_t i;

	customer(x, "dee@example.com", "Dee", 1, 1);
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)), 0);
	split_on(x);
	buf_init(&big, 1 << 26);
	buf_init(&msg, 1 << 26);
	buf_init(&to, 1 << 20);
	buf_puts(&big, "Hello {{first_name}}: {{offer}}\n");
	for (i = 0; i < 20000; i++)
		buf_printf(&big, "Line %zu of the campaign copy, the same for"
		    " everyone.\n", i);
	assert_int_equal(run(x, rcpts, "Subject: For you\n"
	    "X-Campaign-ID: spring\n", buf_str(&big), x->st), MILTER_CONTINUE);
	assert_true(x->body.len > 1000000);	/* 16 KB in memory */
	assert_memory_equal(x->body.data, "Hello Ann: 10% off\r\n", 20);
	tail = strchr(buf_str(&x->body), '\n') + 1;

	outbox_job(x, 1, &msg, &to);
	assert_string_equal(buf_str(&to), "rob@example.com\n");
	assert_non_null(strstr(buf_str(&msg), "\r\n\r\nHello Rob: VIP: 25%"
	    " off\r\nLine 0 of"));
	assert_string_equal(after_first_line(&msg), tail);
	assert_true(marker_for(x, &msg, "rob@example.com"));

	outbox_job(x, 2, &msg, &to);
	assert_string_equal(buf_str(&to), "dee@example.com\n");
	assert_non_null(strstr(buf_str(&msg), "\r\n\r\nHello Dee: 10% off"
	    "\r\nLine 0 of"));
	assert_string_equal(after_first_line(&msg), tail);
	assert_true(marker_for(x, &msg, "dee@example.com"));
	buf_free(&big);
	buf_free(&msg);
	buf_free(&to);
}

/* split_language: one variant, two languages, two versions. */
static void
test_split_language(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<fr@example.com>",
	    NULL };
	struct segment_rebuild_stats stats;
	struct store_customer c;
	struct store_consent k;
	enum store_change ch;
	struct buf msg, to;
	char err[512];
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.email = "fr@example.com";
	c.first_name = "Zoé";
	c.country = "FR";
	c.language = "fr";
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	memset(&k, 0, sizeof(k));
	k.customer_id = id;
	k.channel = CHANNEL_EMAIL;
	k.granted = 1;
	k.source = "checkout";
	k.recorded_at = NOW - DAY;
	assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)), 0);
	split_on(x);
	buf_init(&msg, 1 << 20);
	buf_init(&to, 1 << 20);
	/* both get the default variant: one version without the setting */
	assert_int_equal(run(x, rcpts, "Subject: s\nX-Campaign-ID: spring\n"
	    "Message-ID: <l1@x>\n", "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_null(strstr(buf_str(&x->log), "delrcpt"));
	/* and two with it, another campaign message to fresh people */
	x->cf->outbox.split_language = 1;
	tstore_exec(x->db, "DELETE FROM ledger");
	assert_int_equal(run(x, rcpts, "Subject: s\nX-Campaign-ID: spring\n"
	    "Message-ID: <l2@x>\n", "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_non_null(strstr(buf_str(&x->log), "delrcpt <fr@example.com>"));
	outbox_job(x, 1, &msg, &to);
	assert_string_equal(buf_str(&to), "fr@example.com\n");
	buf_free(&msg);
	buf_free(&to);
}

/* The first row of SQL's answer on X's store, as text ("" for none). */
static void
query(struct mx *x, const char *sql, char *out, size_t outlen)
{
	tstore_text(x->db, out, outlen, "%s", sql);
}

/* SMS jobs queued to PHONE with TEXT, and AND-ed WHERE, if any. */
static int64_t
sms_queued(struct mx *x, const char *phone, const char *text,
    const char *where)
{
	char col[64];

	tstore_blob_text("message", col, sizeof(col));
	return tstore_int(x->db, "SELECT count(*) FROM outbox WHERE kind ="
	    " 'sms' AND recipients = '%s' AND %s = '%s'%s%s", phone, col,
	    text, where != NULL ? " AND " : "", where != NULL ? where : "");
}

/*
 * One recipient whose name holds a line break (it came in through an
 * import before imports cleaned names): the Subject that uses it cannot
 * be rendered.  That holds back nobody else: their copy is rendered
 * without their own values, the defaults standing in, and says so in
 * the audit log; where no default stands in, they alone are suppressed
 * as bad_record.  Before, the whole message tempfailed on every retry.
 */
static void
test_bad_record_alone(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<rob@example.com>",
	    NULL };
	char got[512];
	struct buf msg, to;

	customer(x, "rob@example.com", "Rob\r\nBcc: all@example.com", 1, 0);
	split_on(x);
	buf_init(&msg, 1 << 20);
	buf_init(&to, 1 << 20);
	assert_int_equal(run(x, rcpts, campaign_headers,
	    "Hi {{first_name|default:\"there\"}}\n", x->st), MILTER_CONTINUE);
	assert_string_equal(buf_str(&x->body), "Hi Ann\r\n");
	outbox_job(x, 1, &msg, &to);
	assert_string_equal(buf_str(&to), "rob@example.com\n");
	assert_non_null(strstr(buf_str(&msg), "Subject: Spring for you\r\n"));
	assert_non_null(strstr(buf_str(&msg), "\r\n\r\nHi there\r\n"));
	assert_null(strstr(buf_str(&msg), "Bcc"));
	query(x, "SELECT decision || ': ' || detail FROM audit WHERE"
	    " recipient = 'rob@example.com'", got, sizeof(got));
	assert_non_null(strstr(got, "deliver: rendered without their own"
	    " values: Subject: "));

	/* no default: Rob alone is suppressed, Ann gets hers */
	query(x, "DELETE FROM ledger", got, sizeof(got));
	assert_int_equal(run(x, rcpts, "Subject: Dear {{first_name}}\n"
	    "X-Campaign-ID: spring\nMessage-ID: <m9@shop.example>\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_non_null(strstr(buf_str(&x->log), "delrcpt <rob@example.com>"));
	assert_non_null(strstr(buf_str(&x->log), "chgheader Subject 1 Dear"
	    " Ann\n"));
	query(x, "SELECT decision FROM ledger WHERE recipient ="
	    " 'rob@example.com'", got, sizeof(got));
	assert_string_equal(got, "bad_record");
	buf_free(&msg);
	buf_free(&to);
}

/* RFC 8058: each recipient's own signed link, in place and in copies. */
static void
test_unsubscribe_links(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>", "<rob@example.com>",
	    NULL };
	char campaign[64], email[320], token[UNSUB_TOKEN_MAX];
	const char *p, *end;
	struct buf msg, to;
	int64_t at;

	split_on(x);
	free(x->cf->milter.unsubscribe_url);
	x->cf->milter.unsubscribe_url = strdup("https://shop.example/u?t=");
	buf_init(&msg, 1 << 20);
	buf_init(&to, 1 << 20);
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: spring\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	p = strstr(buf_str(&x->log), "addheader List-Unsubscribe <https://"
	    "shop.example/u?t=");
	assert_non_null(p);
	assert_non_null(strstr(buf_str(&x->log), "addheader"
	    " List-Unsubscribe-Post List-Unsubscribe=One-Click\n"));
	p = strstr(p, "?t=") + 3;
	end = strchr(p, '>');
	snprintf(token, sizeof(token), "%.*s", (int)(end - p), p);
	assert_int_equal(unsub_token_parse(x->cf->outbox.key,
	    x->cf->outbox.keylen, token, campaign, sizeof(campaign), email,
	    sizeof(email), &at), 0);
	assert_string_equal(campaign, "spring");
	assert_string_equal(email, "ann@example.com");
	assert_int_equal(at, NOW);
	/* someone else's token cannot be made from this one */
	token[0] = token[0] == 'A' ? 'B' : 'A';
	assert_int_equal(unsub_token_parse(x->cf->outbox.key,
	    x->cf->outbox.keylen, token, campaign, sizeof(campaign), email,
	    sizeof(email), &at), -1);
	/* Rob's copy carries his own */
	outbox_job(x, 1, &msg, &to);
	assert_non_null(strstr(buf_str(&msg), "List-Unsubscribe-Post:"
	    " List-Unsubscribe=One-Click\r\n"));
	p = strstr(buf_str(&msg), "List-Unsubscribe: <https://shop.example/"
	    "u?t=");
	assert_non_null(p);
	p = strstr(p, "?t=") + 3;
	end = strchr(p, '>');
	snprintf(token, sizeof(token), "%.*s", (int)(end - p), p);
	assert_int_equal(unsub_token_parse(x->cf->outbox.key,
	    x->cf->outbox.keylen, token, campaign, sizeof(campaign), email,
	    sizeof(email), &at), 0);
	assert_string_equal(email, "rob@example.com");
	buf_free(&msg);
	buf_free(&to);
}

/*
 * The customer a return path <bounces+TOKEN@shop.example> names, checked
 * with the key, for EMAIL and campaign spring; -1 when it names nobody.
 */
static int64_t
return_path_names(struct mx *x, const char *path, const char *email)
{
	struct bounce_token bt;
	char token[BOUNCE_TOKEN_MAX];

	if (sscanf(path, "<bounces+%40[a-z0-9]@shop.example>", token) != 1 ||
	    strlen(path) != strlen("<bounces+@shop.example>") +
	    BOUNCE_TOKEN_LEN ||
	    bounce_token_parse(x->cf->outbox.key, x->cf->outbox.keylen, token,
	    &bt) == -1 || !bounce_token_names_email(&bt, email) ||
	    !bounce_token_names_campaign(&bt, "spring"))
		return -1;
	return bt.customer_id;
}

/*
 * milter.bounce_domain: a message kept in place for one recipient, and
 * each copy (one recipient each here), leave with that recipient's own
 * signed return path; a message kept in place for several keeps its
 * sender (one envelope, one return path); an MTA that does not offer
 * CHGFROM gets the message all the same, sender unchanged.
 */
static void
test_return_paths(void **state)
{
	struct mx *x = *state;
	const char *const two[] = { "<ann@example.com>", "<rob@example.com>",
	    NULL };
	const char *const ann[] = { "<ann@example.com>", NULL };
	char got[512], line[512];
	const char *p;
	int64_t ann_id, rob_id;

	split_on(x);
	free(x->cf->milter.bounce_domain);
	x->cf->milter.bounce_domain = strdup("shop.example");
	query(x, "SELECT id FROM customers WHERE email = 'ann@example.com'",
	    got, sizeof(got));
	ann_id = strtoll(got, NULL, 10);
	query(x, "SELECT id FROM customers WHERE email = 'rob@example.com'",
	    got, sizeof(got));
	rob_id = strtoll(got, NULL, 10);

	/* Ann and Rob in two variants: one in place, one in a copy */
	assert_int_equal(run(x, two, "Subject: x\nX-Campaign-ID: spring\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	p = strstr(buf_str(&x->log), "chgfrom ");
	assert_non_null(p);
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(p + 8, "\n"), p + 8);
	query(x, "SELECT sender FROM outbox WHERE id = 1", got, sizeof(got));
	if (strstr(buf_str(&x->log), "delrcpt <rob@example.com>") != NULL) {
		assert_int_equal(return_path_names(x, line, "ann@example.com"),
		    ann_id);
		assert_int_equal(return_path_names(x, got, "rob@example.com"),
		    rob_id);
	} else {
		assert_int_equal(return_path_names(x, line, "rob@example.com"),
		    rob_id);
		assert_int_equal(return_path_names(x, got, "ann@example.com"),
		    ann_id);
	}
	/* not for anyone else, nor for another campaign */
	assert_int_equal(return_path_names(x, line, "bea@example.com"), -1);

	/* both in place (no copies without the outbox): sender kept */
	free(x->cf->outbox.reinject_url);
	x->cf->outbox.reinject_url = strdup("");
	query(x, "DELETE FROM ledger", got, sizeof(got));
	assert_int_equal(run(x, two, "Subject: x\nX-Campaign-ID: spring\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_null(strstr(buf_str(&x->log), "chgfrom"));

	/* an MTA without CHGFROM: delivered, sender kept */
	x->no_chgfrom = 1;
	query(x, "DELETE FROM ledger", got, sizeof(got));
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: spring\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_null(strstr(buf_str(&x->log), "chgfrom"));
	x->no_chgfrom = 0;

	/* off: nobody's sender changes */
	free(x->cf->milter.bounce_domain);
	x->cf->milter.bounce_domain = strdup("");
	query(x, "DELETE FROM ledger", got, sizeof(got));
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: spring\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_null(strstr(buf_str(&x->log), "chgfrom"));
	/* and on again, for Ann alone in place */
	free(x->cf->milter.bounce_domain);
	x->cf->milter.bounce_domain = strdup("shop.example");
	query(x, "DELETE FROM ledger", got, sizeof(got));
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: spring\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	p = strstr(buf_str(&x->log), "chgfrom ");
	assert_non_null(p);
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(p + 8, "\n"), p + 8);
	assert_int_equal(return_path_names(x, line, "ann@example.com"), ann_id);
}

/* An integer from the store, by SQL, for checks. */
static int64_t
q_int(struct mx *x, const char *sql)
{
	return tstore_int(x->db, "%s", sql);
}

/*
 * A message without a Message-ID is keyed by its fingerprint: SHA-256,
 * as segmilter(8) must say (it named BLAKE2b), 16 bytes of it in hex.
 */
static void
test_fingerprint_documented(void **state)
{
	struct mx *x = *state;
	const char *const ann[] = { "<ann@example.com>", NULL };
	const char *src = getenv("SEGM_SRCDIR");
	static char page[256 * 1024];
	char path[512];
	FILE *fp;
	size_t n;

	assert_int_equal(run(x, ann, "Subject: {{offer}}\n"
	    "X-Campaign-ID: spring\n", "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM ledger WHERE"
	    " message_key LIKE 'sha256:%' AND length(message_key) = 39"), 1);
	snprintf(path, sizeof(path), "%s/src/milter/segmilter.8",
	    src ? src : ".");
	assert_non_null(fp = fopen(path, "r"));
	n = fread(page, 1, sizeof(page) - 1, fp);
	fclose(fp);
	assert_true(n < sizeof(page) - 1);
	page[n] = '\0';
	assert_non_null(strstr(page, "by a SHA-256 fingerprint of its"
	    " sender, recipients, headers and body"));
	assert_null(strstr(page, "BLAKE2"));
}

/*
 * Sends campaign "cart" (Message-ID MSGID) to RCPTS afresh, while another
 * message queues Ann an SMS job of CAMPAIGN in STATE between this one's
 * lookups and its transaction (a trigger on the ledger plays it).
 */
static void
sms_meanwhile(struct mx *x, const char *const *rcpts, const char *campaign,
    const char *state, const char *msgid)
{
	char sql[1024], headers[256];

	assert_int_equal(q_int(x, "DELETE FROM ledger RETURNING 0"), 0);
	assert_int_equal(q_int(x, "DELETE FROM outbox RETURNING 0"), 0);
	snprintf(sql, sizeof(sql), "INSERT INTO outbox (kind, campaign_id,"
	    "  message_key, variant, sender, recipients, message, not_before,"
	    "  next_at, state, created_at, customer_id) SELECT 'sms', '%s',"
	    "  'k', 'v', '', phone, 'hi', 0, 0, '%s', 1795000000, id"
	    "  FROM customers WHERE email = 'ann@example.com';", campaign,
	    state);
	if (tstore_pgsql())
		tstore_exec(x->db, "CREATE FUNCTION meanwhile() RETURNS trigger"
		    " LANGUAGE plpgsql AS $$ BEGIN %s RETURN NULL; END $$;"
		    " CREATE TRIGGER meanwhile AFTER INSERT ON ledger"
		    " FOR EACH ROW WHEN (NEW.recipient = 'ann@example.com')"
		    " EXECUTE FUNCTION meanwhile()", sql);
	else
		tstore_exec(x->db, "CREATE TRIGGER meanwhile AFTER INSERT ON"
		    " ledger WHEN NEW.recipient = 'ann@example.com' BEGIN %s"
		    " END", sql);
	snprintf(headers, sizeof(headers), "Subject: x\nX-Campaign-ID: cart\n"
	    "Message-ID: %s\n", msgid);
	assert_int_equal(run(x, rcpts, headers, "{{offer}}\n", x->st),
	    MILTER_CONTINUE);
	tstore_exec(x->db, tstore_pgsql() ? "DROP TRIGGER meanwhile ON ledger;"
	    " DROP FUNCTION meanwhile()" : "DROP TRIGGER meanwhile");
}

/*
 * EMAIL with the number PHONE and SMS consent with evidence, living in
 * ZONE, COUNTRY and REGION (NULL: none).
 */
static void
sms_reachable(struct mx *x, const char *email, const char *first,
    const char *phone, const char *zone, const char *country,
    const char *region)
{
	struct store_customer c;
	struct store_consent k;
	enum store_change ch;
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.email = email;
	c.first_name = first;
	c.country = country;
	c.region = region;
	c.phone = phone;
	c.time_zone = zone;
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	memset(&k, 0, sizeof(k));
	k.customer_id = id;
	k.channel = CHANNEL_SMS;
	k.granted = 1;
	k.source = "checkout";
	k.recorded_at = NOW - 30 * DAY;
	k.evidence = "SMS box ticked";
	assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);
}

/*
 * Campaign "cart", with an SMS block for first-time, repeat and VIP
 * customers and the lines EXTRA; SMS on (webhook), all day by default.
 */
static void
sms_campaign(struct mx *x, const char *extra)
{
	char path[160], text[512], err[2048];

	snprintf(path, sizeof(path), "%s/campaigns/cart.conf", x->dir);
	snprintf(text, sizeof(text), "id = \"cart\";\n"
	    "variants = { default = { offer = \"10%% off\"; }; };\n"
	    "sms = { segments = [ \"first_time\", \"repeat\", \"vip\" ];\n"
	    "  text = \"{{first_name}}: {{offer}} STOP\";\n%s };\n", extra);
	write_file(path, text);
	campaign_set_free(x->set);
	if (campaign_set_load(x->cf->milter.campaigns_dir, x->cf, &x->set,
	    err, sizeof(err)) == -1)
		fail_msg("%s", err);
	x->env.campaigns = x->set;
	x->cf->sms.driver = SMS_WEBHOOK;
	x->cf->sms.window.start = 0;
	x->cf->sms.window.end = 24 * 60;
	tzdb_free(x->env.tzdb);		/* a test may load two campaigns */
	x->env.tzdb = tzdb_new(TZ_DIR);
}

/*
 * SMS: Ann (SMS consent with evidence, a number) gets a job with her
 * text, due at the block's send_after; Rob (email consent only) is
 * refused no_sms_consent; Bea (no email) is not considered; with the
 * driver off nobody is.
 */
static void
test_sms_jobs(void **state)
{
	static const char *const rcpts[] = { "<ann@example.com>",
	    "<rob@example.com>", "<bea@example.com>", NULL };
	struct mx *x = *state;

	sms_reachable(x, "ann@example.com", "Ann", "+4915112345678",
	    "Europe/Berlin", "DE", NULL);
	sms_campaign(x, "  send_after = \"2026-11-18T12:06:40Z\";");

	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: cart\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox"
	    " WHERE kind = 'sms'"), 1);
	assert_int_equal(sms_queued(x, "+4915112345678", "Ann: 10% off STOP",
	    "time_zone = 'Europe/Berlin' AND next_at = 1795003600"),
	    1);	/* send_after */
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " channel = 'sms' AND recipient = '+4915112345678' AND decision ="
	    " 'queued' AND consent LIKE 'granted checkout: SMS box ticked'"),
	    1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'sms' AND recipient = 'rob@example.com' AND decision ="
	    " 'no_sms_consent'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'sms'"), 2);

	/* the same message again: the email goes in place, the SMS is a
	 * duplicate of the job queued */
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: cart\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox"
	    " WHERE kind = 'sms'"), 1);

	/*
	 * Another message queues Ann an SMS of another campaign between
	 * this one's lookups and its transaction (a trigger on the ledger
	 * plays it): the caps are counted again, and she is capped.
	 */
	sms_meanwhile(x, rcpts, "other", "queued", "<meanwhile@x>");
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE"
	    " kind = 'sms' AND campaign_id = 'cart'"), 0);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'sms' AND message_id = '<meanwhile@x>' AND decision ="
	    " 'capped'"), 1);
	/* ... a job of this very campaign makes hers a duplicate, not a
	 * second SMS */
	sms_meanwhile(x, rcpts, "cart", "queued", "<same@x>");
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE"
	    " kind = 'sms' AND campaign_id = 'cart'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'sms' AND message_id = '<same@x>' AND decision ="
	    " 'duplicate'"), 1);
	/* ... but a job that failed sent nothing: no cap */
	sms_meanwhile(x, rcpts, "other", "failed", "<failed@x>");
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE"
	    " kind = 'sms' AND campaign_id = 'cart'"), 1);

	/* the driver off: nobody is considered */
	x->cf->sms.driver = SMS_OFF;
	assert_int_equal(q_int(x, "DELETE FROM ledger RETURNING 0"), 0);
	assert_int_equal(run(x, rcpts, "Subject: y\nX-Campaign-ID: cart\n"
	    "Message-ID: <other@x>\n", "{{offer}}\n", x->st),
	    MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'sms' AND message_id = '<other@x>'"), 0);
	tzdb_free(x->env.tzdb);
	x->env.tzdb = NULL;
}

/*
 * Classes: Ann has had a newsletter today, so the next promotional
 * campaign is capped (one per 16 hours), but a triggered one, whose
 * class has no cap, reaches her; its skip, when there is one, names the
 * class.  A campaign naming a class the configuration lacks is refused.
 */
static void
test_campaign_classes(void **state)
{
	static const char *const ann[] = { "<ann@example.com>", NULL };
	struct mx *x = *state;
	struct campaign_set *set;
	char path[160], err[2048];

	x->cf->classes = calloc(1, sizeof(*x->cf->classes));
	snprintf(x->cf->classes[0].name, CONF_NAME_MAX, "triggered");
	x->cf->classes[0].policy = x->cf->policy;
	x->cf->classes[0].policy.cap_count = 0;
	x->cf->nclasses = 1;
	snprintf(path, sizeof(path), "%s/campaigns/cart.conf", x->dir);
	write_file(path, "id = \"cart\";\nclass = \"triggered\";\n"
	    "variants = { default = { offer = \"10%\"; }; };\n");
	snprintf(path, sizeof(path), "%s/campaigns/news.conf", x->dir);
	write_file(path, "id = \"news\";\n"
	    "variants = { default = { offer = \"5%\"; }; };\n");
	campaign_set_free(x->set);
	if (campaign_set_load(x->cf->milter.campaigns_dir, x->cf, &x->set,
	    err, sizeof(err)) == -1)
		fail_msg("%s", err);
	x->env.campaigns = x->set;

	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: spring\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: news\n",
	    "{{offer}}\n", x->st), MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'news' AND decision = 'fatigued' AND detail LIKE"
	    " 'frequency cap:%'"), 1);
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: cart\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'cart' AND decision = 'deliver'"), 1);
	/* the triggered class with a cap of its own: its skip says so */
	x->cf->classes[0].policy.cap_count = 1;
	snprintf(path, sizeof(path), "%s/campaigns/cart.conf", x->dir);
	write_file(path, "id = \"cart2\";\nclass = \"triggered\";\n"
	    "variants = { default = { offer = \"10%\"; }; };\n");
	campaign_set_free(x->set);
	if (campaign_set_load(x->cf->milter.campaigns_dir, x->cf, &x->set,
	    err, sizeof(err)) == -1)
		fail_msg("%s", err);
	x->env.campaigns = x->set;
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: cart2\n",
	    "{{offer}}\n", x->st), MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'cart2' AND decision = 'fatigued' AND detail LIKE"
	    " 'class triggered: frequency cap:%'"), 1);

	write_file(path, "id = \"cart\";\nclass = \"trigered\";\n"
	    "variants = { default = { offer = \"10%\"; }; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cart.conf:2: class: 'trigered' is not"
	    " one of the classes"));
}

/* Loads the campaigns again, the file NAME now TEXT. */
static void reload_campaigns(struct mx *x, const char *name,
    const char *text);

/*
 * A class's priority: the triggered class (priority 10, its own cap of
 * one) counts only deliveries of priority 10 or more, so the spring
 * newsletter Ann had does not hold back her cart reminder, while the
 * reminder holds back a second one; the promotional cap counts every
 * delivery, the reminder's too.
 */
static void
test_class_priority(void **state)
{
	static const char *const ann[] = { "<ann@example.com>", NULL };
	static const char *const files[][2] = {
		{ "cart.conf", "id = \"cart\";\nclass = \"triggered\";\n"
		    "variants = { default = { offer = \"10%\"; }; };\n" },
		{ "cart2.conf", "id = \"cart2\";\nclass = \"triggered\";\n"
		    "variants = { default = { offer = \"10%\"; }; };\n" },
		{ "news.conf", "id = \"news\";\n"
		    "variants = { default = { offer = \"5%\"; }; };\n" },
	};
	struct mx *x = *state;
	size_t i;

	x->cf->classes = calloc(1, sizeof(*x->cf->classes));
	snprintf(x->cf->classes[0].name, CONF_NAME_MAX, "triggered");
	x->cf->classes[0].policy = x->cf->policy;	/* a cap of one */
	x->cf->classes[0].policy.priority = 10;
	x->cf->nclasses = 1;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		reload_campaigns(x, files[i][0], files[i][1]);
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: spring\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: cart\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: cart2\n",
	    "{{offer}}\n", x->st), MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'cart2' AND decision = 'fatigued' AND detail ="
	    " 'class triggered: frequency cap: 1 delivered in 16 h (cap 1)'"),
	    1);
	assert_int_equal(run(x, ann, "Subject: x\nX-Campaign-ID: news\n",
	    "{{offer}}\n", x->st), MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'news' AND decision = 'fatigued' AND detail ="
	    " 'frequency cap: 2 delivered in 16 h (cap 1)'"), 1);
}

static void
reload_campaigns(struct mx *x, const char *name, const char *text)
{
	char path[160], err[2048];

	snprintf(path, sizeof(path), "%s/campaigns/%s", x->dir, name);
	write_file(path, text);
	campaign_set_free(x->set);
	if (campaign_set_load(x->cf->milter.campaigns_dir, x->cf, &x->set,
	    err, sizeof(err)) == -1)
		fail_msg("%s", err);
	x->env.campaigns = x->set;
}

/*
 * A step of a cart sequence, send_after = "cart_at + 24h" with stop_if
 * ordered: Ann's copy is held until her cart's day is up, hers alone;
 * Rob, who ordered after his cart, meets the goal at once; Bea has no
 * cart (outside the audience).  When Ann's copy comes due it goes
 * (outbox_recheck: 0), unless she ordered since her cart: then it is
 * cancelled, her delivery withdrawn from the ledger and the summary,
 * and audited as copy_goal_met.  Without re-injection the file is
 * refused: nothing could hold the copies.
 */
static void
test_sequence_step(void **state)
{
	static const char *const rcpts[] = { "<ann@example.com>",
	    "<rob@example.com>", "<cy@example.com>", NULL };
	static const char cart2[] = "id = \"cart-2\";\nstop_if = [ \"ordered\" ];\n"
	    "variants = { default = { offer = \"Your cart\";"
	    " send_after = \"cart_at + 24h\"; }; };\n";
	struct mx *x = *state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct campaign_set *set;
	struct store_job *j;
	char sql[512], err[2048];
	int64_t next, ann_cart = NOW - 2 * 3600;

	split_on(x);
	x->env.store_lock = &lock;
	reload_campaigns(x, "cart2.conf", cart2);
	snprintf(sql, sizeof(sql), "UPDATE customer_segments SET"
	    " cart_abandoner = 1, cart_at = CASE customer_id WHEN 1 THEN %lld"
	    " ELSE %lld END WHERE customer_id IN (1, 2) RETURNING 0",
	    (long long)ann_cart, (long long)(NOW - 5 * 3600));
	q_int(x, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO orders (ref, customer_id,"
	    " created_at, financial_status, total) VALUES ('#rob-new', 2,"
	    " %lld, 'paid', 100) RETURNING 0", (long long)(NOW - 3600));
	q_int(x, sql);
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: cart-2\n",
	    "{{offer}}\n", x->st), MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'cart-2' AND recipient = 'rob@example.com' AND"
	    " decision = 'goal_met' AND detail LIKE 'ordered %, after"
	    " cart_at'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'cart-2' AND recipient = 'cy@example.com' AND"
	    " decision IN ('no_consent', 'audience')"), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM outbox WHERE"
	    " campaign_id = 'cart-2' AND recipients = 'ann@example.com\n'"
	    " AND not_before = %lld", (long long)(ann_cart + DAY));
	assert_int_equal(q_int(x, sql), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox"), 1);

	/* due, nothing changed: it goes */
	assert_int_equal(store_outbox_claim(x->st, ann_cart + DAY, 600,
	    STORE_JOB_EMAIL, &j, &next), 0);
	assert_int_equal(outbox_recheck(x->st, &x->env, j, ann_cart + DAY),
	    0);
	/* she ordered since her cart: withdrawn */
	snprintf(sql, sizeof(sql), "INSERT INTO orders (ref, customer_id,"
	    " created_at, financial_status, total) VALUES ('#ann-new', 1,"
	    " %lld, 'paid', 100) RETURNING 0", (long long)(NOW + 3600));
	q_int(x, sql);
	assert_int_equal(q_int(x, "SELECT count(*) FROM deliveries WHERE"
	    " campaign_id = 'cart-2'"), 1);
	assert_int_equal(outbox_recheck(x->st, &x->env, j, ann_cart + DAY),
	    1);
	store_job_free(j);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE"
	    " state = 'cancelled'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM ledger WHERE"
	    " campaign_id = 'cart-2' AND recipient = 'ann@example.com' AND"
	    " decision = 'goal_met'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM deliveries WHERE"
	    " campaign_id = 'cart-2'"), 0);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'cart-2' AND recipient = 'ann@example.com' AND"
	    " decision = 'copy_goal_met' AND detail LIKE '%goal_met when it"
	    " came due: ordered %, after cart_at'"), 1);

	/* a body that passes untouched cannot be split: Ann's next step,
	 * due later, is not sent early but refused, said why */
	reload_campaigns(x, "cart3.conf", "id = \"cart-3\";\n"
	    "variants = { default = { offer = \"Your cart\";"
	    " send_after = \"cart_at + 48h\"; }; };\n");
	assert_int_equal(run(x, (const char *const []){ "<ann@example.com>",
	    NULL }, "Subject: s\nX-Campaign-ID: cart-3\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\n",
	    "--b1\nContent-Type: text/plain\nContent-Transfer-Encoding:"
	    " x-unheard-of\n\n{{offer}}\n--b1--\n", x->st), MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " campaign_id = 'cart-3' AND decision = 'cannot_hold' AND detail"
	    " LIKE 'due %, but the message cannot be split to hold it: its"
	    " body passes untouched'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE"
	    " campaign_id = 'cart-3'"), 0);

	/* nothing can hold a copy without re-injection */
	free(x->cf->outbox.reinject_url);
	x->cf->outbox.reinject_url = strdup("");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cart2.conf: send_after from a fact or"
	    " send_local holds each recipient's copy in the outbox:"
	    " outbox.reinject_url is required"));
}

/*
 * send_local = "10:00": at 12:06 in Berlin (NOW), Ann's copy (Germany,
 * one zone) waits for tomorrow's 10:00 there, Rob's (his zone Tokyo) for
 * 10:00 JST, each alone; one whose zone nobody knows waits for 10:00 UTC.
 */
static void
test_send_local(void **state)
{
	static const char *const rcpts[] = { "<ann@example.com>",
	    "<rob@example.com>", NULL };
	struct mx *x = *state;

	split_on(x);
	x->cf->policy.cap_count = 0;		/* two campaigns in a row */
	tzdb_free(x->env.tzdb);
	x->env.tzdb = tzdb_new(TZ_DIR);
	reload_campaigns(x, "morning.conf", "id = \"morning\";\n"
	    "variants = { default = { offer = \"Good morning\";"
	    " send_local = \"10:00\"; }; };\n");
	q_int(x, "UPDATE customer_segments SET time_zone = 'Asia/Tokyo'"
	    " WHERE customer_id = 2 RETURNING 0");
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: morning\n",
	    "{{offer}}\n", x->st), MILTER_DISCARD);
	/* 2026-11-19 10:00 CET and 10:00 JST */
	assert_int_equal(q_int(x, "SELECT not_before FROM outbox WHERE"
	    " recipients = 'ann@example.com\n'"), 1795078800);
	assert_int_equal(q_int(x, "SELECT not_before FROM outbox WHERE"
	    " recipients = 'rob@example.com\n'"), 1795050000);
	q_int(x, "UPDATE customer_segments SET country = '', time_zone = ''"
	    " WHERE customer_id = 1 RETURNING 0");
	reload_campaigns(x, "morning.conf", "id = \"morning2\";\n"
	    "variants = { default = { offer = \"Good morning\";"
	    " send_local = \"10:00\"; }; };\n");
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: morning2\n",
	    "{{offer}}\n", x->st), MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT not_before FROM outbox WHERE"
	    " campaign_id = 'morning2' AND recipients ="
	    " 'ann@example.com\n'"), 1795082400);	/* 10:00 UTC */
	/* no tz database at all: UTC too, never at once */
	tzdb_free(x->env.tzdb);
	x->env.tzdb = NULL;
	reload_campaigns(x, "morning.conf", "id = \"morning3\";\n"
	    "variants = { default = { offer = \"Good morning\";"
	    " send_local = \"10:00\"; }; };\n");
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: morning3\n",
	    "{{offer}}\n", x->st), MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT not_before FROM outbox WHERE"
	    " campaign_id = 'morning3' AND recipients ="
	    " 'rob@example.com\n'"), 1795082400);
}

/*
 * channel = "sms_if_no_email": Bea, who never agreed to email but did
 * to texts, gets the SMS and no email; Ann, who agreed to both, gets
 * both, once; with the default channel Bea gets nothing at all.  And
 * channel = "sms": their segment texted, not emailed.
 */
static void
test_sms_if_no_email(void **state)
{
	static const char *const rcpts[] = { "<ann@example.com>",
	    "<bea@example.com>", NULL };
	struct mx *x = *state;
	struct campaign_set *set;
	char path[160], err[2048];

	sms_reachable(x, "ann@example.com", "Ann", "+4915112345678",
	    "Europe/Berlin", "DE", NULL);
	sms_reachable(x, "bea@example.com", "Bea", "+4915187654321",
	    "Europe/Berlin", "DE", NULL);
	sms_campaign(x, "");
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: cart\n"
	    "Message-ID: <both@x>\n", "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE kind ="
	    " 'sms' AND recipients = '+4915187654321'"), 0);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'sms' AND message_id = '<both@x>' AND recipient LIKE"
	    " '%bea%'"), 0);

	/* again, texting the no-email too: the email is for nobody now
	 * (Ann had it), the message discarded, Bea's SMS queued */
	sms_campaign(x, "  channel = \"sms_if_no_email\";");
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: cart\n"
	    "Message-ID: <either@x>\n", "{{offer}}\n", x->st),
	    MILTER_DISCARD);
	assert_int_equal(sms_queued(x, "+4915187654321", "Bea: 10% off STOP",
	    NULL), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'sms' AND message_id = '<either@x>' AND recipient ="
	    " '+4915187654321' AND decision = 'queued'"), 1);
	/* her email: still no */
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'email' AND message_id = '<either@x>' AND recipient ="
	    " 'bea@example.com' AND decision = 'no_consent'"), 1);
	/* Ann's SMS went with the first message: one, not two */
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE kind ="
	    " 'sms' AND recipients = '+4915112345678'"), 1);
	snprintf(path, sizeof(path), "%s/campaigns/cart.conf", x->dir);
	write_file(path, "id = \"cart\";\n"
	    "variants = { default = { offer = \"10%\"; }; };\n"
	    "sms = { segments = [ \"vip\" ]; text = \"Hi STOP\";\n"
	    "  channel = \"fax\"; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cart.conf:4: sms.channel: expected"
	    " \"email_and_sms\", \"sms_if_no_email\" or \"sms\"\n"));

	/* channel sms: the segment is texted instead; Ann, who agreed to
	 * both, gets the text and no email (by_sms), Bea the text; Rob,
	 * outside the segment, the email alone */
	x->cf->policy.cap_count = 0;		/* Ann had "cart", */
	x->cf->sms.cap_day = 2;			/* both its SMS */
	/* (the segments an expression, as an audience's) */
	reload_campaigns(x, "cart.conf", "id = \"cart-sms\";\n"
	    "variants = { default = { offer = \"10%\"; }; };\n"
	    "sms = { segments = [ \"vip\", \"first_time & !b2b\" ];\n"
	    "  text = \"{{first_name}}: {{offer}} STOP\"; channel = \"sms\"; };\n");
	assert_int_equal(run(x, (const char *const []){ "<ann@example.com>",
	    "<bea@example.com>", "<rob@example.com>", NULL },
	    "Subject: x\nX-Campaign-ID: cart-sms\nMessage-ID: <sms@x>\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_string_equal(buf_str(&x->log), "delrcpt <ann@example.com>\n"
	    "delrcpt <bea@example.com>\n"
	    "chgheader X-Campaign-ID 1 (delete)\n");
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'email' AND message_id = '<sms@x>' AND recipient ="
	    " 'ann@example.com' AND decision = 'by_sms'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE kind ="
	    " 'sms' AND campaign_id = 'cart-sms'"), 2);
	assert_int_equal(q_int(x, "SELECT count(*) FROM ledger WHERE"
	    " campaign_id = 'cart-sms' AND decision = 'deliver'"), 1);
	/* Ann's texts for the day are spent: no text can go, so the email
	 * does, said why */
	reload_campaigns(x, "cart.conf", "id = \"cart-sms2\";\n"
	    "variants = { default = { offer = \"10%\"; }; };\n"
	    "sms = { segments = [ \"first_time\" ];\n"
	    "  text = \"{{first_name}}: {{offer}} STOP\"; channel = \"sms\"; };\n");
	assert_int_equal(run(x, (const char *const []){ "<ann@example.com>",
	    NULL }, "Subject: x\nX-Campaign-ID: cart-sms2\n", "{{offer}}\n",
	    x->st), MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'email' AND campaign_id = 'cart-sms2' AND decision = 'deliver'"
	    " AND detail = 'channel sms, but no text can go (capped):"
	    " emailed'"), 1);
	/* a text does not wait for each recipient's time: refused */
	snprintf(path, sizeof(path), "%s/campaigns/cart.conf", x->dir);
	write_file(path, "id = \"cart-seq\";\n"
	    "variants = { default = { offer = \"10%\";"
	    " send_after = \"cart_at + 1h\"; }; };\n"
	    "sms = { segments = [ \"vip\" ]; text = \"Hi STOP\"; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cart.conf: sms: a text does not wait for"
	    " each recipient's send_after from a fact or send_local"));
	reload_campaigns(x, "cart.conf", "id = \"cart-sms\";\n"
	    "variants = { default = { offer = \"10%\"; }; };\n"
	    "sms = { segments = [ \"first_time\" ];\n"
	    "  text = \"{{first_name}}: {{offer}} STOP\"; channel = \"sms\"; };\n");
	/* nothing could text them with the driver off: refused */
	x->cf->sms.driver = SMS_OFF;
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cart.conf: sms.channel: \"sms\" with"
	    " sms.driver off"));
	tzdb_free(x->env.tzdb);
	x->env.tzdb = NULL;
}

/*
 * SMS follows the arm of the email: the held out get no text, the broad
 * arm the default variant's, the tailored their own.
 */
static void
test_sms_arms(void **state)
{
	struct mx *x = *state;
	struct segment_rebuild_stats stats;
	const char *rcpts[41];
	char addr[40][48], email[40], phone[24], path[160], err[2048];
	char text[64];
	struct digest_hmac *draws;
	int i;

	for (i = 0; i < 40; i++) {
		snprintf(email, sizeof(email), "s%d@example.com", i);
		customer(x, email, "C", 1, 3);
		snprintf(phone, sizeof(phone), "+4915100000%03d", i);
		sms_reachable(x, email, "C", phone, "Europe/Berlin", "DE",
		    NULL);
		snprintf(addr[i], sizeof(addr[i]), "<%s>", email);
		rcpts[i] = addr[i];
	}
	rcpts[40] = NULL;
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)), 0);
	sms_campaign(x, "");
	snprintf(path, sizeof(path), "%s/campaigns/cart.conf", x->dir);
	write_file(path, "id = \"cart\";\n"
	    "arms = { tailored = 40; broad = 30; none = 30; };\n"
	    "variants = { vip = { offer = \"25% off\"; };\n"
	    "  repeat = { offer = \"20% off\"; };\n"
	    "  default = { offer = \"10% off\"; }; };\n"
	    "sms = { segments = [ \"first_time\", \"repeat\", \"vip\" ];\n"
	    "  text = \"{{first_name}}: {{offer}} STOP\"; };\n");
	campaign_set_free(x->set);
	memcpy(x->cf->outbox.key, "0123456789abcdef0123", 20);
	x->cf->outbox.keylen = 20;
	if (campaign_set_load(x->cf->milter.campaigns_dir, x->cf, &x->set,
	    err, sizeof(err)) == -1)
		fail_msg("%s", err);
	x->env.campaigns = x->set;
	draws = policy_arm_key(x->cf->outbox.key, x->cf->outbox.keylen);
	x->env.draws = draws;

	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: cart\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_in_range(q_int(x, "SELECT count(*) FROM ledger WHERE"
	    " arm = 'none'"), 4, 24);
	/* the held out: no SMS, not even a refusal */
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit a JOIN ledger l"
	    " ON l.customer_id = a.customer_id WHERE a.channel = 'sms'"
	    " AND l.arm = 'none'"), 0);
	/* the rest: an SMS each, in the variant of their arm */
	tstore_blob_text("j.message", text, sizeof(text));
	assert_int_equal(tstore_int(x->db, "SELECT count(*) FROM outbox j"
	    " JOIN ledger l ON l.customer_id = j.customer_id"
	    " WHERE j.kind = 'sms' AND ((l.arm = 'broad' AND %s ="
	    "  'C: 10%% off STOP')"
	    " OR (l.arm = 'tailored' AND %s <> 'C: 10%% off STOP'))", text,
	    text), q_int(x, "SELECT count(*) FROM ledger"
	    " WHERE arm IN ('broad', 'tailored')"));
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE"
	    " kind = 'sms'"), q_int(x, "SELECT count(*) FROM ledger"
	    " WHERE arm IN ('broad', 'tailored')"));
	digest_hmac_free(draws);
	tzdb_free(x->env.tzdb);
	x->env.tzdb = NULL;
}

/*
 * Quiet hours per recipient within one message: Dee, in Florida, whose
 * window opens at 08:00, comes between two New Yorkers of her time zone
 * (all day) and waits until then; they do not.  Recipients share a
 * place, a due time and its text only when zone, country and region all
 * match.
 */
static void
test_sms_places(void **state)
{
	static const char *const rcpts[] = { "<ann@example.com>",
	    "<dee@example.com>", "<rob@example.com>", NULL };
	struct mx *x = *state;
	struct segment_rebuild_stats stats;
	char err[2048];

	customer(x, "dee@example.com", "Dee", 1, 1);
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)), 0);
	sms_reachable(x, "ann@example.com", "Ann", "+12125550101",
	    "America/New_York", "US", "NY");
	sms_reachable(x, "dee@example.com", "Dee", "+13055550102",
	    "America/New_York", "US", "FL");
	sms_reachable(x, "rob@example.com", "Rob", "+12125550103",
	    "America/New_York", "US", "NY");
	sms_campaign(x, "");
	free(x->cf->sms.windows);
	x->cf->sms.windows = calloc(1, sizeof(*x->cf->sms.windows));
	assert_non_null(x->cf->sms.windows);
	snprintf(x->cf->sms.windows[0].where,
	    sizeof(x->cf->sms.windows[0].where), "US-FL");
	assert_int_equal(conf_window_parse("08:00-20:00",
	    &x->cf->sms.windows[0].w), 0);
	x->cf->sms.nwindows = 1;

	/* 11:06:40 UTC is 06:06:40 in New York; Dee's 08:00 is 13:00 UTC */
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: cart\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE"
	    " kind = 'sms' AND next_at = 1795000000 AND recipients IN"
	    " ('+12125550101', '+12125550103')"), 2);
	assert_int_equal(q_int(x, "SELECT count(*) FROM outbox WHERE"
	    " kind = 'sms' AND next_at = 1795006800 AND recipients ="
	    " '+13055550102'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " channel = 'sms' AND decision = 'queued' AND detail LIKE"
	    " '%due 2026-11-18T13:00:00Z (quiet hours)' AND recipient ="
	    " '+13055550102'"), 1);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " channel = 'sms' AND decision = 'queued' AND detail LIKE"
	    " '%due 2026-11-18T11:06:40Z' AND recipient IN"
	    " ('+12125550101', '+12125550103')"), 2);
	tzdb_free(x->env.tzdb);
	x->env.tzdb = NULL;
}

/*
 * A first name longer than the recipient's field (200 bytes of e-acute,
 * from a store imported before import cut names) is cut where a
 * character starts: cut in the middle of one, the text was not UTF-8 and
 * the SMS was dropped as no_text.
 */
static void
test_sms_long_name(void **state)
{
	static const char *const rcpts[] = { "<ann@example.com>", NULL };
	struct mx *x = *state;
	char first[256], sql[1024];
	size_t i;

	for (i = 0; i < 100; i++)
		memcpy(first + 2 * i, "\xc3\xa9", 2);
	first[200] = '\0';
	sms_reachable(x, "ann@example.com", first, "+4915112345678",
	    "Europe/Berlin", "DE", NULL);
	sms_campaign(x, "");
	assert_int_equal(run(x, rcpts, "Subject: x\nX-Campaign-ID: cart\n",
	    "{{offer}}\n", x->st), MILTER_CONTINUE);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE channel ="
	    " 'sms' AND decision = 'no_text'"), 0);
	/* 63 of the 100 characters: 126 bytes, the most that fit in 127 */
	snprintf(sql, sizeof(sql), "%.126s: 10%% off STOP", first);
	assert_int_equal(sms_queued(x, "+4915112345678", sql, NULL), 1);
	tzdb_free(x->env.tzdb);
	x->env.tzdb = NULL;
}

static void
test_campaign_files(void **state)
{
	struct mx *x = *state;
	struct campaign_set *set;
	const struct campaign *c;
	char path[160], err[4096];

	c = campaign_find(x->set, "spring");
	assert_non_null(c);
	assert_int_equal(c->nvariants, 2);
	assert_string_equal(c->variants[1].name, "repeat");
	assert_string_equal(expr_text(c->variant_match[1]), "repeat");
	assert_string_equal(campaign_value(c, 1, "offer"), "20% off");
	assert_string_equal(campaign_value(c, 1, "headline"), "Spring");
	assert_string_equal(campaign_value(c, -1, "offer"), "10% off");
	assert_null(campaign_value(c, -1, "nothing"));
	assert_string_equal(campaign_variant_name(c, -1), "default");
	assert_null(campaign_find(x->set, "autumn"));

	snprintf(path, sizeof(path), "%s/campaigns/bad.conf", x->dir);
	write_file(path, "id = \"spring\";\n"
	    "audience = { include = [ \"VIP Club\" ]; };\n"
	    "variants = {\n  vip = { offer = 25; };\n};\n"
	    "colour = \"red\";\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.conf:2: audience.include: element 1:"
	    " 'VIP Club': column 5: expected '&', '|' or the end, found"
	    " 'Club'"));
	assert_non_null(strstr(err, "bad.conf:4: variants.vip.offer: expected"
	    " a string"));
	assert_non_null(strstr(err, "bad.conf:3: variants: a default variant"
	    " is required"));
	assert_non_null(strstr(err, "bad.conf:6: colour: unknown setting"));
	assert_non_null(strstr(err, "id: 'spring' is also the id of"));
	write_file(path, "id = \"x\";\nvariants = { default = {}; };\n"
	    "arms = { tailored = 80;\n broad = 10.5;\n none = 5;\n"
	    " colour = 1; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.conf:3: arms: tailored, broad and"
	    " none add up to 95.50%, not 100%"));
	assert_non_null(strstr(err, "bad.conf:6: arms.colour: unknown"));
	write_file(path, "id = \"x\";\nvariants = { default = {}; };\n"
	    "arms = { tailored = 101; broad = 12.345; none = \"5\";\n"
	    " experiment = \"a b\"; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "arms.tailored: expected a percentage"));
	assert_non_null(strstr(err, "arms.broad: expected a percentage"));
	assert_non_null(strstr(err, "arms.none: expected a percentage"));
	assert_non_null(strstr(err, "arms.experiment: expected letters"));
	/*
	 * Slips of the pen, all reported at once at their lines: a segment
	 * and a facet misspelt, a reserved key misspelt in a variant; a
	 * name that is none of them, but no slip (a category the shop's
	 * data may bring), stands.
	 */
	write_file(path, "id = \"x\";\n"
	    "audience = { include = [ \"vpi\", \"tea\",\n"
	    "  \"contry_de\" ];\n exclude = [ \"lapsed & !bb2\" ]; };\n"
	    "variants = { lapsd = { offer = \"a\"; };\n"
	    "  default = { offer = \"b\"; sendafter = \"x\"; }; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.conf:2: audience.include: 'vpi' is"
	    " no segment or facet: did you mean 'vip'?\n"));
	assert_non_null(strstr(err, "bad.conf:3: audience.include:"
	    " 'contry_de' is no segment or facet: did you mean"
	    " 'country_de'?\n"));
	assert_non_null(strstr(err, "bad.conf:4: audience.exclude: 'bb2' is"
	    " no segment or facet: did you mean 'b2b'?\n"));
	assert_non_null(strstr(err, "bad.conf:5: variants: 'lapsd' is no"
	    " segment or facet: did you mean 'lapsed'?\n"));
	assert_non_null(strstr(err, "bad.conf:6: variants.default.sendafter:"
	    " did you mean send_after?\n"));
	assert_null(strstr(err, "'tea'"));
	/* variants keyed by an expression; its names checked alike; the
	 * default is everyone's */
	write_file(path, "id = \"x\";\n"
	    "variants = { swiss = { match = \"language_de & currency_chf\";"
	    " offer = \"a\"; };\n"
	    "  tea_fans = { match = \"lapsd & tea\"; };\n"
	    "  default = { match = \"vip\"; offer = \"b\"; }; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.conf:3: variants.match: 'lapsd' is"
	    " no segment or facet: did you mean 'lapsed'?\n"));
	assert_non_null(strstr(err, "bad.conf:4: variants.default.match: the"
	    " default variant is everyone's: it takes no match\n"));
	assert_null(strstr(err, "swiss"));
	/* a category's buying cycle: the category, or the prefix, slips */
	write_file(path, "id = \"x\";\n"
	    "audience = { include = [ \"lapsed_cofee\",\n"
	    "  \"lapsd_coffee | due_furniture | due_kombucha\" ]; };\n"
	    "variants = { default = {}; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.conf:2: audience.include:"
	    " 'lapsed_cofee' is no segment or facet: did you mean"
	    " 'lapsed_coffee'?\n"));
	assert_non_null(strstr(err, "bad.conf:3: audience.include:"
	    " 'lapsd_coffee' is no segment or facet: did you mean"
	    " 'lapsed_coffee'?\n"));
	assert_null(strstr(err, "due_furniture"));
	assert_null(strstr(err, "kombucha"));	/* the shop's data may */
	write_file(path, "id = \"x\";\n"
	    "variants = { swiss = { match = \"language_de & currency_chf\";"
	    " offer = \"a\"; };\n  default = { offer = \"b\"; }; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, x->cf,
	    &set, err, sizeof(err)), 0);
	c = campaign_find(set, "x");
	assert_string_equal(c->variants[0].name, "swiss");
	assert_string_equal(expr_text(c->variant_match[0]),
	    "language_de & currency_chf");
	assert_null(campaign_value(c, 0, "match"));
	campaign_set_free(set);
	/* two decimals that binary floating point cannot hold exactly */
	write_file(path, "id = \"x\";\nvariants = { default = {}; };\n"
	    "arms = { tailored = 97.7; broad = 1.1; none = 1.2; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), 0);
	c = campaign_find(set, "x");
	assert_int_equal(c->arms.broad, 110);
	campaign_set_free(set);
	write_file(path, "id = \"x\";\nvariants = { default = {}; };\n"
	    "arms = { tailored = 90; none = 10; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), 0);
	c = campaign_find(set, "x");
	assert_int_equal(c->arms.tailored, 9000);
	assert_int_equal(c->arms.none, 1000);
	assert_string_equal(c->arms.experiment, "x");	/* the campaign's */
	campaign_set_free(set);
	/* an SMS must say how to stop it */
	write_file(path, "id = \"x\";\nvariants = { default = {}; };\n"
	    "sms = { segments = [ \"vip\" ];\n text = \"Sale: 10% off\"; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.conf:4: sms.text: no opt-out"
	    " wording"));
	write_file(path, "id = \"x\";\nvariants = { default = {}; };\n"
	    "sms = { segments = [ \"vip\" ];\n text = \"Sale! Stop: text"
	    " back\"; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), 0);
	campaign_set_free(set);
	write_file(path, "id = \"x\";\nvariants = { default = ; };\n");
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), -1);
	if (strstr(err, "bad.conf:2: syntax error") == NULL)
		fail_msg("%s", err);
	unlink(path);
	/* a directory named like a campaign: libconfig's reader exited */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir, NULL,
	    &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.conf: not a regular file"));
	rmdir(path);
}

/*
 * A campaign signed before segmilter: rewriting it breaks the signature,
 * so the signature goes (and the log says so), or with dkim_signature =
 * keep, nothing is rewritten: recipients are still suppressed.
 */
static void
test_dkim_signed(void **state)
{
	struct mx *x = *state;
	const char *const rcpts[] = { "<ann@example.com>",
	    "<bea@example.com>", NULL };
	static const char signed_headers[] =
	    "DKIM-Signature: v=1; a=rsa-sha256; d=shop.example; s=s1; h=from:subject; b=abc\n"
	    "From: Shop <news@shop.example>\n"
	    "Subject: {{offer}}\n"
	    "X-Campaign-ID: spring\n"
	    "Message-ID: <signed@shop.example>\n";

	assert_int_equal(run(x, rcpts, signed_headers, "{{offer}}\n", x->st),
	    MILTER_CONTINUE);
	assert_non_null(strstr(buf_str(&x->log),
	    "chgheader DKIM-Signature 1 (delete)\n"));
	assert_non_null(strstr(buf_str(&x->log), "chgheader Subject 1 "));
	assert_non_null(strstr(buf_str(&x->log), "delrcpt <bea@example.com>"));

	x->cf->milter.dkim_signature = DKIM_KEEP;
	assert_int_equal(q_int(x, "DELETE FROM ledger RETURNING 0"), 0);
	assert_int_equal(run(x, rcpts, signed_headers, "{{offer}}\n", x->st),
	    MILTER_CONTINUE);
	/* Bea still out; not a header changed, not the body */
	assert_string_equal(buf_str(&x->log), "delrcpt <bea@example.com>\n");
	assert_int_equal(x->body.len, 0);
}

/*
 * A campaign with arms: every consenting recipient falls in one arm, the
 * same one again when the message comes back, with the decision in the
 * ledger and the audit log alike; the held out are removed, the broad
 * arm gets the default variant.
 */
static void
test_arms(void **state)
{
	struct mx *x = *state;
	struct segment_rebuild_stats stats;
	struct audit_report rep;
	const char *rcpts[61];
	struct digest_hmac *draws;
	char addr[60][48], email[40], path[160], err[2048];
	int i;

	for (i = 0; i < 60; i++) {
		snprintf(email, sizeof(email), "c%d@example.com", i);
		customer(x, email, "C", 1, 3);		/* repeat */
		snprintf(addr[i], sizeof(addr[i]), "<%s>", email);
		rcpts[i] = addr[i];
	}
	rcpts[60] = NULL;
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/campaigns/spring.conf", x->dir);
	write_file(path, "id = \"spring\";\n"
	    "arms = { tailored = 34; broad = 33; none = 33; };\n"
	    "variants = { vip = { offer = \"25% off\"; };\n"
	    "  repeat = { offer = \"20% off\"; };\n"
	    "  default = { offer = \"10% off\"; headline = \"Spring\"; };"
	    " };\n");
	campaign_set_free(x->set);
	/* drawn with the secret key: without one, refused */
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir,
	    x->cf, &x->set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "spring.conf: arms: outbox.key_file is"
	    " required"));
	memcpy(x->cf->outbox.key, "0123456789abcdef0123", 20);
	x->cf->outbox.keylen = 20;
	assert_int_equal(campaign_set_load(x->cf->milter.campaigns_dir,
	    x->cf, &x->set, err, sizeof(err)), 0);
	x->env.campaigns = x->set;
	draws = policy_arm_key(x->cf->outbox.key, x->cf->outbox.keylen);
	x->env.draws = draws;

	assert_int_equal(run(x, rcpts, campaign_headers, "{{offer}}\n",
	    x->st), MILTER_CONTINUE);
	/* every one of them in an arm, each arm a fair share */
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " decision IN ('deliver', 'broad', 'held_out')"), 60);
	assert_in_range(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'held_out'"), 8, 32);
	assert_in_range(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'broad'"), 8, 32);
	/* the ledger says the same, arm by arm, with the segment */
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit a JOIN ledger l"
	    " ON l.customer_id = a.customer_id AND l.campaign_id = 'spring'"
	    " WHERE (a.decision = 'held_out' AND l.arm = 'none'"
	    "   AND l.decision = 'held_out')"
	    " OR (a.decision = 'broad' AND l.arm = 'broad'"
	    "   AND l.decision = 'deliver' AND l.variant = 'default'"
	    "   AND a.variant = 'default')"
	    " OR (a.decision = 'deliver' AND l.arm = 'tailored'"
	    "   AND l.variant = a.variant AND a.variant = a.segment)"), 60);
	assert_int_equal(q_int(x, "SELECT count(*) FROM ledger l JOIN audit a"
	    " ON a.customer_id = l.customer_id WHERE l.campaign_id = 'spring'"
	    " AND l.segment = a.segment AND a.segment IN ('vip', 'repeat')"),
	    60);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'held_out' AND detail LIKE 'arm none of spring:"
	    " draw 0.%'"), q_int(x, "SELECT count(*) FROM ledger WHERE"
	    " arm = 'none'"));
	/* each held out is removed from the message */
	for (i = 0; i < 60; i++) {
		char sql[200], del[60];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE"
		    " decision = 'held_out' AND recipient = '%.*s'",
		    (int)strlen(addr[i]) - 2, addr[i] + 1);
		snprintf(del, sizeof(del), "delrcpt %s\n", addr[i]);
		assert_int_equal(q_int(x, sql),
		    strstr(buf_str(&x->log), del) != NULL);
	}

	/* sent again (another message of the campaign): the same held out,
	 * the rest delivered already; nobody left */
	assert_int_equal(run(x, rcpts, again_headers, "{{offer}}\n", x->st),
	    MILTER_DISCARD);
	assert_int_equal(q_int(x, "SELECT count(*) FROM audit a JOIN audit b"
	    " ON a.recipient = b.recipient AND a.seq < b.seq"
	    " WHERE a.decision = 'held_out' AND b.decision = 'held_out'"),
	    q_int(x, "SELECT count(*) FROM ledger WHERE arm = 'none'"));
	assert_int_equal(audit_verify(x->st, NULL, NULL, 0, &rep), 0);
	digest_hmac_free(draws);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arms, mx_setup,
		    mx_teardown),
		cmocka_unit_test_setup_teardown(test_sms_arms, mx_setup,
		    mx_teardown),
		cmocka_unit_test_setup_teardown(test_transactional_untouched,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_suppress_and_rewrite,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_discarded,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_dkim_signed,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_headers_only, mx_setup,
		    mx_teardown),
		cmocka_unit_test_setup_teardown(test_retry_without_message_id,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint_documented,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_failures_tempfail,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_mime_untouched,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_large_body,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_campaign_files,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_split_copies,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_record_alone,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_split_marker_rebound,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_split_copy_gains_mime,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_split_personal,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_split_big,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_return_paths, mx_setup,
		    mx_teardown),
		cmocka_unit_test_setup_teardown(test_unsubscribe_links,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_sms_if_no_email, mx_setup,
		    mx_teardown),
		cmocka_unit_test_setup_teardown(test_class_priority,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_sequence_step,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_send_local,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_campaign_classes,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_fatigue_meanwhile,
		    mx_setup, mx_teardown),
		cmocka_unit_test_setup_teardown(test_sms_jobs, mx_setup,
		    mx_teardown),
		cmocka_unit_test_setup_teardown(test_sms_places, mx_setup,
		    mx_teardown),
		cmocka_unit_test_setup_teardown(test_sms_long_name, mx_setup,
		    mx_teardown),
		cmocka_unit_test_setup_teardown(test_split_language,
		    mx_setup, mx_teardown),
	};

	/* the milter's log lines go to stderr, beside cmocka's */
	openlog("test_milter", LOG_PERROR, LOG_MAIL);
	render_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
