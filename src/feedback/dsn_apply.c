/*
 * dsn_apply.c - what a bounce or a complaint changes in the store
 * (dsn.h): one engagement row and its audit row, in one transaction.
 *
 * The token is the only thing trusted: the report's own text is the
 * remote MTA's and anyone may send us one.  The envelope recipient's
 * token is tried first (it is where the report was sent), then the
 * returned original's.  Of the report's recipients the one with the
 * customer's address is recorded, or the only one when it names another
 * (a forwarding address) or none; a report about several others is not
 * about this customer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "bounce.h"
#include "dsn.h"
#include "store_lookup.h"
#include "store_record.h"

static const char *const outcome_names[] = {
	[DSN_RECORDED] = "recorded",
	[DSN_ALREADY] = "already recorded",
	[DSN_NOTHING] = "no failure reported",
	[DSN_NOT_OURS] = "no genuine bounce token",
	[DSN_NOT_CUSTOMER] = "not about the token's customer",
};

const char *
dsn_outcome_name(enum dsn_outcome o)
{
	return o <= DSN_NOT_CUSTOMER ? outcome_names[o] : "?";
}

/* What store_customer_campaigns walks with: the token and the match. */
struct dsn_find {
	const struct bounce_token *bt;
	char		*out;
	size_t		 len;
};

static int
dsn_find_campaign(const char *campaign, void *arg)
{
	struct dsn_find *f = arg;

	if (!bounce_token_names_campaign(f->bt, campaign))
		return 0;
	snprintf(f->out, f->len, "%s", campaign);
	return 1;
}

/*
 * The campaign the token names into OUT: the report's own campaign
 * header when the hash agrees, else one delivered to the customer, else
 * "#" and the hash, so the bounce is still counted.  0, or -1.
 */
static int
dsn_campaign(struct store *st, const struct bounce_token *bt,
    const struct dsn_report *r, char *out, size_t len)
{
	struct dsn_find f;
	int rc;

	if (r->campaign[0] != '\0' &&
	    bounce_token_names_campaign(bt, r->campaign)) {
		snprintf(out, len, "%s", r->campaign);
		return 0;
	}
	f.bt = bt;
	f.out = out;
	f.len = len;
	if ((rc = store_customer_campaigns(st, bt->customer_id,
	    dsn_find_campaign, &f)) == -1)
		return -1;
	if (rc == 0)
		snprintf(out, len, "#%010" PRIx64, bt->campaign);
	return 0;
}

/* The recipient of R about EMAIL, or NULL. */
static const struct dsn_rcpt *
dsn_pick(const struct dsn_report *r, const char *email)
{
	size_t i;

	for (i = 0; i < r->nrcpts; i++)
		if (strcasecmp(r->rcpts[i].recipient, email) == 0)
			return &r->rcpts[i];
	return r->nrcpts == 1 ? &r->rcpts[0] : NULL;
}

static const char *
dsn_decision(enum dsn_kind k)
{
	switch (k) {
	case DSN_HARD:
		return "hard_bounce";
	case DSN_SOFT:
		return "soft_bounce";
	case DSN_COMPLAINT:
		return "complaint";
	}
	return "?";
}

static enum store_engagement_type
dsn_engagement(enum dsn_kind k)
{
	switch (k) {
	case DSN_HARD:
		return ENG_BOUNCE;
	case DSN_SOFT:
		return ENG_SOFT_BOUNCE;
	case DSN_COMPLAINT:
		break;
	}
	return ENG_COMPLAINT;
}

int
dsn_apply(struct store *st, const unsigned char *key, size_t keylen,
    const struct dsn_report *r, const char *config_hash, int64_t now,
    struct dsn_result *out)
{
	struct audit_chain ch = { 0 };
	enum store_change changed;
	const struct dsn_rcpt *rc;
	struct store_engagement e;
	struct store_customer c;
	struct bounce_token bt;
	struct store_audit a;
	char detail[DSN_DIAG_MAX + 128];
	int found;

	memset(out, 0, sizeof(*out));
	if (r->env_token[0] != '\0' &&
	    bounce_token_parse(key, keylen, r->env_token, &bt) == 0)
		out->token_from = "envelope";
	else if (r->orig_token[0] != '\0' &&
	    bounce_token_parse(key, keylen, r->orig_token, &bt) == 0)
		out->token_from = "original";
	else {
		out->outcome = DSN_NOT_OURS;
		return 0;
	}
	out->customer_id = bt.customer_id;
	if (r->nrcpts == 0) {
		out->outcome = DSN_NOTHING;
		return 0;
	}
	if (store_begin(st) == -1)
		return -1;
	if ((found = store_customer_get(st, bt.customer_id, &c)) == -1)
		goto fail;
	if (found == 1 || !bounce_token_names_email(&bt, c.email) ||
	    (rc = dsn_pick(r, c.email)) == NULL) {
		store_rollback(st);
		out->outcome = DSN_NOT_CUSTOMER;
		return 0;
	}
	snprintf(out->email, sizeof(out->email), "%s", c.email);
	out->kind = rc->kind;
	snprintf(out->status, sizeof(out->status), "%s", rc->status);
	if (dsn_campaign(st, &bt, r, out->campaign,
	    sizeof(out->campaign)) == -1)
		goto fail;
	memset(&e, 0, sizeof(e));
	e.customer_id = bt.customer_id;
	e.campaign_id = out->campaign;
	e.type = dsn_engagement(rc->kind);
	e.at = now;
	if (store_engagement_add(st, &e, &changed) == -1)
		goto fail;
	if (changed == STORE_UNCHANGED) {
		store_rollback(st);
		out->outcome = DSN_ALREADY;
		return 0;
	}
	if (rc->kind == DSN_COMPLAINT)
		snprintf(detail, sizeof(detail), "%s (token in the %s)",
		    rc->diagnostic, out->token_from);
	else
		snprintf(detail, sizeof(detail), "%s %s (token in the %s)",
		    rc->status, rc->diagnostic, out->token_from);
	memset(&a, 0, sizeof(a));
	a.at = now;
	a.channel = "email";
	a.queue_id = "segctl";
	a.message_id = "";
	a.campaign_id = out->campaign;
	a.recipient = out->email;
	a.customer_id = bt.customer_id;
	a.decision = dsn_decision(rc->kind);
	a.detail = detail;
	a.segment = "";
	a.variant = "";
	a.consent = "";
	a.config_hash = config_hash;
	if (audit_begin(st, &ch) == -1)
		goto fail;
	if (audit_append(st, &ch, &a) == -1 || store_commit(st) == -1) {
		audit_end(&ch);
		goto fail;
	}
	audit_end(&ch);
	out->outcome = DSN_RECORDED;
	return 0;
fail:
	store_rollback(st);
	return -1;
}
