/*
 * gateway.c - the endpoints the SMS gateways and Shopify call, as rows
 * of route.c's table: the HTTP half of feedback_sms.h and
 * feedback_shopify.h, whose cores read, verify and apply.
 *
 *   /twilio/sms      POST       inbound message; answered with TwiML
 *   /twilio/status   POST       status callback
 *   /kannel/mo       GET, POST  get-url (MO); empty answer
 *   /kannel/dlr      GET, POST  dlr-url (delivery report)
 *   /shopify/webhook POST       webhooks by X-Shopify-Topic
 *
 * Each endpoint exists only while its secret is in
 * feedback.credentials_file (404 otherwise): one without would take
 * anybody's word for a STOP or an order.  The sender is authenticated
 * before anything is read or written, and a request that fails is
 * answered so that nothing changed: a missing signature or secret 401, a
 * wrong one 403 (Shopify: 401 for both, as its docs ask), a malformed
 * request 400, a store that fails 503 so that the gateway retries.  A
 * Shopify payload that cannot be parsed is 200 and logged: Shopify's
 * retry brings the same bytes, which will not parse any better, and too
 * many failures would disable the subscription.  The secrets and the
 * query (Kannel's holds its secret) are never logged.
 *
 * 2xx means committed: the applies run their own transaction, under the
 * store lock, and their audit head goes into the response's anchor.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "feedback.h"
#include "feedback_shopify.h"
#include "feedback_sms.h"
#include "store_feedback.h"
#include "str.h"

#define FORM_CTYPE	"application/x-www-form-urlencoded"
#define TWIML_CTYPE	"application/xml"
#define TWIML_MAX	2048
#define URL_MAX		2048

/* Which gateway an endpoint serves, for the shared handlers. */
enum gw_kind {
	GW_TWILIO_SMS,
	GW_TWILIO_STATUS,
	GW_KANNEL_MO,
	GW_KANNEL_DLR
};

static const char *
twilio_path(const struct feedback_env *env, const char *path, int *prefix)
{
	*prefix = 0;
	return env->conf->feedback.twilio_auth_token[0] != '\0' ? path : NULL;
}

static const char *
twilio_sms_path(const struct feedback_env *env, int *prefix)
{
	return twilio_path(env, "/twilio/sms", prefix);
}

static const char *
twilio_status_path(const struct feedback_env *env, int *prefix)
{
	return twilio_path(env, "/twilio/status", prefix);
}

static const char *
kannel_path(const struct feedback_env *env, const char *path, int *prefix)
{
	*prefix = 0;
	return env->conf->feedback.kannel_secret[0] != '\0' ? path : NULL;
}

static const char *
kannel_mo_path(const struct feedback_env *env, int *prefix)
{
	return kannel_path(env, "/kannel/mo", prefix);
}

static const char *
kannel_dlr_path(const struct feedback_env *env, int *prefix)
{
	return kannel_path(env, "/kannel/dlr", prefix);
}

static const char *
shopify_path(const struct feedback_env *env, int *prefix)
{
	*prefix = 0;
	return env->conf->feedback.shopify_secret[0] != '\0' ?
	    "/shopify/webhook" : NULL;
}

/* An answer with BODY as it is (no newline added): TwiML, or nothing. */
static void
reply_raw(struct feedback_response *rs, int status, const char *ctype,
    const char *body)
{
	rs->status = status;
	rs->content_type = ctype;
	buf_reset(&rs->body);
	(void)buf_puts(&rs->body, body);	/* short: always fits */
}

static int
is_form(const char *ctype)
{
	return ctype != NULL && strncasecmp(ctype, FORM_CTYPE,
	    sizeof(FORM_CTYPE) - 1) == 0 && (ctype[sizeof(FORM_CTYPE) - 1] ==
	    '\0' || ctype[sizeof(FORM_CTYPE) - 1] == ';' ||
	    ctype[sizeof(FORM_CTYPE) - 1] == ' ');
}

/*
 * The form a gateway sent into F: the body for Twilio (and a Kannel
 * POST with a form body), the query otherwise.  0, or -1 answered.
 */
static int
read_form(enum gw_kind kind, const struct feedback_request *rq,
    const char *query, struct feedback_sms_form *f,
    struct feedback_response *rs)
{
	enum feedback_sms_form_error e;
	const char *name = kind <= GW_TWILIO_STATUS ? "twilio" : "kannel";
	int body;

	body = kind <= GW_TWILIO_STATUS || (strcmp(rq->method, "POST") == 0 &&
	    is_form(rq->content_type));
	if (kind <= GW_TWILIO_STATUS && !is_form(rq->content_type)) {
		feedback_reply(rs, 415, "Unsupported Media Type", LOG_WARNING,
		    "%s: refused: body is not %s", name, FORM_CTYPE);
		return -1;
	}
	e = body ? feedback_sms_form_parse(rq->body, rq->len, f) :
	    feedback_sms_form_parse(query, strlen(query), f);
	if (e != FEEDBACK_SMS_FORM_OK) {
		feedback_reply(rs, 400, "Bad Request", LOG_WARNING, "%s:"
		    " refused: malformed form: %s", name,
		    feedback_sms_form_error_name(e));
		return -1;
	}
	return 0;
}

/*
 * Twilio's signature over the public URL it called (feedback.public_url
 * and the target as sent, query included) and the form.  0, or -1
 * answered 401 (none) or 403 (wrong).
 */
static int
twilio_check(const struct feedback_env *env,
    const struct feedback_request *rq, const struct feedback_sms_form *f,
    struct feedback_response *rs)
{
	const char *base = env->conf->feedback.public_url;
	const char *sig = feedback_header(rq, "X-Twilio-Signature");
	char url[URL_MAX];
	size_t n = strlen(base);
	int len;

	if (sig == NULL || *sig == '\0') {
		feedback_reply(rs, 401, "Unauthorized", LOG_WARNING, "twilio:"
		    " request refused: no X-Twilio-Signature, nothing"
		    " changed");
		return -1;
	}
	/* public_url may end in '/': the target starts with one */
	while (n > 0 && base[n - 1] == '/')
		n--;
	len = snprintf(url, sizeof(url), "%.*s%s", (int)n, base, rq->target);
	if (len < 0 || (size_t)len >= sizeof(url) ||
	    !feedback_sms_twilio_valid(env->conf->feedback.twilio_auth_token,
	    url, f->p, f->n, sig)) {
		feedback_reply(rs, 403, "Forbidden", LOG_WARNING, "twilio:"
		    " request refused: X-Twilio-Signature does not match"
		    " (auth token, or feedback.public_url as Twilio calls"
		    " it), nothing changed");
		return -1;
	}
	return 0;
}

/* 0 with the store locked for ENV, or -1 answered 503. */
static int
store_take(const struct feedback_env *env, const char *name,
    struct feedback_response *rs)
{
	if (env->st == NULL) {
		feedback_reply(rs, 503, "Service Unavailable", LOG_ERR, "%s:"
		    " the store cannot be opened: retry expected", name);
		return -1;
	}
	if (env->store_lock != NULL)
		pthread_mutex_lock(env->store_lock);
	return 0;
}

static void
store_give(const struct feedback_env *env)
{
	if (env->store_lock != NULL)
		pthread_mutex_unlock(env->store_lock);
}

/*
 * Applies a customer's reply.  The answer's body is TwiML for Twilio
 * (HELP's text when configured), nothing for Kannel, whose get-url
 * answer would go out as an SMS.
 */
static void
apply_inbound(const struct feedback_env *env, enum gw_kind kind,
    const struct feedback_request *rq, const struct feedback_sms_inbound *in,
    struct feedback_response *rs)
{
	const char *name = kind == GW_TWILIO_SMS ? "twilio" : "kannel";
	const char *help = env->conf->feedback.sms_help_text;
	struct feedback_sms_applied out;
	enum feedback_sms_error e = FEEDBACK_SMS_OK;
	char twiml[TWIML_MAX], err[512], sid[72];

	str_copy(sid, sizeof(sid), in->sid);
	str_mask_controls(sid);
	memset(&out, 0, sizeof(out));
	if (in->keyword == FEEDBACK_SMS_KW_OPT_OUT ||
	    in->keyword == FEEDBACK_SMS_KW_OPT_IN) {
		if (store_take(env, name, rs) == -1)
			return;
		e = in->keyword == FEEDBACK_SMS_KW_OPT_OUT ?
		    feedback_sms_apply_optout(env->st, in, rq->now,
		    env->conf_hash, rs->anchor, &out) :
		    feedback_sms_apply_optin(env->st, in, rq->now,
		    env->conf_hash, rs->anchor, &out);
		if (e != FEEDBACK_SMS_OK)
			snprintf(err, sizeof(err), "%s", store_error(env->st));
		store_give(env);
		if (e != FEEDBACK_SMS_OK) {
			rs->anchor[0] = '\0';
			feedback_reply(rs, 503, "Service Unavailable", LOG_ERR,
			    "%s: %s from %s (message %s): store: %s: retry"
			    " expected", name, feedback_sms_keyword_name(
			    in->keyword), in->from, sid, err);
			return;
		}
	}
	if (kind == GW_TWILIO_SMS) {
		if (feedback_sms_twiml(in->keyword == FEEDBACK_SMS_KW_HELP &&
		    help[0] != '\0' ? help : NULL, twiml,
		    sizeof(twiml)) == -1)
			(void)feedback_sms_twiml(NULL, twiml, sizeof(twiml));
		reply_raw(rs, 200, TWIML_CTYPE, twiml);
	} else
		reply_raw(rs, 200, "text/plain; charset=utf-8", "");
	rs->log_prio = LOG_INFO;
	snprintf(rs->log, sizeof(rs->log), "%s: %s from %s (message %s): %s",
	    name, feedback_sms_keyword_name(in->keyword), in->from, sid,
	    out.repeated ? "taken before (the same message id), nothing"
	    " changed" :
	    in->keyword == FEEDBACK_SMS_KW_OPT_OUT ? (out.changed ?
	    "opted out" : "opted out already, nothing changed") :
	    in->keyword == FEEDBACK_SMS_KW_OPT_IN ? (out.changed ?
	    "consent granted again" : "nothing to grant again") :
	    in->keyword == FEEDBACK_SMS_KW_HELP ? "answered" :
	    "a reply for a human, nothing changed");
}

static void
apply_report(const struct feedback_env *env, enum gw_kind kind,
    const struct feedback_sms_report *r, struct feedback_response *rs,
    int64_t now)
{
	const char *name = kind == GW_TWILIO_STATUS ? "twilio" : "kannel";
	struct feedback_sms_applied out;
	enum feedback_sms_error e;
	char err[512], ref[72];

	str_copy(ref, sizeof(ref), r->ref);
	str_mask_controls(ref);
	if (store_take(env, name, rs) == -1)
		return;
	memset(&out, 0, sizeof(out));
	e = feedback_sms_apply_report(env->st, r, now, env->conf_hash,
	    rs->anchor, &out);
	if (e != FEEDBACK_SMS_OK)
		snprintf(err, sizeof(err), "%s", store_error(env->st));
	store_give(env);
	if (e != FEEDBACK_SMS_OK) {
		rs->anchor[0] = '\0';
		feedback_reply(rs, 503, "Service Unavailable", LOG_ERR, "%s:"
		    " report %s for %s: store: %s: retry expected", name,
		    feedback_sms_status_name(r->status), r->to, err);
		return;
	}
	reply_raw(rs, 200, "text/plain; charset=utf-8", "");
	rs->log_prio = LOG_INFO;
	snprintf(rs->log, sizeof(rs->log), "%s: report %s for %s (message %s,"
	    " job %lld, code %s): %s", name,
	    feedback_sms_status_name(r->status), r->to[0] ? r->to : "?", ref,
	    (long long)out.job, r->code, out.changed ? "recorded" :
	    "nothing to record");
}

static void
sms_handle(enum gw_kind kind, const struct feedback_env *env,
    const struct feedback_request *rq, const char *query,
    struct feedback_response *rs)
{
	const char *secret = env->conf->feedback.kannel_secret, *v;
	struct feedback_sms_form f;
	struct feedback_sms_inbound in;
	struct feedback_sms_report r;
	enum feedback_sms_error e;

	memset(&f, 0, sizeof(f));
	if (read_form(kind, rq, query, &f, rs) == -1)
		goto out;
	if (kind <= GW_TWILIO_STATUS) {
		if (twilio_check(env, rq, &f, rs) == -1)
			goto out;
	} else if (feedback_sms_form_get(&f, "secret", &v) ==
	    FEEDBACK_SMS_ABSENT || *v == '\0') {
		feedback_reply(rs, 401, "Unauthorized", LOG_WARNING, "kannel:"
		    " request refused: no secret parameter, nothing"
		    " changed");
		goto out;
	}
	switch (kind) {
	case GW_TWILIO_SMS:
		e = feedback_sms_twilio_inbound(&f, &in);
		break;
	case GW_KANNEL_MO:
		e = feedback_sms_kannel_inbound(&f, secret, &in);
		break;
	case GW_TWILIO_STATUS:
		e = feedback_sms_twilio_status(&f, &r);
		break;
	default:
		e = feedback_sms_kannel_dlr(&f, secret, &r);
		break;
	}
	if (e == FEEDBACK_SMS_E_SECRET) {
		feedback_reply(rs, 403, "Forbidden", LOG_WARNING, "kannel:"
		    " request refused: wrong secret, nothing changed");
		goto out;
	}
	if (e != FEEDBACK_SMS_OK) {
		feedback_reply(rs, 400, "Bad Request", LOG_WARNING, "%s:"
		    " refused: %s", kind <= GW_TWILIO_STATUS ? "twilio" :
		    "kannel", feedback_sms_error_name(e));
		goto out;
	}
	if (kind == GW_TWILIO_SMS || kind == GW_KANNEL_MO)
		apply_inbound(env, kind, rq, &in, rs);
	else
		apply_report(env, kind, &r, rs, rq->now);
out:
	feedback_sms_form_free(&f);
}

static void
twilio_sms_handle(const struct feedback_env *env,
    const struct feedback_request *rq, const char *rest, const char *query,
    struct feedback_response *rs)
{
	(void)rest;
	sms_handle(GW_TWILIO_SMS, env, rq, query, rs);
}

static void
twilio_status_handle(const struct feedback_env *env,
    const struct feedback_request *rq, const char *rest, const char *query,
    struct feedback_response *rs)
{
	(void)rest;
	sms_handle(GW_TWILIO_STATUS, env, rq, query, rs);
}

static void
kannel_mo_handle(const struct feedback_env *env,
    const struct feedback_request *rq, const char *rest, const char *query,
    struct feedback_response *rs)
{
	(void)rest;
	sms_handle(GW_KANNEL_MO, env, rq, query, rs);
}

static void
kannel_dlr_handle(const struct feedback_env *env,
    const struct feedback_request *rq, const char *rest, const char *query,
    struct feedback_response *rs)
{
	(void)rest;
	sms_handle(GW_KANNEL_DLR, env, rq, query, rs);
}

static const char *
webhook_result_name(enum store_webhook_result r)
{
	switch (r) {
	case STORE_WEBHOOK_APPLIED:
		return "applied";
	case STORE_WEBHOOK_DUPLICATE:
		return "seen before, nothing changed";
	case STORE_WEBHOOK_STALE:
		return "stale (the store holds newer), delivery recorded";
	case STORE_WEBHOOK_UNKNOWN_ORDER:
		return "refund of an unknown order, kept";
	}
	return "?";
}

/* A header's value for the log: bounded, no control characters. */
static void
header_copy(const char *v, char *out, size_t len)
{
	str_copy(out, len, v != NULL ? v : "");
	str_mask_controls(out);
}

/*
 * customers/redact, the store taken: erased at once, the address never
 * logged (it is what the customer asked to be forgotten), only the ids.
 */
static void
shopify_redact(const struct feedback_env *env,
    const struct feedback_request *rq, const struct feedback_shopify *p,
    const char *id, struct feedback_response *rs)
{
	const char *shop_id = p->subject.customer_id != NULL ?
	    p->subject.customer_id : "?";
	struct store_redaction r;
	int64_t customer;
	char err[512];
	int rc;

	rc = feedback_shopify_redact(env->st, p, env->conf_hash, rq->now,
	    &customer, &r, rs->anchor, err, sizeof(err));
	if (rc == -1)
		feedback_reply(rs, 503, "Service Unavailable", LOG_ERR,
		    "shopify: %s (customers/redact): %s: retry expected", id,
		    err);
	else if (rc == 2)
		feedback_reply(rs, 200, "OK", LOG_INFO, "shopify: %s"
		    " (customers/redact): duplicate", id);
	else if (rc == 1)
		feedback_reply(rs, 200, "OK", LOG_NOTICE, "shopify: %s"
		    " (customers/redact): shop customer %s: not in the store,"
		    " nothing to erase", id, shop_id);
	else
		feedback_reply(rs, 200, "OK", r.audit_unsealed > 0 ?
		    LOG_WARNING : LOG_NOTICE, "shopify: %s (customers/redact):"
		    " shop customer %s, customer %lld erased: %lld audit rows"
		    " blanked%s, %lld ledger rows, %lld outbox jobs, %lld"
		    " consent rows, %lld events", id, shop_id,
		    (long long)customer, (long long)r.audit_rows,
		    r.audit_unsealed > 0 ? " (rows from before schema 12 keep"
		    " theirs)" : "", (long long)r.ledger_rows,
		    (long long)r.jobs, (long long)r.consent_rows,
		    (long long)r.events);
}

static void
shopify_handle(const struct feedback_env *env,
    const struct feedback_request *rq, const char *rest, const char *query,
    struct feedback_response *rs)
{
	const char *hmac = feedback_header(rq, "X-Shopify-Hmac-Sha256");
	const char *topic = feedback_header(rq, "X-Shopify-Topic");
	struct feedback_shopify_delivery d;
	struct feedback_shopify *p = NULL;
	enum feedback_shopify_topic t;
	enum store_webhook_result result;
	enum store_change changed;
	char id[FEEDBACK_SHOPIFY_ID_MAX + 1], tname[64], err[512];
	int rc;

	(void)rest;
	(void)query;
	if (hmac == NULL || *hmac == '\0' ||
	    !feedback_shopify_valid(env->conf->feedback.shopify_secret,
	    rq->body, rq->len, hmac)) {
		feedback_reply(rs, 401, "Unauthorized", LOG_WARNING, "shopify:"
		    " delivery refused: %s, nothing changed", hmac == NULL ||
		    *hmac == '\0' ? "no X-Shopify-Hmac-Sha256" :
		    "X-Shopify-Hmac-Sha256 does not match the app secret");
		return;
	}
	memset(&d, 0, sizeof(d));
	d.webhook_id = feedback_header(rq, "X-Shopify-Webhook-Id");
	d.event_id = feedback_header(rq, "X-Shopify-Event-Id");
	if (d.event_id != NULL && *d.event_id == '\0')
		d.event_id = NULL;
	d.received_at = rq->now;
	header_copy(d.webhook_id, id, sizeof(id));
	header_copy(topic, tname, sizeof(tname));
	if (d.webhook_id == NULL || *d.webhook_id == '\0' ||
	    strlen(d.webhook_id) > FEEDBACK_SHOPIFY_ID_MAX || topic == NULL) {
		feedback_reply(rs, 400, "Bad Request", LOG_WARNING, "shopify:"
		    " delivery refused: X-Shopify-Webhook-Id or"
		    " X-Shopify-Topic missing or too long");
		return;
	}
	if (feedback_shopify_topic_parse(topic, &t) == -1) {
		/* a subscription we do not use: retrying will not help */
		feedback_reply(rs, 200, "OK", LOG_INFO, "shopify: %s (%s): not"
		    " a topic segfeed handles, ignored", id, tname);
		return;
	}
	if (feedback_shopify_parse(t, rq->body, rq->len, &d, &p, err,
	    sizeof(err)) == -1) {
		/* the retry brings the same bytes: accept, say so */
		feedback_reply(rs, 200, "OK", LOG_ERR, "shopify: %s (%s):"
		    " payload not applied, it cannot be parsed: %s", id,
		    tname, err);
		return;
	}
	if (store_take(env, "shopify", rs) == -1) {
		feedback_shopify_free(p);
		return;
	}
	if (t == SHOPIFY_CUSTOMERS_REDACT) {
		shopify_redact(env, rq, p, id, rs);
		store_give(env);
		feedback_shopify_free(p);
		return;
	}
	rc = feedback_shopify_apply(env->st, p, &env->conf->seg, rq->now,
	    &result, &changed, err, sizeof(err));
	store_give(env);
	if (rc == -1)
		feedback_reply(rs, 503, "Service Unavailable", LOG_ERR,
		    "shopify: %s (%s): %s: retry expected", id, tname, err);
	else if (rc == 1)
		/* the shop's owner answers it, within Shopify's 30 days */
		feedback_reply(rs, 200, "OK", LOG_WARNING, "shopify: %s (%s):"
		    " for shop customer %s: to be answered with `segctl"
		    " customer export %s`", id, tname,
		    p->subject.customer_id != NULL ?
		    p->subject.customer_id : "?",
		    p->subject.email != NULL ? p->subject.email : "EMAIL");
	else
		feedback_reply(rs, 200, "OK", LOG_INFO, "shopify: %s (%s):"
		    " %s%s%s", id, tname, webhook_result_name(result),
		    p->warning[0] != '\0' ? "; dropped " : "", p->warning);
	feedback_shopify_free(p);
}

void
feedback_gateways(const struct conf *c, char *out, size_t len)
{
	const struct conf_feedback *f = &c->feedback;

	snprintf(out, len, "%s%s%s%s%s", f->twilio_auth_token[0] ? "twilio" :
	    "", f->twilio_auth_token[0] && f->kannel_secret[0] ? ", " : "",
	    f->kannel_secret[0] ? "kannel" : "", f->shopify_secret[0] &&
	    (f->twilio_auth_token[0] || f->kannel_secret[0]) ? ", " : "",
	    f->shopify_secret[0] ? "shopify" : "");
	if (*out == '\0')
		snprintf(out, len, "none");
}

const struct feedback_endpoint feedback_twilio_sms = {
	.name = "twilio",
	.methods = FEEDBACK_POST,
	.path_of = twilio_sms_path,
	.handle = twilio_sms_handle,
};

const struct feedback_endpoint feedback_twilio_status = {
	.name = "twilio",
	.methods = FEEDBACK_POST,
	.path_of = twilio_status_path,
	.handle = twilio_status_handle,
};

const struct feedback_endpoint feedback_kannel_mo = {
	.name = "kannel",
	.methods = FEEDBACK_GET | FEEDBACK_POST,
	.path_of = kannel_mo_path,
	.handle = kannel_mo_handle,
};

const struct feedback_endpoint feedback_kannel_dlr = {
	.name = "kannel",
	.methods = FEEDBACK_GET | FEEDBACK_POST,
	.path_of = kannel_dlr_path,
	.handle = kannel_dlr_handle,
};

const struct feedback_endpoint feedback_shopify_webhook = {
	.name = "shopify",
	.methods = FEEDBACK_POST,
	.path_of = shopify_path,
	.handle = shopify_handle,
};
