/*
 * customers.c - customer profiles: our columns and Shopify's export.
 *
 * Shopify's export carries marketing consent as yes/no without a date, so
 * it is recorded with the import time and only when it differs from what
 * the store already holds: re-importing the same export changes nothing,
 * and a "no" after a "yes" is recorded as a revocation.  A number that is
 * not a valid phone is dropped with a warning rather than losing the whole
 * customer; a missing or invalid email makes the record bad.  Text fields
 * lose their control characters, and names their bytes past what a
 * recipient's fields hold, with a warning each: one bad field never costs
 * the customer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "str.h"
#include "xalloc.h"

/*
 * The consent of customers just created is queued and written many rows
 * to a statement (less of SQLite's work per row; both tables grow at
 * their end).  The customers themselves are written one at a time: their
 * email and phone indexes take rows all over, and a statement of many rows
 * would keep a copy of each page it changes in case a row fails.
 */
#define CUSTOMERS_CONSENT_BATCH	(1 << STORE_CONSENT_MANY_LOG2)

/* Names are cut here rather than in the milter, where nobody sees it. */
#define CUSTOMERS_NAME_MAX	(STORE_NAME_MAX - 1)

struct customers_queue {
	struct store_consent	 k[CUSTOMERS_CONSENT_BATCH];
	char			 evidence[CUSTOMERS_CONSENT_BATCH][256];
	size_t			 n;
};

enum {
	CN_EMAIL, CN_FIRST, CN_LAST, CN_PHONE, CN_COUNTRY, CN_REGION,
	CN_CURRENCY, CN_LANGUAGE, CN_TZ, CN_ACCOUNT, CN_TAX, CN_COMPANY,
	CN_TAGS, CN_CREATED, CN_EXTERNAL
};

static const struct import_column native_cols[] = {
	[CN_EMAIL] = { { "email" }, 1 },
	[CN_FIRST] = { { "first_name" }, 0 },
	[CN_LAST] = { { "last_name" }, 0 },
	[CN_PHONE] = { { "phone" }, 0 },
	[CN_COUNTRY] = { { "country" }, 0 },
	[CN_REGION] = { { "region" }, 0 },
	[CN_CURRENCY] = { { "currency" }, 0 },
	[CN_LANGUAGE] = { { "language" }, 0 },
	[CN_TZ] = { { "time_zone" }, 0 },
	[CN_ACCOUNT] = { { "account_type" }, 0 },
	[CN_TAX] = { { "tax_exempt" }, 0 },
	[CN_COMPANY] = { { "company" }, 0 },
	[CN_TAGS] = { { "tags" }, 0 },
	[CN_CREATED] = { { "created_at" }, 0 },
	[CN_EXTERNAL] = { { "external_id" }, 0 },
};

enum {
	CS_ID, CS_FIRST, CS_LAST, CS_EMAIL, CS_ACCEPTS_EMAIL, CS_COMPANY,
	CS_PROVINCE, CS_COUNTRY, CS_ADDR_PHONE, CS_PHONE, CS_ACCEPTS_SMS,
	CS_TAX, CS_TAGS
};

/*
 * Newer export names first, then the older ones.  "First Name" (with its
 * space) tells Shopify's export from ours in either version.
 */
static const struct import_column shopify_cols[] = {
	[CS_ID] = { { "Customer ID" }, 0 },
	[CS_FIRST] = { { "First Name" }, 0 },
	[CS_LAST] = { { "Last Name" }, 0 },
	[CS_EMAIL] = { { "Email" }, 1 },
	[CS_ACCEPTS_EMAIL] = { { "Accepts Email Marketing",
	    "Accepts Marketing" }, 0 },
	[CS_COMPANY] = { { "Default Address Company", "Company" }, 0 },
	[CS_PROVINCE] = { { "Default Address Province Code",
	    "Province Code" }, 0 },
	[CS_COUNTRY] = { { "Default Address Country Code", "Country Code" },
	    0 },
	[CS_ADDR_PHONE] = { { "Default Address Phone" }, 0 },
	[CS_PHONE] = { { "Phone" }, 0 },
	[CS_ACCEPTS_SMS] = { { "Accepts SMS Marketing" }, 0 },
	[CS_TAX] = { { "Tax Exempt" }, 0 },
	[CS_TAGS] = { { "Tags" }, 0 },
};

/* An export made without the marketing columns says nothing of consent. */
static const char *const
shopify_if_missing[sizeof(shopify_cols) / sizeof(shopify_cols[0])] = {
	[CS_ACCEPTS_EMAIL] = "no email consent is read from this file: what"
	    " the store holds is kept, and customers new to it get no"
	    " campaign email until their consent is imported",
	[CS_ACCEPTS_SMS] = "no SMS consent is read from this file: what the"
	    " store holds is kept, and customers new to it get no campaign SMS",
};

/* ISO 3166 alpha-2, uppercased into OUT; 1 (reported) if malformed. */
static int
customers_country(struct import_ctx *ctx, int c, char *out)
{
	const char *v = import_col(ctx, c);

	out[0] = '\0';
	if (*v == '\0')
		return 0;
	if (strlen(v) != 2 || !isalpha((unsigned char)v[0]) ||
	    !isalpha((unsigned char)v[1]))
		return import_bad(ctx, "%s: '%s' is not a two-letter country"
		    " code", ctx->fmt->cols[c].names[0], v);
	out[0] = (char)toupper((unsigned char)v[0]);
	out[1] = (char)toupper((unsigned char)v[1]);
	out[2] = '\0';
	return 0;
}

static int
customers_bool(struct import_ctx *ctx, int c, int *out)
{
	const char *why, *v = import_col(ctx, c);

	*out = 0;
	if (*v == '\0')
		return 0;
	if (parse_bool(v, out, &why) == -1)
		return import_bad(ctx, "%s: '%s': %s",
		    ctx->fmt->cols[c].names[0], v, why);
	return 0;
}

/* E.164 into OUT, or "" with a warning: a bad number loses only itself. */
static void
customers_phone(struct import_ctx *ctx, const char *v, const char *country,
    char *out, size_t outlen)
{
	const char *why;

	out[0] = '\0';
	if (*v == '\0')
		return;
	if (parse_phone(v, *country ? country : NULL, out, outlen, &why) ==
	    -1) {
		out[0] = '\0';
		import_warn(ctx, "phone '%s': %s; stored without a phone", v,
		    why);
	}
}

/* Writes the queued consent; before a commit, and at the end. */
static int
customers_flush(struct import_ctx *ctx)
{
	struct customers_queue *q = ctx->state;

	if (q == NULL || q->n == 0)
		return 0;
	if (store_consent_add(ctx->st, q->k, q->n) == -1)
		return import_store_fail(ctx);
	q->n = 0;
	return 0;
}

/* Queues CS for a customer just created (EVIDENCE copied). */
static int
customers_queue(struct import_ctx *ctx, const struct store_consent *cs,
    const char *evidence)
{
	struct customers_queue *q = ctx->state;

	if (q == NULL)
		ctx->state = q = xcalloc(1, sizeof(*q));
	str_copy(q->evidence[q->n], sizeof(q->evidence[0]), evidence);
	q->k[q->n] = *cs;
	q->k[q->n].evidence = q->evidence[q->n];
	if (++q->n == CUSTOMERS_CONSENT_BATCH)
		return customers_flush(ctx);
	return 0;
}

/* Saves C; *CREATED says whether it is a new customer. */
static int
customers_save(struct import_ctx *ctx, const struct store_customer *c,
    int64_t *id, int *created)
{
	enum store_change ch;

	*created = 0;
	if (store_customer_upsert(ctx->st, c, id, &ch) == -1)
		return import_store_fail(ctx);
	*created = ch == STORE_INSERTED;
	import_tally(ctx, ch);
	return 0;
}

/*
 * A customer twice in one file is usually two exports pasted together or
 * two accounts of one person: the later row wins, which may not be what
 * the shop meant, so it is said.
 */
static void
customers_once(struct import_ctx *ctx, const char *email)
{
	unsigned long first;

	if ((first = import_seen(ctx, email)) != 0)
		import_warn(ctx, "%s is on line %lu too: this row replaces it",
		    email, first);
}

static int
customers_native_record(struct import_ctx *ctx)
{
	struct store_customer c;
	char email[PARSE_EMAIL_MAX + 1], country[3], phone[PARSE_PHONE_MAX + 1];
	const char *why, *v;
	int64_t id;
	int rc, created;

	memset(&c, 0, sizeof(c));
	if ((rc = import_email(ctx, CN_EMAIL, email, sizeof(email))) != 0 ||
	    (rc = customers_country(ctx, CN_COUNTRY, country)) != 0 ||
	    (rc = customers_bool(ctx, CN_TAX, &c.tax_exempt)) != 0)
		return rc;
	if ((v = import_opt(ctx, CN_CREATED)) != NULL &&
	    parse_time(v, &c.created_at, &why) == -1)
		return import_bad(ctx, "created_at: '%s': %s", v, why);
	if ((v = import_opt(ctx, CN_CURRENCY)) != NULL && (strlen(v) != 3 ||
	    !isupper((unsigned char)v[0]) || !isupper((unsigned char)v[1]) ||
	    !isupper((unsigned char)v[2])))
		return import_bad(ctx, "currency: '%s' is not an ISO 4217"
		    " code", v);
	customers_phone(ctx, import_col(ctx, CN_PHONE), country, phone,
	    sizeof(phone));

	customers_once(ctx, email);
	c.email = email;
	c.external_id = import_text(ctx, CN_EXTERNAL, 0);
	c.first_name = import_text(ctx, CN_FIRST, CUSTOMERS_NAME_MAX);
	c.last_name = import_text(ctx, CN_LAST, CUSTOMERS_NAME_MAX);
	c.phone = *phone ? phone : NULL;
	c.country = *country ? country : NULL;
	c.region = import_text(ctx, CN_REGION, 0);
	c.currency = import_opt(ctx, CN_CURRENCY);
	c.language = import_text(ctx, CN_LANGUAGE, 0);
	c.time_zone = import_text(ctx, CN_TZ, 0);
	c.account_type = import_text(ctx, CN_ACCOUNT, 0);
	c.company = import_text(ctx, CN_COMPANY, CUSTOMERS_NAME_MAX);
	c.tags = import_text(ctx, CN_TAGS, 0);
	return customers_save(ctx, &c, &id, &created);
}

/*
 * Records the export's yes/no for CHANNEL as dated consent evidence.  An
 * SMS "yes" for a number that replied STOP is the shop's flag, not a new
 * opt-in (the shop may never have heard of the STOP): it is not taken.
 */
static int
customers_consent(struct import_ctx *ctx, int64_t id, int created, int col,
    enum store_channel channel, const char *phone)
{
	struct store_consent cs;
	enum store_change ch;
	char evidence[256], when[32];
	const char *v = import_col(ctx, col);
	int64_t at;
	int granted, rc;

	/* No column, or a blank: the export says nothing; guess nothing. */
	if (*v == '\0')
		return 0;
	if (customers_bool(ctx, col, &granted) != 0)
		return 1;
	if (channel == CHANNEL_SMS && granted && *phone != '\0') {
		if ((rc = store_phone_opted_out(ctx->st, phone, &at)) == -1)
			return import_store_fail(ctx);
		if (rc == 1) {
			format_time(at, when, sizeof(when));
			import_warn(ctx, "%s: yes, but %s opted out (STOP) at"
			    " %s: kept opted out until a new opt-in is"
			    " imported as consent", ctx->fmt->cols[col].names[0],
			    phone, when);
			return 0;
		}
	}
	snprintf(evidence, sizeof(evidence), "%s=%s at %s:%lu",
	    ctx->fmt->cols[col].names[0], v, ctx->path, ctx->row.line);
	memset(&cs, 0, sizeof(cs));
	cs.customer_id = id;
	cs.channel = channel;
	cs.granted = granted;
	cs.source = "shopify_customers_export";
	cs.recorded_at = ctx->opts->now;
	if (created)
		return customers_queue(ctx, &cs, evidence);
	/* the customer's consent may be queued: an email seen twice */
	if (customers_flush(ctx) == -1)
		return -1;
	cs.evidence = evidence;
	if (store_consent_record(ctx->st, &cs, STORE_CONSENT_IF_DIFFERENT,
	    &ch) == -1)
		return import_store_fail(ctx);
	return 0;
}

static int
customers_shopify_record(struct import_ctx *ctx)
{
	struct store_customer c;
	char email[PARSE_EMAIL_MAX + 1], country[3], phone[PARSE_PHONE_MAX + 1];
	const char *why, *v;
	int64_t id;
	int rc, unused, created;

	memset(&c, 0, sizeof(c));
	/* Shopify keeps customers known only by phone: nothing to mail. */
	if (*import_col(ctx, CS_EMAIL) == '\0') {
		ctx->stats->skipped++;
		return 0;
	}
	if ((rc = import_email(ctx, CS_EMAIL, email, sizeof(email))) != 0 ||
	    (rc = customers_country(ctx, CS_COUNTRY, country)) != 0 ||
	    (rc = customers_bool(ctx, CS_TAX, &c.tax_exempt)) != 0)
		return rc;
	/* Validate both consent columns before writing anything. */
	if (((v = import_opt(ctx, CS_ACCEPTS_EMAIL)) != NULL &&
	    parse_bool(v, &unused, &why) == -1) ||
	    ((v = import_opt(ctx, CS_ACCEPTS_SMS)) != NULL &&
	    parse_bool(v, &unused, &why) == -1))
		return import_bad(ctx, "marketing consent: '%s': %s", v, why);
	v = import_col(ctx, CS_PHONE);
	customers_phone(ctx, *v ? v : import_col(ctx, CS_ADDR_PHONE), country,
	    phone, sizeof(phone));

	customers_once(ctx, email);
	c.email = email;
	c.external_id = import_text(ctx, CS_ID, 0);
	c.first_name = import_text(ctx, CS_FIRST, CUSTOMERS_NAME_MAX);
	c.last_name = import_text(ctx, CS_LAST, CUSTOMERS_NAME_MAX);
	c.phone = *phone ? phone : NULL;
	c.country = *country ? country : NULL;
	c.region = import_text(ctx, CS_PROVINCE, 0);
	c.company = import_text(ctx, CS_COMPANY, CUSTOMERS_NAME_MAX);
	c.tags = import_text(ctx, CS_TAGS, 0);
	if ((rc = customers_save(ctx, &c, &id, &created)) != 0)
		return rc;
	if ((rc = customers_consent(ctx, id, created, CS_ACCEPTS_EMAIL,
	    CHANNEL_EMAIL, phone)) != 0)
		return rc;
	return customers_consent(ctx, id, created, CS_ACCEPTS_SMS,
	    CHANNEL_SMS, phone);
}

const struct import_format import_customers_native = {
	"customers (segctl columns)", IMPORT_CUSTOMERS, NULL,
	native_cols, sizeof(native_cols) / sizeof(native_cols[0]),
	customers_native_record, NULL, NULL, NULL, NULL
};

const struct import_format import_customers_shopify = {
	"Shopify customers export", IMPORT_CUSTOMERS, "First Name",
	shopify_cols, sizeof(shopify_cols) / sizeof(shopify_cols[0]),
	customers_shopify_record, customers_flush, customers_flush,
	NULL, shopify_if_missing
};
