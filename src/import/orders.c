/*
 * orders.c - orders and their lines: our columns and Shopify's export.
 *
 * Both formats have one record per order line, consecutive for one order;
 * Shopify writes the order's own fields (status, total, dates) only on its
 * first record.  Records are therefore gathered per order and written when
 * the next order starts.  A bad record spoils its whole order: importing
 * part of an order would misstate what the customer bought, so the order is
 * skipped and each of its records reported.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "import_int.h"
#include "xalloc.h"

#define ORDERS_ARENA_MAX	(4 * 1024 * 1024)

enum {
	OC_REF, OC_EMAIL, OC_CREATED, OC_STATUS, OC_CANCELLED, OC_CURRENCY,
	OC_TOTAL, OC_REFUNDED, OC_DISCOUNT, OC_SKU, OC_PRODUCT, OC_CATEGORY,
	OC_QUANTITY, OC_PRICE, OC_COUNT
};

static const struct import_column native_cols[] = {
	[OC_REF] = { { "order_id" }, 1 },
	[OC_EMAIL] = { { "email" }, 1 },
	[OC_CREATED] = { { "created_at" }, 1 },
	[OC_STATUS] = { { "financial_status" }, 0 },
	[OC_CANCELLED] = { { "cancelled_at" }, 0 },
	[OC_CURRENCY] = { { "currency" }, 0 },
	[OC_TOTAL] = { { "total" }, 1 },
	[OC_REFUNDED] = { { "refunded" }, 0 },
	[OC_DISCOUNT] = { { "discount_code" }, 0 },
	[OC_SKU] = { { "sku" }, 0 },
	[OC_PRODUCT] = { { "product" }, 0 },
	[OC_CATEGORY] = { { "category" }, 0 },
	[OC_QUANTITY] = { { "quantity" }, 0 },
	[OC_PRICE] = { { "price" }, 0 },
};

/* Shopify has no category: products.csv or the config maps supply it. */
static const struct import_column shopify_cols[] = {
	[OC_REF] = { { "Name" }, 1 },
	[OC_EMAIL] = { { "Email" }, 1 },
	[OC_CREATED] = { { "Created at" }, 1 },
	[OC_STATUS] = { { "Financial Status" }, 0 },
	[OC_CANCELLED] = { { "Cancelled at" }, 0 },
	[OC_CURRENCY] = { { "Currency" }, 0 },
	[OC_TOTAL] = { { "Total" }, 1 },
	[OC_REFUNDED] = { { "Refunded Amount" }, 0 },
	[OC_DISCOUNT] = { { "Discount Code" }, 0 },
	[OC_SKU] = { { "Lineitem sku" }, 0 },
	[OC_PRODUCT] = { { "Lineitem name" }, 0 },
	[OC_CATEGORY] = { { NULL }, 0 },
	[OC_QUANTITY] = { { "Lineitem quantity" }, 1 },
	[OC_PRICE] = { { "Lineitem price" }, 1 },
};

static const char *const financial_statuses[] = {
	"paid", "pending", "authorized", "partially_paid",
	"partially_refunded", "refunded", "voided", "expired"
};

/* Strings live in the arena and are referred to by offset (it moves). */
struct orders_line {
	size_t		 sku, product, category;	/* 0: NULL */
	int64_t		 quantity, price;
};

struct orders_state {
	struct buf	 arena;
	char		 ref[128];
	int		 active;	/* an order is being gathered */
	int		 bad;		/* ... and will be skipped */
	int		 guest;		/* ... has no email: skipped */
	unsigned long	 line;		/* its first record */
	char		 email[PARSE_EMAIL_MAX + 1];
	struct store_order order;
	size_t		 status, currency, discount;
	struct orders_line *lines;
	size_t		 nlines, cap;
};

static struct orders_state *
orders_state(struct import_ctx *ctx)
{
	struct orders_state *os = ctx->state;

	if (os == NULL) {
		os = xcalloc(1, sizeof(*os));
		buf_init(&os->arena, ORDERS_ARENA_MAX);
		ctx->state = os;
	}
	return os;
}

/* Copies V into the arena; returns its offset, 0 for NULL or no room. */
static size_t
orders_keep(struct orders_state *os, const char *v)
{
	size_t off;

	if (v == NULL)
		return 0;
	off = os->arena.len;
	if (buf_append(&os->arena, v, strlen(v) + 1) == -1)
		return 0;
	return off;
}

static const char *
orders_str(const struct orders_state *os, size_t off)
{
	return off != 0 ? os->arena.data + off : NULL;
}

/* Writes the gathered order; tallies it once, whatever its lines did. */
static int
orders_flush(struct import_ctx *ctx, struct orders_state *os)
{
	enum store_change ch, lch;
	struct store_order_line l;
	int64_t order_id;
	size_t i;

	if (!os->active || os->bad || os->guest)
		return 0;
	if (import_customer(ctx, os->email, &os->order.customer_id) == -1)
		return -1;
	os->order.ref = os->ref;
	os->order.financial_status = orders_str(os, os->status);
	os->order.currency = orders_str(os, os->currency);
	os->order.discount_code = orders_str(os, os->discount);
	if (store_order_upsert(ctx->st, &os->order, &order_id, &ch) == -1)
		return import_store_fail(ctx);
	for (i = 0; i < os->nlines; i++) {
		l.line_no = (int64_t)i + 1;
		l.sku = orders_str(os, os->lines[i].sku);
		l.product = orders_str(os, os->lines[i].product);
		l.category = orders_str(os, os->lines[i].category);
		l.quantity = os->lines[i].quantity;
		l.price = os->lines[i].price;
		if (store_order_line_upsert(ctx->st, order_id, &l, &lch) == -1)
			return import_store_fail(ctx);
		if (ch == STORE_UNCHANGED && lch != STORE_UNCHANGED)
			ch = STORE_UPDATED;
	}
	if (ch != STORE_INSERTED) {
		if (store_order_lines_trim(ctx->st, order_id,
		    (int64_t)os->nlines, &lch) == -1)
			return import_store_fail(ctx);
		if (ch == STORE_UNCHANGED && lch != STORE_UNCHANGED)
			ch = STORE_UPDATED;
	}
	import_tally(ctx, ch);
	return 0;
}

static int
orders_money(struct import_ctx *ctx, int c, int64_t *out)
{
	const char *why, *v = import_col(ctx, c);

	*out = 0;
	if (*v == '\0')
		return 0;
	if (parse_money(v, out, &why) == -1)
		return import_bad(ctx, "%s: '%s': %s",
		    ctx->fmt->cols[c].names[0], v, why);
	return 0;
}

static int
orders_time(struct import_ctx *ctx, int c, int64_t *out)
{
	const char *why, *v = import_col(ctx, c);

	*out = 0;
	if (*v == '\0')
		return 0;
	if (parse_time(v, out, &why) == -1)
		return import_bad(ctx, "%s: '%s': %s",
		    ctx->fmt->cols[c].names[0], v, why);
	return 0;
}

/* The order's own fields, from its first record. */
static int
orders_begin(struct import_ctx *ctx, struct orders_state *os)
{
	const char *v, *names0;
	char status[32];
	size_t i;
	int rc;

	buf_reset(&os->arena);
	buf_putc(&os->arena, '\0');	/* offset 0 means NULL */
	memset(&os->order, 0, sizeof(os->order));
	os->nlines = 0;
	os->status = os->currency = os->discount = 0;
	os->active = 1;
	os->bad = os->guest = 0;
	os->line = ctx->row.line;

	if (*import_col(ctx, OC_EMAIL) == '\0' && ctx->fmt->signature) {
		/* A point-of-sale order with no customer: nobody to mail. */
		os->guest = 1;
		ctx->stats->skipped++;
		return 0;
	}
	if ((rc = import_email(ctx, OC_EMAIL, os->email,
	    sizeof(os->email))) != 0)
		return rc;
	names0 = ctx->fmt->cols[OC_CREATED].names[0];
	if (*import_col(ctx, OC_CREATED) == '\0')
		return import_bad(ctx, "%s: missing", names0);
	if ((rc = orders_time(ctx, OC_CREATED, &os->order.created_at)) != 0 ||
	    (rc = orders_time(ctx, OC_CANCELLED,
	    &os->order.cancelled_at)) != 0 ||
	    (rc = orders_money(ctx, OC_TOTAL, &os->order.total)) != 0 ||
	    (rc = orders_money(ctx, OC_REFUNDED, &os->order.refunded)) != 0)
		return rc;
	if (*import_col(ctx, OC_TOTAL) == '\0')
		return import_bad(ctx, "%s: missing",
		    ctx->fmt->cols[OC_TOTAL].names[0]);

	/* Our own format defaults to paid; Shopify always says. */
	v = import_opt(ctx, OC_STATUS);
	snprintf(status, sizeof(status), "%s", v ? v : "paid");
	for (i = 0; status[i] != '\0'; i++)
		status[i] = (char)tolower((unsigned char)status[i]);
	for (i = 0; i < sizeof(financial_statuses) /
	    sizeof(financial_statuses[0]); i++)
		if (strcmp(status, financial_statuses[i]) == 0)
			break;
	if (i == sizeof(financial_statuses) / sizeof(financial_statuses[0]))
		return import_bad(ctx, "%s: unknown financial status '%s'",
		    ctx->fmt->cols[OC_STATUS].names[0], v);
	os->status = orders_keep(os, status);

	v = import_opt(ctx, OC_CURRENCY);
	if (v != NULL && (strlen(v) != 3 || !isupper((unsigned char)v[0]) ||
	    !isupper((unsigned char)v[1]) || !isupper((unsigned char)v[2])))
		return import_bad(ctx, "%s: '%s' is not an ISO 4217 code",
		    ctx->fmt->cols[OC_CURRENCY].names[0], v);
	os->currency = orders_keep(os, v);
	os->discount = orders_keep(os, import_opt(ctx, OC_DISCOUNT));
	return 0;
}

static int
orders_add_line(struct import_ctx *ctx, struct orders_state *os)
{
	struct orders_line *l;
	const char *why, *v;
	char slug[CONF_NAME_MAX];
	int64_t qty = 0, price = 0;
	int rc;

	/* A record with no line at all: an order known only by its total. */
	if (*import_col(ctx, OC_QUANTITY) == '\0' &&
	    *import_col(ctx, OC_PRICE) == '\0' &&
	    *import_col(ctx, OC_SKU) == '\0' &&
	    *import_col(ctx, OC_PRODUCT) == '\0')
		return 0;
	v = import_col(ctx, OC_QUANTITY);
	if (parse_int(v, 0, 1000000, &qty, &why) == -1)
		return import_bad(ctx, "%s: '%s': %s",
		    ctx->fmt->cols[OC_QUANTITY].names[0], v, why);
	if ((rc = orders_money(ctx, OC_PRICE, &price)) != 0)
		return rc;
	if (os->nlines == os->cap) {
		os->cap = os->cap ? os->cap * 2 : 8;
		os->lines = xreallocarray(os->lines, os->cap,
		    sizeof(*os->lines));
	}
	l = &os->lines[os->nlines++];
	l->quantity = qty;
	l->price = price;
	l->sku = orders_keep(os, import_opt(ctx, OC_SKU));
	l->product = orders_keep(os, import_opt(ctx, OC_PRODUCT));
	v = import_opt(ctx, OC_CATEGORY);
	l->category = v && parse_slug(v, slug, sizeof(slug)) == 0 ?
	    orders_keep(os, slug) : 0;
	return 0;
}

static int
orders_record(struct import_ctx *ctx)
{
	struct orders_state *os = orders_state(ctx);
	const char *ref = import_col(ctx, OC_REF);
	int rc;

	if (*ref == '\0')
		return import_bad(ctx, "%s: missing",
		    ctx->fmt->cols[OC_REF].names[0]);
	if (!os->active || strcmp(ref, os->ref) != 0) {
		if (orders_flush(ctx, os) == -1)
			return -1;
		snprintf(os->ref, sizeof(os->ref), "%s", ref);
		rc = orders_begin(ctx, os);
		if (rc != 0) {
			os->bad = 1;
			return rc;
		}
	} else if (os->bad) {
		return import_bad(ctx, "order %s skipped: its record at line"
		    " %lu is bad", os->ref, os->line);
	}
	if (os->guest)
		return 0;
	if ((rc = orders_add_line(ctx, os)) != 0) {
		os->bad = 1;
		if (rc == 1 && os->line != ctx->row.line)
			import_warn(ctx, "order %s (from line %lu) skipped for"
			    " the bad record above", os->ref, os->line);
	}
	return rc;
}

static int
orders_finish(struct import_ctx *ctx)
{
	struct orders_state *os = ctx->state;

	return os != NULL ? orders_flush(ctx, os) : 0;
}

static void
orders_cleanup(struct import_ctx *ctx)
{
	struct orders_state *os = ctx->state;

	if (os == NULL)
		return;
	buf_free(&os->arena);
	free(os->lines);
	free(os);
	ctx->state = NULL;
}

const struct import_format import_orders_native = {
	"orders (segctl columns)", IMPORT_ORDERS, NULL,
	native_cols, OC_COUNT, orders_record, orders_finish, orders_cleanup
};

const struct import_format import_orders_shopify = {
	"Shopify orders export", IMPORT_ORDERS, "Lineitem quantity",
	shopify_cols, OC_COUNT, orders_record, orders_finish, orders_cleanup
};
