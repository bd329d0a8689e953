/*
 * test_feed.c - segfeed's requests through feedback_handle(), no socket:
 * the routes and methods, the forms it reads (urlencoded, multipart),
 * one-click unsubscribe recorded once with its audit row, a forged token
 * refused with nothing changed, GET changing nothing, fewer emails and
 * stay subscribed, and the page escaping what it inserts.  The gateways
 * (gateway.c): off without their secret; Twilio's signature and
 * Kannel's secret checked before anything changes (401, 403); a STOP
 * opting the number out with its audit row and anchor; HELP's TwiML;
 * reports; malformed requests 400; Shopify's HMAC, a delivery applied
 * once, an unparseable payload 200 with nothing written; no store 503.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit.h"
#include "feedback.h"
#include "store_record.h"
#include "unsub.h"
#include "tstore.h"

#define NOW	((int64_t)1795000000)
#define DAY	86400

static const char page[] = "{{email}}|{{campaign}}|{{action}}|"
    "{{#page}}P{{/page}}{{#done}}D{{/done}}{{#changed}}C{{/changed}}"
    "{{#unsubscribed}}U{{/unsubscribed}}{{#fewer}}F{{gap_days}}{{/fewer}}";

struct fx {
	char		 dir[64];
	char		 db[256];
	struct conf	*conf;
	struct feedback_env env;
	struct store	*st;
	int64_t		 ann;
	char		 token[UNSUB_TOKEN_MAX];
	char		 target[UNSUB_TOKEN_MAX + 16];
};

static int
fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct store_customer c;
	struct store_consent k;
	enum store_change ch;
	char err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-feed-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	c.email = "ann@example.com";
	assert_int_equal(store_customer_upsert(x->st, &c, &x->ann, &ch), 0);
	memset(&k, 0, sizeof(k));
	k.customer_id = x->ann;
	k.channel = CHANNEL_EMAIL;
	k.granted = 1;
	k.source = "checkout";
	k.recorded_at = NOW - 100 * DAY;
	assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);

	x->conf = conf_defaults();
	memcpy(x->conf->outbox.key, "0123456789abcdef0123", 20);
	x->conf->outbox.keylen = 20;
	free(x->conf->feedback.public_url);
	x->conf->feedback.public_url = strdup("https://shop.example/");
	x->env.conf = x->conf;
	x->env.page = page;
	x->env.pagelen = strlen(page);
	assert_int_equal(conf_unsub_route("https://shop.example/u/",
	    &x->env.unsub, err, sizeof(err)), 0);
	snprintf(x->env.conf_hash, sizeof(x->env.conf_hash), "%064d", 0);
	x->env.st = x->st;
	assert_int_equal(unsub_token_make(x->conf->outbox.key,
	    x->conf->outbox.keylen, "spring", "ann@example.com", NOW - DAY,
	    x->token, sizeof(x->token)), 0);
	snprintf(x->target, sizeof(x->target), "/u/%s", x->token);
	*state = x;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *x = *state;
	char cmd[128];

	store_close(x->st);
	conf_free(x->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/* One request; its status, the body into BODY (may be NULL). */
static int
req(struct fx *x, const char *method, const char *target, const char *ctype,
    const char *body, int64_t now, char *out, size_t outlen)
{
	struct feedback_request rq;
	struct feedback_response rs;
	int status;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.target = target;
	rq.content_type = ctype;
	rq.body = body ? body : "";
	rq.len = body ? strlen(body) : 0;
	rq.now = now;
	feedback_response_init(&rs);
	feedback_handle(&x->env, &rq, &rs);
	status = rs.status;
	if (out != NULL)
		snprintf(out, outlen, "%s", buf_str(&rs.body));
	feedback_response_free(&rs);
	return status;
}

static int64_t
count(struct fx *x, const char *sql)
{
	return tstore_int(x->db, "%s", sql);
}

#define UNSUBS	"SELECT count(*) FROM engagement WHERE type = 'unsubscribe'"
#define AUDITS	"SELECT count(*) FROM audit"

static void
test_routes_and_methods(void **state)
{
	struct fx *x = *state;
	char body[512];

	assert_int_equal(req(x, "GET", "/", NULL, NULL, NOW, NULL, 0), 404);
	assert_int_equal(req(x, "GET", "/other/x", NULL, NULL, NOW, NULL,
	    0), 404);
	assert_int_equal(req(x, "GET", "/u/", NULL, NULL, NOW, NULL, 0),
	    404);	/* no token */
	assert_int_equal(req(x, "GET", "", NULL, NULL, NOW, NULL, 0), 404);
	assert_int_equal(req(x, "PUT", x->target, NULL, NULL, NOW, NULL, 0),
	    405);
	assert_int_equal(req(x, "DELETE", x->target, NULL, NULL, NOW, body,
	    sizeof(body)), 405);
	assert_int_equal(count(x, AUDITS), 0);
}

/* GET shows the page and changes nothing: scanners fetch every link */
static void
test_get_changes_nothing(void **state)
{
	struct fx *x = *state;
	char body[2048], want[2048];

	assert_int_equal(req(x, "GET", x->target, NULL, NULL, NOW, body,
	    sizeof(body)), 200);
	snprintf(want, sizeof(want), "ann@example.com|spring|"
	    "https://shop.example/u/%s|P", x->token);
	assert_string_equal(body, want);
	assert_int_equal(req(x, "HEAD", x->target, NULL, NULL, NOW, NULL, 0),
	    200);
	assert_int_equal(count(x, UNSUBS), 0);
	assert_int_equal(count(x, AUDITS), 0);
}

static void
test_one_click(void **state)
{
	struct fx *x = *state;
	struct audit_report rep;
	char body[2048];

	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click",
	    NOW, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "|DCU"));
	assert_int_equal(count(x, UNSUBS), 1);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'unsubscribed' AND queue_id = 'segfeed' AND"
	    " campaign_id = 'spring' AND recipient = 'ann@example.com'"), 1);
	/* again, later: nothing more */
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click",
	    NOW + 60, body, sizeof(body)), 200);
	assert_null(strstr(body, "C"));
	assert_int_equal(count(x, UNSUBS), 1);
	assert_int_equal(count(x, AUDITS), 1);
	assert_int_equal(audit_verify(x->st, NULL, NULL, 0, &rep), 0);
}

static void
test_one_click_multipart(void **state)
{
	struct fx *x = *state;
	static const char mp[] = "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
	    "\r\n"
	    "One-Click\r\n"
	    "--XyZ--\r\n";

	assert_int_equal(req(x, "POST", x->target,
	    "multipart/form-data; boundary=XyZ", mp, NOW, NULL, 0), 200);
	assert_int_equal(count(x, UNSUBS), 1);
}

static void
test_forged_and_bad_posts(void **state)
{
	struct fx *x = *state;
	char t[UNSUB_TOKEN_MAX + 16];
	size_t n;

	/* one hex digit of the HMAC changed */
	snprintf(t, sizeof(t), "%s", x->target);
	n = strlen(t);
	t[n - 1] = t[n - 1] == '0' ? '1' : '0';
	assert_int_equal(req(x, "POST", t, "application/x-www-form-urlencoded",
	    "List-Unsubscribe=One-Click", NOW, NULL, 0), 400);
	assert_int_equal(req(x, "GET", "/u/not.a.token", NULL, NULL, NOW,
	    NULL, 0), 400);
	assert_int_equal(req(x, "POST", x->target, "text/plain",
	    "List-Unsubscribe=One-Click", NOW, NULL, 0), 415);
	assert_int_equal(req(x, "POST", x->target, NULL,
	    "List-Unsubscribe=One-Click", NOW, NULL, 0), 415);
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=Yes", NOW,
	    NULL, 0), 400);
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "choice=everything", NOW,
	    NULL, 0), 400);
	assert_int_equal(count(x, UNSUBS), 0);
	assert_int_equal(count(x, AUDITS), 0);
}

static void
test_fewer_and_stay(void **state)
{
	struct fx *x = *state;
	const char *form = "application/x-www-form-urlencoded";
	char body[2048];

	/* stay, never having unsubscribed: nothing to give back */
	assert_int_equal(req(x, "POST", x->target, form, "choice=stay", NOW,
	    NULL, 0), 200);
	assert_int_equal(count(x, AUDITS), 0);
	assert_int_equal(req(x, "POST", x->target, form, "choice=fewer", NOW,
	    body, sizeof(body)), 200);
	assert_non_null(strstr(body, "|DCF30"));
	assert_int_equal(count(x, "SELECT min_gap_days FROM email_cadence"),
	    30);
	assert_int_equal(req(x, "POST", x->target, form, "choice=fewer",
	    NOW + 5, NULL, 0), 200);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'cadence'"), 1);
	/* unsubscribe, then stay within the same second: subscribed */
	assert_int_equal(req(x, "POST", x->target, form,
	    "List-Unsubscribe=One-Click", NOW + 10, NULL, 0), 200);
	assert_int_equal(req(x, "POST", x->target, form, "choice=stay",
	    NOW + 10, body, sizeof(body)), 200);
	assert_null(strstr(body, "U"));
	assert_int_equal(count(x, "SELECT granted FROM consent WHERE"
	    " channel = 'email' AND source = 'unsubscribe_page' AND"
	    " evidence LIKE '%campaign spring%'"), 1);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'resubscribed'"), 1);
	assert_int_equal(req(x, "GET", x->target, NULL, NULL, NOW + 20, body,
	    sizeof(body)), 200);
	assert_null(strstr(body, "U"));
}

/* the token in a query (milter.unsubscribe_url = ".../u?t="), and what
 * the page inserts escaped */
static void
test_query_route_and_escaping(void **state)
{
	struct fx *x = *state;
	char body[2048], t[UNSUB_TOKEN_MAX + 32], err[128];
	struct store_customer c;
	enum store_change ch;
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.email = "\"<b>\"@example.com";
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	assert_int_equal(unsub_token_make(x->conf->outbox.key,
	    x->conf->outbox.keylen, "<i>", c.email, NOW, x->token,
	    sizeof(x->token)), 0);
	assert_int_equal(conf_unsub_route("https://shop.example/u?t=",
	    &x->env.unsub, err, sizeof(err)), 0);
	snprintf(t, sizeof(t), "/u?x=1&t=%s", x->token);
	assert_int_equal(req(x, "GET", t, NULL, NULL, NOW, body,
	    sizeof(body)), 200);
	assert_null(strchr(body, '<'));
	assert_non_null(strstr(body, "&quot;&lt;b&gt;&quot;@example.com|"
	    "&lt;i&gt;|https://shop.example/u?t="));
	snprintf(t, sizeof(t), "/u/%s", x->token);
	assert_int_equal(req(x, "GET", t, NULL, NULL, NOW, NULL, 0), 404);
}

static void
test_no_store(void **state)
{
	struct fx *x = *state;

	x->env.st = NULL;
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click",
	    NOW, NULL, 0), 503);
}

static int
form(const char *ctype, const char *body, const char *name, char *v,
    size_t len, int *u)
{
	return feedback_form_value(ctype, body, strlen(body), name, v, len,
	    u);
}

static void
test_forms(void **state)
{
	const char *url = "application/x-www-form-urlencoded";
	char v[32];
	int u;

	(void)state;
	assert_int_equal(form("application/x-www-form-urlencoded;"
	    " charset=utf-8", "a=1&List-Unsubscribe=One%2DClick\r\n",
	    "List-Unsubscribe", v, sizeof(v), &u), 1);
	assert_string_equal(v, "One-Click");
	assert_int_equal(form("APPLICATION/X-WWW-FORM-URLENCODED", "a+b=c+d",
	    "a b", v, sizeof(v), &u), 1);
	assert_string_equal(v, "c d");
	assert_int_equal(form(url, "a=%zz", "a", v, sizeof(v), &u), -1);
	assert_int_equal(form(url, "a=%0", "a", v, sizeof(v), &u), -1);
	assert_int_equal(form(url, "a=%00", "a", v, sizeof(v), &u), -1);
	assert_int_equal(form(url, "b=1&&a", "a", v, sizeof(v), &u), 1);
	assert_string_equal(v, "");
	assert_int_equal(form(url, "b=1", "a", v, sizeof(v), &u), 0);
	assert_int_equal(form(url, "a=0123456789012345678901234567890123",
	    "a", v, sizeof(v), &u), -1);	/* does not fit */
	assert_int_equal(form("multipart/form-data; boundary=\"q q\"",
	    "--q q\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
	    "--q q\r\ncontent-disposition: form-data; name=\"y\"\r\n\r\n"
	    "2\r\n--q q--\r\n", "y", v, sizeof(v), &u), 1);
	assert_string_equal(v, "2");
	assert_int_equal(form("multipart/form-data; boundary=a",
	    "--a\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
	    "--a--\r\n", "y", v, sizeof(v), &u), 0);
	assert_int_equal(form("multipart/form-data", "--a\r\n", "y", v,
	    sizeof(v), &u), -1);		/* no boundary */
	assert_int_equal(form("multipart/form-data; boundary=a",
	    "--a\r\nContent-Disposition: form-data; name=y\r\n\r\n"
	    "unterminated", "y", v, sizeof(v), &u), -1);
	assert_int_equal(u, 0);
	assert_int_equal(form("text/plain", "", "y", v, sizeof(v), &u), -1);
	assert_int_equal(u, 1);
	assert_int_equal(feedback_query_value("t=a%2Eb", "t", v, sizeof(v)),
	    1);
	assert_string_equal(v, "a.b");
}

/* ---- the gateways ------------------------------------------------------ */

#define PHONE		"+15550001111"
#define TOKEN		"12345"
#define KSECRET		"kannel-s3cret"
#define SSECRET		"shopify-app-secret"
#define FORM		"application/x-www-form-urlencoded"
#define XML		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define KANNEL_POST	"secret=" KSECRET "&sender=%2B15550001111" \
			    "&receiver=1234&text=hello"
#define SMS_AUDITS	"SELECT count(*) FROM audit WHERE" \
			    " decision = 'sms_optout'"
#define OPTED_OUT	"SELECT count(*) FROM phone_status WHERE phone = '" \
			    PHONE "' AND status = 'opted_out'"

/* The secrets configured, and sam with PHONE and SMS consent. */
static int
gx_setup(void **state)
{
	struct store_customer c;
	struct store_consent k;
	enum store_change ch;
	struct fx *x;
	int64_t sam;

	fx_setup(state);
	x = *state;
	snprintf(x->conf->feedback.twilio_auth_token, CONF_SECRET_MAX, TOKEN);
	snprintf(x->conf->feedback.kannel_secret, CONF_SECRET_MAX, KSECRET);
	snprintf(x->conf->feedback.shopify_secret, CONF_SECRET_MAX, SSECRET);
	free(x->conf->feedback.sms_help_text);
	x->conf->feedback.sms_help_text = strdup("Shop & Co: reply STOP to"
	    " stop");
	memset(&c, 0, sizeof(c));
	c.email = "sam@example.com";
	c.phone = PHONE;
	assert_int_equal(store_customer_upsert(x->st, &c, &sam, &ch), 0);
	memset(&k, 0, sizeof(k));
	k.customer_id = sam;
	k.channel = CHANNEL_SMS;
	k.granted = 1;
	k.source = "checkout";
	k.recorded_at = NOW - 10 * DAY;
	assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);
	return 0;
}

struct gr {
	int		 status;
	char		 body[2048];
	char		 ctype[64];
	char		 anchor[AUDIT_ANCHOR_MAX];
	char		 log[768];
};

/* One request with headers H (NH of them); the answer into *G. */
static int
greq(struct fx *x, const char *method, const char *target, const char *ctype,
    const char *body, size_t len, const struct feedback_header *h, size_t nh,
    struct gr *g)
{
	struct feedback_request rq;
	struct feedback_response rs;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.target = target;
	rq.content_type = ctype;
	rq.headers = h;
	rq.nheaders = nh;
	rq.id = "T1";
	rq.body = body != NULL ? body : "";
	rq.len = body != NULL ? len : 0;
	rq.now = NOW;
	feedback_response_init(&rs);
	feedback_handle(&x->env, &rq, &rs);
	memset(g, 0, sizeof(*g));
	g->status = rs.status;
	snprintf(g->body, sizeof(g->body), "%s", buf_str(&rs.body));
	snprintf(g->ctype, sizeof(g->ctype), "%s", rs.content_type);
	snprintf(g->anchor, sizeof(g->anchor), "%s", rs.anchor);
	snprintf(g->log, sizeof(g->log), "%s", rs.log_prio >= 0 ? rs.log : "");
	feedback_response_free(&rs);
	return g->status;
}

static void
b64_hmac(const EVP_MD *md, const char *key, const char *data, size_t len,
    char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_non_null(HMAC(md, key, (int)strlen(key),
	    (const unsigned char *)data, len, mac, &n));
	EVP_EncodeBlock((unsigned char *)out, mac, (int)n);
}

/*
 * Twilio's signature of the form at URL: the pairs are given sorted by
 * name, NAMES[i] with VALUES[i] (decoded), as Twilio computes it.
 */
static void
twilio_sig(const char *url, const char *const *names,
    const char *const *values, char *out)
{
	char data[2048];
	size_t i;

	snprintf(data, sizeof(data), "%s", url);
	for (i = 0; names[i] != NULL; i++) {
		strncat(data, names[i], sizeof(data) - strlen(data) - 1);
		strncat(data, values[i], sizeof(data) - strlen(data) - 1);
	}
	b64_hmac(EVP_sha1(), TOKEN, data, strlen(data), out);
}

/* A Twilio inbound from PHONE saying TEXT (no spaces), signed per SIGN. */
static int
twilio_inbound(struct fx *x, const char *text, const char *sig_override,
    struct gr *g)
{
	const char *names[] = { "Body", "From", "MessageSid", "To", NULL };
	const char *values[] = { text, PHONE, "SMabc1", "+15559990000" };
	struct feedback_header h[2];
	char body[256], sig[64];

	snprintf(body, sizeof(body), "To=%%2B15559990000&From=%%2B15550001111"
	    "&Body=%s&MessageSid=SMabc1", text);
	twilio_sig("https://shop.example/twilio/sms?x=1", names, values, sig);
	h[0].name = "Content-Length";
	h[0].value = "1";
	h[1].name = "x-twilio-signature";	/* any case */
	h[1].value = sig_override != NULL ? sig_override : sig;
	return greq(x, "POST", "/twilio/sms?x=1", FORM "; charset=utf-8",
	    body, strlen(body), h, 2, g);
}

static void
test_gateways_off(void **state)
{
	struct fx *x = *state;
	char body[64];
	struct gr g;

	/* no secret, no endpoint: nobody's word is taken */
	assert_int_equal(greq(x, "POST", "/twilio/sms", FORM, "a=1", 3, NULL,
	    0, &g), 404);
	assert_int_equal(greq(x, "POST", "/twilio/status", FORM, "a=1", 3,
	    NULL, 0, &g), 404);
	assert_int_equal(greq(x, "GET", "/kannel/mo?secret=", NULL, NULL, 0,
	    NULL, 0, &g), 404);
	assert_int_equal(greq(x, "GET", "/kannel/dlr", NULL, NULL, 0, NULL, 0,
	    &g), 404);
	assert_int_equal(greq(x, "POST", "/shopify/webhook", "application/json",
	    "{}", 2, NULL, 0, &g), 404);
	feedback_gateways(x->conf, body, sizeof(body));
	assert_string_equal(body, "none");
	/* the unsubscribe endpoint still answers beside them */
	assert_int_equal(req(x, "GET", x->target, NULL, NULL, NOW, NULL, 0),
	    200);
}

static void
test_twilio_stop(void **state)
{
	struct fx *x = *state;
	struct gr g;

	feedback_gateways(x->conf, g.body, sizeof(g.body));
	assert_string_equal(g.body, "twilio, kannel, shopify");
	x->conf->feedback.kannel_secret[0] = '\0';
	feedback_gateways(x->conf, g.body, sizeof(g.body));
	assert_string_equal(g.body, "twilio, shopify");
	snprintf(x->conf->feedback.kannel_secret, CONF_SECRET_MAX, KSECRET);
	assert_int_equal(twilio_inbound(x, "STOP", NULL, &g), 200);
	assert_string_equal(g.ctype, "application/xml");
	assert_string_equal(g.body, XML "<Response></Response>");
	assert_int_equal(count(x, OPTED_OUT), 1);
	assert_int_equal(count(x, SMS_AUDITS), 1);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'sms_optout' AND recipient = '" PHONE "' AND"
	    " queue_id = 'segfeed'"), 1);
	assert_int_equal(strncmp(g.anchor, "audit=", 6), 0);
	assert_non_null(strstr(g.log, "opted out"));
	/* the same STOP again (Twilio retries): nothing new, said so */
	assert_int_equal(twilio_inbound(x, "STOP", NULL, &g), 200);
	assert_int_equal(count(x, OPTED_OUT), 1);
	assert_int_equal(count(x, SMS_AUDITS), 1);
	assert_non_null(strstr(g.log, "taken before (the same message id)"));
	/* HELP: Twilio sends the configured text back, escaped */
	assert_int_equal(twilio_inbound(x, "help", NULL, &g), 200);
	assert_string_equal(g.body, XML "<Response><Message>Shop &amp; Co:"
	    " reply STOP to stop</Message></Response>");
	/* a reply for a human: empty TwiML, nothing changed */
	assert_int_equal(twilio_inbound(x, "thanks", NULL, &g), 200);
	assert_string_equal(g.body, XML "<Response></Response>");
	assert_string_equal(g.anchor, "");
}

static void
test_twilio_refused(void **state)
{
	struct fx *x = *state;
	struct feedback_header h = { "X-Twilio-Signature", "x" };
	int64_t audits = count(x, AUDITS);
	const char *body;
	struct gr g;

	/* forged, then missing: nothing changed, why logged */
	assert_int_equal(twilio_inbound(x, "STOP", "RSOYDt4T1cUTdK1PDd93/VVr8B"
	    "8=", &g), 403);
	assert_non_null(strstr(g.log, "does not match"));
	assert_null(strstr(g.log, TOKEN));
	assert_int_equal(twilio_inbound(x, "STOP", "", &g), 401);
	assert_int_equal(greq(x, "POST", "/twilio/sms", FORM, "Body=STOP", 9,
	    NULL, 0, &g), 401);
	assert_int_equal(count(x, OPTED_OUT), 0);
	assert_int_equal(count(x, AUDITS), audits);
	/* signed for another URL: the query is part of it */
	body = "To=%2B15559990000&From=%2B15550001111&Body=STOP"
	    "&MessageSid=SMabc1";
	assert_int_equal(greq(x, "POST", "/twilio/sms", FORM, body,
	    strlen(body), &h, 1, &g), 403);
	/* not a form, a malformed one */
	assert_int_equal(greq(x, "POST", "/twilio/sms", "application/json",
	    "{}", 2, &h, 1, &g), 415);
	assert_int_equal(greq(x, "POST", "/twilio/sms", FORM, "a=%zz", 5, &h,
	    1, &g), 400);
	assert_int_equal(greq(x, "GET", "/twilio/sms", NULL, NULL, 0, &h, 1,
	    &g), 405);
	assert_int_equal(count(x, OPTED_OUT), 0);
}

static void
test_twilio_malformed_and_status(void **state)
{
	struct fx *x = *state;
	const char *n1[] = { "From", "MessageSid", "To", NULL };
	const char *v1[] = { PHONE, "SMabc1", "+15559990000" };
	const char *n2[] = { "ErrorCode", "MessageSid", "MessageStatus", "To",
	    NULL };
	const char *v2[] = { "21610", "SMout1", "undelivered", PHONE };
	struct feedback_header h = { "X-Twilio-Signature", NULL };
	const char *body;
	char sig[64];
	struct gr g;

	/* signed, but no Body: 400 */
	body = "From=%2B15550001111&MessageSid=SMabc1&To=%2B15559990000";
	twilio_sig("https://shop.example/twilio/sms", n1, v1, sig);
	h.value = sig;
	assert_int_equal(greq(x, "POST", "/twilio/sms", FORM, body,
	    strlen(body), &h, 1, &g), 400);
	assert_non_null(strstr(g.log, "missing"));
	/* a status callback: 21610 marks the number opted out */
	body = "MessageSid=SMout1&MessageStatus=undelivered&ErrorCode=21610"
	    "&To=%2B15550001111";
	twilio_sig("https://shop.example/twilio/status", n2, v2, sig);
	assert_int_equal(greq(x, "POST", "/twilio/status", FORM, body,
	    strlen(body), &h, 1, &g), 200);
	assert_int_equal(count(x, OPTED_OUT), 1);
	assert_int_equal(strncmp(g.anchor, "audit=", 6), 0);
	h.value = "forged";
	assert_int_equal(greq(x, "POST", "/twilio/status", FORM, body,
	    strlen(body), &h, 1, &g), 403);
}

static void
test_kannel(void **state)
{
	struct fx *x = *state;
	int64_t audits = count(x, AUDITS);
	struct gr g;

	assert_int_equal(greq(x, "GET", "/kannel/mo?sender=%2B15550001111"
	    "&receiver=1234&text=STOP", NULL, NULL, 0, NULL, 0, &g), 401);
	assert_int_equal(greq(x, "GET", "/kannel/mo?secret=guess&sender="
	    "%2B15550001111&receiver=1234&text=STOP", NULL, NULL, 0, NULL, 0,
	    &g), 403);
	assert_null(strstr(g.log, "guess"));
	assert_int_equal(count(x, OPTED_OUT), 0);
	assert_int_equal(count(x, AUDITS), audits);
	assert_int_equal(greq(x, "GET", "/kannel/mo?secret=" KSECRET
	    "&receiver=1234&text=STOP", NULL, NULL, 0, NULL, 0, &g), 400);
	assert_int_equal(greq(x, "GET", "/kannel/mo?secret=" KSECRET
	    "&sender=%2B15550001111&receiver=1234&text=STOP&id=k1", NULL, NULL,
	    0, NULL, 0, &g), 200);
	assert_string_equal(g.body, "");	/* else sent as an SMS */
	assert_int_equal(count(x, OPTED_OUT), 1);
	assert_int_equal(count(x, SMS_AUDITS), 1);
	/* POST with a form body works the same */
	assert_int_equal(greq(x, "POST", "/kannel/mo", FORM, KANNEL_POST,
	    strlen(KANNEL_POST), NULL, 0, &g), 200);
	/* a delivery report */
	assert_int_equal(greq(x, "GET", "/kannel/dlr?secret=" KSECRET
	    "&type=1&to=%2B15550001111&job=99", NULL, NULL, 0, NULL, 0, &g),
	    200);
	assert_int_equal(greq(x, "GET", "/kannel/dlr?secret=" KSECRET
	    "&type=x", NULL, NULL, 0, NULL, 0, &g), 400);
	assert_int_equal(greq(x, "GET", "/kannel/dlr?secret=no&type=1", NULL,
	    NULL, 0, NULL, 0, &g), 403);
	assert_int_equal(greq(x, "PUT", "/kannel/dlr", NULL, NULL, 0, NULL, 0,
	    &g), 405);
}

/* The fixture NAME, read whole; the caller frees it. */
static char *
fixture(const char *name, size_t *len)
{
	const char *src = getenv("SEGM_SRCDIR");
	char path[512], *data;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/shopify/%s",
	    src ? src : ".", name);
	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	data = malloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	data[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return data;
}

static int
shopify(struct fx *x, const char *topic, const char *id, const char *body,
    size_t len, const char *hmac, struct gr *g)
{
	struct feedback_header h[4] = {
		{ "X-Shopify-Topic", topic },
		{ "X-Shopify-Webhook-Id", id },
		{ "X-Shopify-Event-Id", "ev-1" },
		{ "X-Shopify-Hmac-Sha256", hmac },
	};
	char mac[64];

	if (hmac == NULL) {
		b64_hmac(EVP_sha256(), SSECRET, body, len, mac);
		h[3].value = mac;
	}
	return greq(x, "POST", "/shopify/webhook", "application/json", body,
	    len, h, 4, g);
}

#define ORDERS	"SELECT count(*) FROM orders"

static void
test_shopify(void **state)
{
	struct fx *x = *state;
	char *body;
	size_t len;
	struct gr g;

	body = fixture("orders-create.json", &len);
	assert_int_equal(shopify(x, "orders/create", "wh-1", body, len,
	    "AAAA", &g), 401);
	assert_int_equal(shopify(x, "orders/create", "wh-1", body, len, "",
	    &g), 401);
	assert_int_equal(count(x, ORDERS), 0);
	assert_int_equal(shopify(x, "orders/create", "wh-1", body, len, NULL,
	    &g), 200);
	assert_int_equal(count(x, ORDERS), 1);
	assert_non_null(strstr(g.log, "applied"));
	/* the same delivery again: nothing */
	assert_int_equal(shopify(x, "orders/create", "wh-1", body, len, NULL,
	    &g), 200);
	assert_non_null(strstr(g.log, "seen before"));
	assert_int_equal(count(x, ORDERS), 1);
	assert_int_equal(count(x, "SELECT count(*) FROM webhook_deliveries"),
	    1);
	free(body);
	/* signed, but not JSON: 200 (a retry brings the same bytes) */
	assert_int_equal(shopify(x, "orders/create", "wh-2", "{\"id\":", 6,
	    NULL, &g), 200);
	assert_non_null(strstr(g.log, "cannot be parsed"));
	assert_int_equal(count(x, "SELECT count(*) FROM webhook_deliveries"),
	    1);
	/* a topic not handled: 200, logged */
	assert_int_equal(shopify(x, "app/uninstalled", "wh-3", "{}", 2, NULL,
	    &g), 200);
	assert_non_null(strstr(g.log, "ignored"));
}

#define REDACT(id, email)						\
	"{\"shop_id\":954889,\"shop_domain\":\"jsmith.myshopify.com\","	\
	"\"customer\":{\"id\":" id ",\"email\":\"" email "\"},"	\
	"\"orders_to_redact\":[299938]}"

/*
 * customers/redact erases the customer at once, found by the shop's id
 * (their email may have changed since) or by email; the audit chain
 * verifies afterwards against the head logged before; the address is
 * not logged.
 */
static void
test_shopify_redact(void **state)
{
	struct fx *x = *state;
	struct audit_report rep;
	struct audit_anchor *a = NULL;
	size_t n = 0, cap = 0;
	char *body, head[AUDIT_ANCHOR_MAX + 64];
	const char *by_id = REDACT("706405506930370084", "new@example.com");
	const char *ann = REDACT("1", "ann@example.com");
	size_t len;
	struct gr g;

	/* Ann unsubscribes (an audit row with her address), Bob arrives */
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click",
	    NOW, NULL, 0), 200);
	body = fixture("customers-create.json", &len);
	assert_int_equal(shopify(x, "customers/create", "wh-1", body, len,
	    NULL, &g), 200);
	free(body);
	assert_int_equal(count(x, "SELECT count(*) FROM customers WHERE"
	    " email = 'bob.biller@example.com'"), 1);
	assert_int_equal(audit_verify(x->st, NULL, NULL, 0, &rep), 0);
	snprintf(head, sizeof(head), "segfeed[1]: x: audit=%lld:%s",
	    (long long)rep.head.seq, rep.head.hash);

	/* unsigned: nothing */
	assert_int_equal(shopify(x, "customers/redact", "wh-2", ann,
	    strlen(ann), "AAAA", &g), 401);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " recipient = 'ann@example.com'"), 1);

	assert_int_equal(shopify(x, "customers/redact", "wh-2", ann,
	    strlen(ann), NULL, &g), 200);
	assert_non_null(strstr(g.log, "erased: 1 audit rows blanked"));
	assert_null(strstr(g.log, "ann@"));
	assert_int_equal(count(x, "SELECT count(*) FROM customers WHERE"
	    " email = 'ann@example.com'"), 0);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " recipient = 'ann@example.com'"), 0);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'redacted' AND detail LIKE"
	    " 'shopify customers/redact wh-2 (customer 1)'"), 1);
	/* a retry: a repeat */
	assert_int_equal(shopify(x, "customers/redact", "wh-2", ann,
	    strlen(ann), NULL, &g), 200);
	assert_non_null(strstr(g.log, "duplicate"));
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'redacted'"), 1);

	/* Bob by the shop's id, under an address the store never had */
	assert_int_equal(shopify(x, "customers/redact", "wh-3", by_id,
	    strlen(by_id), NULL, &g), 200);
	assert_non_null(strstr(g.log, "shop customer 706405506930370084,"
	    " customer "));
	assert_int_equal(count(x, "SELECT count(*) FROM customers WHERE"
	    " email LIKE 'bob%'"), 0);
	/* nobody left to erase */
	assert_int_equal(shopify(x, "customers/redact", "wh-4", by_id,
	    strlen(by_id), NULL, &g), 200);
	assert_non_null(strstr(g.log, "not in the store, nothing to erase"));
	audit_anchors_scan(head, strlen(head), &a, &n, &cap);
	assert_int_equal(n, 1);
	assert_int_equal(audit_verify(x->st, NULL, a, n, &rep), 0);
	assert_int_equal(rep.anchors_found, 1);
	free(a);
}

static void
test_shopify_headers(void **state)
{
	struct fx *x = *state;
	struct feedback_header h[2];
	char mac[64];
	struct gr g;

	b64_hmac(EVP_sha256(), SSECRET, "{}", 2, mac);
	h[0].name = "X-Shopify-Hmac-Sha256";
	h[0].value = mac;
	h[1].name = "X-Shopify-Topic";
	h[1].value = "orders/create";
	assert_int_equal(greq(x, "POST", "/shopify/webhook", "application/json",
	    "{}", 2, h, 2, &g), 400);	/* no webhook id */
	assert_int_equal(greq(x, "GET", "/shopify/webhook", NULL, NULL, 0, h,
	    2, &g), 405);
}

/* No store: 503, so that the gateway retries. */
static void
test_gateways_no_store(void **state)
{
	struct fx *x = *state;
	char *body;
	size_t len;
	struct gr g;

	x->env.st = NULL;
	assert_int_equal(twilio_inbound(x, "STOP", NULL, &g), 503);
	assert_int_equal(greq(x, "GET", "/kannel/mo?secret=" KSECRET
	    "&sender=%2B15550001111&receiver=1234&text=STOP", NULL, NULL, 0,
	    NULL, 0, &g), 503);
	body = fixture("orders-create.json", &len);
	assert_int_equal(shopify(x, "orders/create", "wh-1", body, len, NULL,
	    &g), 503);
	free(body);
	x->env.st = x->st;
	assert_int_equal(count(x, OPTED_OUT), 0);
	assert_int_equal(count(x, ORDERS), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
		T(test_routes_and_methods),
		T(test_get_changes_nothing),
		T(test_one_click),
		T(test_one_click_multipart),
		T(test_forged_and_bad_posts),
		T(test_fewer_and_stay),
		T(test_query_route_and_escaping),
		T(test_no_store),
		T(test_gateways_off),
#undef T
#define G(f) cmocka_unit_test_setup_teardown(f, gx_setup, fx_teardown)
		G(test_twilio_stop),
		G(test_twilio_refused),
		G(test_twilio_malformed_and_status),
		G(test_kannel),
		G(test_shopify),
		G(test_shopify_redact),
		G(test_shopify_headers),
		G(test_gateways_no_store),
#undef G
		cmocka_unit_test(test_forms),
	};

	return cmocka_run_group_tests_name("feed", tests, NULL, NULL);
}
