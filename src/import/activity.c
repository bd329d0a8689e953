/*
 * activity.c - what customers did and agreed to: behaviour events,
 * consent statements and campaign engagement, in our own columns.
 *
 * Rows name customers by email; one not yet known is created bare, since
 * a newsletter signup or a browsing session can precede any order.
 * Consent needs its evidence: a status, a source and the time it was
 * given or withdrawn.  A row without them is bad, never a guess.
 */
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "str.h"
#include "xalloc.h"

enum { EC_EMAIL, EC_TYPE, EC_AT, EC_CATEGORY, EC_SKU, EC_VALUE };

static const struct import_column event_cols[] = {
	[EC_EMAIL] = { { "email" }, 1 },
	[EC_TYPE] = { { "type" }, 1 },
	[EC_AT] = { { "occurred_at" }, 1 },
	[EC_CATEGORY] = { { "category" }, 0 },
	[EC_SKU] = { { "sku" }, 0 },
	[EC_VALUE] = { { "cart_value" }, 0 },
};

enum { KC_EMAIL, KC_CHANNEL, KC_STATUS, KC_SOURCE, KC_AT, KC_EVIDENCE };

static const struct import_column consent_cols[] = {
	[KC_EMAIL] = { { "email" }, 1 },
	[KC_CHANNEL] = { { "channel" }, 1 },
	[KC_STATUS] = { { "status" }, 1 },
	[KC_SOURCE] = { { "source" }, 1 },
	[KC_AT] = { { "recorded_at" }, 1 },
	[KC_EVIDENCE] = { { "evidence" }, 0 },
};

enum { GC_EMAIL, GC_CAMPAIGN, GC_TYPE, GC_AT };

static const struct import_column engagement_cols[] = {
	[GC_EMAIL] = { { "email" }, 1 },
	[GC_CAMPAIGN] = { { "campaign_id" }, 1 },
	[GC_TYPE] = { { "type" }, 1 },
	[GC_AT] = { { "occurred_at" }, 1 },
};

/* A required timestamp column C into *OUT; 1 (reported) if bad. */
static int
activity_time(struct import_ctx *ctx, int c, int64_t *out)
{
	const char *why, *v = import_col(ctx, c);

	if (*v == '\0')
		return import_bad(ctx, "%s: missing",
		    ctx->fmt->cols[c].names[0]);
	if (parse_time(v, out, &why) == -1)
		return import_bad(ctx, "%s: '%s': %s",
		    ctx->fmt->cols[c].names[0], v, why);
	return 0;
}

/*
 * Events are queued and written EVENTS_BATCH to a statement, as
 * engagement is (below); one whose SKU is too long for the queue is
 * written at once.
 */
#define EVENTS_BATCH	(1 << STORE_EVENTS_MANY_LOG2)

struct events_batch {
	struct store_event	 rows[EVENTS_BATCH];
	char			 skus[EVENTS_BATCH][64];
	char			 categories[EVENTS_BATCH][CONF_NAME_MAX];
	size_t			 n;
};

static int
events_flush(struct import_ctx *ctx)
{
	struct events_batch *b = ctx->state;
	int64_t inserted;

	if (b == NULL || b->n == 0)
		return 0;
	if (store_events_add(ctx->st, b->rows, b->n, &inserted) == -1)
		return import_store_fail(ctx);
	import_tally_batch(ctx, b->n, inserted);
	b->n = 0;
	return 0;
}

/* Queues E (its strings copied); writes at once if its SKU is too long. */
static int
events_queue(struct import_ctx *ctx, const struct store_event *e)
{
	struct events_batch *b = ctx->state;
	struct store_event *q;
	enum store_change ch;

	if (e->sku != NULL && strlen(e->sku) >= sizeof(b->skus[0])) {
		if (store_event_add(ctx->st, e, &ch) == -1)
			return import_store_fail(ctx);
		import_tally(ctx, ch);
		return 0;
	}
	if (b == NULL)
		ctx->state = b = xcalloc(1, sizeof(*b));
	q = &b->rows[b->n];
	*q = *e;
	if (e->sku != NULL) {
		str_copy(b->skus[b->n], sizeof(b->skus[0]), e->sku);
		q->sku = b->skus[b->n];
	}
	if (e->category != NULL) {
		str_copy(b->categories[b->n], sizeof(b->categories[0]),
		    e->category);
		q->category = b->categories[b->n];
	}
	if (++b->n == EVENTS_BATCH)
		return events_flush(ctx);
	return 0;
}

static int
events_record(struct import_ctx *ctx)
{
	struct store_event e;
	char email[PARSE_EMAIL_MAX + 1], slug[CONF_NAME_MAX];
	const char *why, *v;
	int rc;

	memset(&e, 0, sizeof(e));
	e.cart_value = -1;
	if ((rc = import_email(ctx, EC_EMAIL, email, sizeof(email))) != 0)
		return rc;
	v = import_col(ctx, EC_TYPE);
	if (segment_event_parse(v, &e.type) == -1)
		return import_bad(ctx, "type: '%s' is not product_view,"
		    " category_view, add_to_cart or checkout_start", v);
	if ((rc = activity_time(ctx, EC_AT, &e.at)) != 0)
		return rc;
	if ((v = import_opt(ctx, EC_VALUE)) != NULL &&
	    parse_money(v, &e.cart_value, &why) == -1)
		return import_bad(ctx, "cart_value: '%s': %s", v, why);
	if ((v = import_opt(ctx, EC_CATEGORY)) != NULL) {
		if (parse_slug(v, slug, sizeof(slug)) == -1)
			return import_bad(ctx, "category: '%s' has no letters"
			    " or digits", v);
		e.category = slug;
	}
	e.sku = import_opt(ctx, EC_SKU);
	if (import_customer(ctx, email, &e.customer_id) == -1)
		return -1;
	return events_queue(ctx, &e);
}

static int
consent_record(struct import_ctx *ctx)
{
	struct store_consent c;
	enum store_change ch;
	char email[PARSE_EMAIL_MAX + 1];
	const char *v;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = import_email(ctx, KC_EMAIL, email, sizeof(email))) != 0)
		return rc;
	v = import_col(ctx, KC_CHANNEL);
	if (strcmp(v, "email") == 0)
		c.channel = CHANNEL_EMAIL;
	else if (strcmp(v, "sms") == 0)
		c.channel = CHANNEL_SMS;
	else
		return import_bad(ctx, "channel: '%s' is not email or sms", v);
	v = import_col(ctx, KC_STATUS);
	if (strcmp(v, "granted") == 0)
		c.granted = 1;
	else if (strcmp(v, "revoked") != 0)
		return import_bad(ctx, "status: '%s' is not granted or"
		    " revoked", v);
	if ((c.source = import_opt(ctx, KC_SOURCE)) == NULL)
		return import_bad(ctx, "source: missing; consent needs its"
		    " evidence");
	if ((rc = activity_time(ctx, KC_AT, &c.recorded_at)) != 0)
		return rc;
	c.evidence = import_opt(ctx, KC_EVIDENCE);
	if (import_customer(ctx, email, &c.customer_id) == -1)
		return -1;
	if (store_consent_record(ctx->st, &c, 0, &ch) == -1)
		return import_store_fail(ctx);
	import_tally(ctx, ch);
	return 0;
}

/*
 * Engagement files are the longest: records are written STORE_ENGAGEMENT_
 * MANY at a time, which halves SQLite's work per record.  The batch is
 * written when full, before each commit and at the end of the file.
 */
struct engagement_batch {
	struct store_engagement	 rows[STORE_ENGAGEMENT_MANY];
	char			 campaigns[STORE_ENGAGEMENT_MANY][128];
	size_t			 n;
};

static int
engagement_flush(struct import_ctx *ctx)
{
	struct engagement_batch *b = ctx->state;
	int64_t inserted;

	if (b == NULL || b->n == 0)
		return 0;
	if (store_engagement_add_many(ctx->st, b->rows, b->n, &inserted) == -1)
		return import_store_fail(ctx);
	import_tally_batch(ctx, b->n, inserted);
	b->n = 0;
	return 0;
}

/* Queues E (its campaign copied); writes at once if it is too long. */
static int
engagement_queue(struct import_ctx *ctx, const struct store_engagement *e)
{
	struct engagement_batch *b = ctx->state;
	enum store_change ch;

	if (strlen(e->campaign_id) >= sizeof(b->campaigns[0])) {
		if (store_engagement_add(ctx->st, e, &ch) == -1)
			return import_store_fail(ctx);
		import_tally(ctx, ch);
		return 0;
	}
	if (b == NULL)
		ctx->state = b = xcalloc(1, sizeof(*b));
	memcpy(b->campaigns[b->n], e->campaign_id, strlen(e->campaign_id) + 1);
	b->rows[b->n] = *e;
	b->rows[b->n].campaign_id = b->campaigns[b->n];
	if (++b->n == STORE_ENGAGEMENT_MANY)
		return engagement_flush(ctx);
	return 0;
}

static int
engagement_record(struct import_ctx *ctx)
{
	struct store_engagement e;
	char email[PARSE_EMAIL_MAX + 1];
	const char *v;
	int rc;

	memset(&e, 0, sizeof(e));
	if ((rc = import_email(ctx, GC_EMAIL, email, sizeof(email))) != 0)
		return rc;
	if ((e.campaign_id = import_opt(ctx, GC_CAMPAIGN)) == NULL)
		return import_bad(ctx, "campaign_id: missing");
	v = import_col(ctx, GC_TYPE);
	if (store_engagement_parse(v, &e.type) == -1)
		return import_bad(ctx, "type: '%s' is not sent, open, click,"
		    " unsubscribe, bounce or sms_optout", v);
	if ((rc = activity_time(ctx, GC_AT, &e.at)) != 0)
		return rc;
	if (import_customer(ctx, email, &e.customer_id) == -1)
		return -1;
	return engagement_queue(ctx, &e);
}

const struct import_format import_events_native = {
	"events", IMPORT_EVENTS, NULL, event_cols,
	sizeof(event_cols) / sizeof(event_cols[0]), events_record, events_flush,
	events_flush, NULL, NULL
};

const struct import_format import_consent_native = {
	"consent", IMPORT_CONSENT, NULL, consent_cols,
	sizeof(consent_cols) / sizeof(consent_cols[0]), consent_record, NULL,
	NULL, NULL, NULL
};

const struct import_format import_engagement_native = {
	"engagement", IMPORT_ENGAGEMENT, NULL, engagement_cols,
	sizeof(engagement_cols) / sizeof(engagement_cols[0]),
	engagement_record, engagement_flush, engagement_flush, NULL, NULL
};
