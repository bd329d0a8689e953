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
#include "str.h"
#include "xalloc.h"

/*
 * Orders are written ORDERS_BATCH at a time, many rows per statement
 * (less of SQLite's work per row); a batch is cut short when its lines or
 * strings grow large, so memory stays bounded whatever the file.  One
 * order's strings may take up to ORDERS_ARENA_MAX, as they always could.
 */
#define ORDERS_BATCH		512
#define ORDERS_BATCH_LINES	1024
#define ORDERS_BATCH_BYTES	(1024 * 1024)
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

/* An order gathered whole, or being gathered. */
struct orders_pending {
	struct store_order order;	/* strings set when written */
	size_t		 ref, status, currency, discount;
	size_t		 first, nlines;	/* its lines in the batch's */
};

struct orders_state {
	struct buf	 arena;		/* strings of the batch */
	size_t		 start;		/* ... where the last order's begin */
	char		 ref[128];
	int		 active;	/* an order is being gathered */
	int		 bad;		/* ... and will be skipped */
	int		 guest;		/* ... has no email: skipped */
	unsigned long	 line;		/* its first record */
	char		 email[PARSE_EMAIL_MAX + 1];
	/* the batch, then the order being gathered */
	struct orders_pending pend[ORDERS_BATCH + 1];
	size_t		 npend;
	struct orders_line *lines;
	size_t		 nlines, cap;
	/* the last batch's orders were all stored already (a re-import): the
	 * next is upserted one by one without trying to add it first */
	int		 stored;
	/* what a batch is written from */
	struct store_order out[ORDERS_BATCH];
	int64_t		 ids[ORDERS_BATCH];
	struct store_order_line *wlines;
	int64_t		*wids;
	size_t		 wcap;
};

static void
orders_arena_reset(struct orders_state *os)
{
	buf_reset(&os->arena);
	buf_putc(&os->arena, '\0');	/* offset 0 means NULL */
}

static struct orders_state *
orders_state(struct import_ctx *ctx)
{
	struct orders_state *os = ctx->state;

	if (os == NULL) {
		os = xcalloc(1, sizeof(*os));
		buf_init(&os->arena, ORDERS_BATCH_BYTES + ORDERS_ARENA_MAX);
		orders_arena_reset(os);
		ctx->state = os;
	}
	return os;
}

/* Copies V into the arena; returns its offset, 0 for NULL or no room. */
static size_t
orders_keep(struct orders_state *os, const char *v)
{
	size_t off, n;

	if (v == NULL)
		return 0;
	off = os->arena.len;
	n = strlen(v) + 1;
	if (off - os->start + n > ORDERS_ARENA_MAX - 1 ||
	    buf_append(&os->arena, v, n) == -1)
		return 0;
	return off;
}

static const char *
orders_str(const struct orders_state *os, size_t off)
{
	return off != 0 ? os->arena.data + off : NULL;
}

/* An order whose ref was in the store: updated one row at a time. */
static int
orders_upsert(struct import_ctx *ctx, struct orders_state *os,
    const struct orders_pending *p)
{
	enum store_change ch, lch;
	struct store_order_line l;
	const struct orders_line *ol;
	int64_t order_id;
	size_t i;

	if (store_order_upsert(ctx->st, &p->order, &order_id, &ch) == -1)
		return import_store_fail(ctx);
	for (i = 0; i < p->nlines; i++) {
		ol = &os->lines[p->first + i];
		l.line_no = (int64_t)i + 1;
		l.sku = orders_str(os, ol->sku);
		l.product = orders_str(os, ol->product);
		l.category = orders_str(os, ol->category);
		l.quantity = ol->quantity;
		l.price = ol->price;
		if (store_order_line_upsert(ctx->st, order_id, &l, &lch) == -1)
			return import_store_fail(ctx);
		if (ch == STORE_UNCHANGED && lch != STORE_UNCHANGED)
			ch = STORE_UPDATED;
	}
	if (ch != STORE_INSERTED) {
		if (store_order_lines_trim(ctx->st, order_id,
		    (int64_t)p->nlines, &lch) == -1)
			return import_store_fail(ctx);
		if (ch == STORE_UNCHANGED && lch != STORE_UNCHANGED)
			ch = STORE_UPDATED;
	}
	import_tally(ctx, ch);
	return 0;
}

/* Writes the N lines queued in wlines; none are left queued. */
static int
orders_write_lines(struct import_ctx *ctx, struct orders_state *os,
    size_t *n)
{
	if (*n > 0 && store_order_lines_add(ctx->st, os->wids, os->wlines,
	    *n) == -1)
		return import_store_fail(ctx);
	*n = 0;
	return 0;
}

/*
 * Writes the batch: the new orders and their lines many to a statement,
 * the ones already in the store one by one, in file order (a ref seen
 * twice is added, then updated).  Tallies each order once.
 */
static int
orders_write(struct import_ctx *ctx, struct orders_state *os)
{
	struct orders_pending *p;
	const struct orders_line *ol;
	struct store_order_line *l;
	int64_t inserted = ctx->stats->inserted;
	size_t i, j, nw = 0;

	if (os->npend > 0) {
		for (i = 0; i < os->npend; i++) {
			p = &os->pend[i];
			p->order.ref = orders_str(os, p->ref);
			p->order.financial_status = orders_str(os, p->status);
			p->order.currency = orders_str(os, p->currency);
			p->order.discount_code = orders_str(os, p->discount);
			os->out[i] = p->order;
			os->ids[i] = 0;
		}
		if (!os->stored && store_orders_add(ctx->st, os->out,
		    os->npend, os->ids) == -1)
			return import_store_fail(ctx);
		if (os->wcap < os->nlines) {
			os->wcap = os->nlines;
			os->wlines = xreallocarray(os->wlines, os->wcap,
			    sizeof(*os->wlines));
			os->wids = xreallocarray(os->wids, os->wcap,
			    sizeof(*os->wids));
		}
	}
	for (i = 0; i < os->npend; i++) {
		p = &os->pend[i];
		if (os->ids[i] == 0) {
			if (orders_write_lines(ctx, os, &nw) == -1 ||
			    orders_upsert(ctx, os, p) == -1)
				return -1;
			continue;
		}
		for (j = 0; j < p->nlines; j++) {
			ol = &os->lines[p->first + j];
			l = &os->wlines[nw];
			l->line_no = (int64_t)j + 1;
			l->sku = orders_str(os, ol->sku);
			l->product = orders_str(os, ol->product);
			l->category = orders_str(os, ol->category);
			l->quantity = ol->quantity;
			l->price = ol->price;
			os->wids[nw++] = os->ids[i];
		}
		import_tally(ctx, STORE_INSERTED);
	}
	if (orders_write_lines(ctx, os, &nw) == -1)
		return -1;
	if (os->npend > 0)
		os->stored = ctx->stats->inserted == inserted;
	/*
	 * An order still being gathered (a commit comes mid-order) keeps
	 * its strings and lines where they are until the next batch.
	 */
	if (os->active) {
		os->pend[0] = os->pend[os->npend];
	} else {
		orders_arena_reset(os);
		os->nlines = 0;
	}
	os->npend = 0;
	return 0;
}

/* Ends the order being gathered: queued if good, forgotten if not. */
static int
orders_done(struct import_ctx *ctx, struct orders_state *os)
{
	struct orders_pending *p = &os->pend[os->npend];

	if (!os->active)
		return 0;
	os->active = 0;
	if (os->bad || os->guest) {
		os->nlines = p->first;
		return 0;
	}
	if (import_customer(ctx, os->email, &p->order.customer_id) == -1)
		return -1;
	if (++os->npend == ORDERS_BATCH || os->nlines >= ORDERS_BATCH_LINES ||
	    os->arena.len >= ORDERS_BATCH_BYTES)
		return orders_write(ctx, os);
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
	struct orders_pending *p = &os->pend[os->npend];
	const char *v, *names0;
	char status[32];
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	p->first = os->nlines;
	os->start = os->arena.len;
	p->ref = orders_keep(os, os->ref);
	os->start = os->arena.len;	/* the ref was never counted */
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
	if ((rc = orders_time(ctx, OC_CREATED, &p->order.created_at)) != 0 ||
	    (rc = orders_time(ctx, OC_CANCELLED,
	    &p->order.cancelled_at)) != 0 ||
	    (rc = orders_money(ctx, OC_TOTAL, &p->order.total)) != 0 ||
	    (rc = orders_money(ctx, OC_REFUNDED, &p->order.refunded)) != 0)
		return rc;
	if (*import_col(ctx, OC_TOTAL) == '\0')
		return import_bad(ctx, "%s: missing",
		    ctx->fmt->cols[OC_TOTAL].names[0]);

	/* Our own format defaults to paid; Shopify always says. */
	v = import_opt(ctx, OC_STATUS);
	str_copy(status, sizeof(status), v ? v : "paid");
	for (i = 0; status[i] != '\0'; i++)
		status[i] = (char)tolower((unsigned char)status[i]);
	for (i = 0; i < sizeof(financial_statuses) /
	    sizeof(financial_statuses[0]); i++)
		if (strcmp(status, financial_statuses[i]) == 0)
			break;
	if (i == sizeof(financial_statuses) / sizeof(financial_statuses[0]))
		return import_bad(ctx, "%s: unknown financial status '%s'",
		    ctx->fmt->cols[OC_STATUS].names[0], v);
	p->status = orders_keep(os, status);

	v = import_opt(ctx, OC_CURRENCY);
	if (v != NULL && (strlen(v) != 3 || !isupper((unsigned char)v[0]) ||
	    !isupper((unsigned char)v[1]) || !isupper((unsigned char)v[2])))
		return import_bad(ctx, "%s: '%s' is not an ISO 4217 code",
		    ctx->fmt->cols[OC_CURRENCY].names[0], v);
	p->currency = orders_keep(os, v);
	p->discount = orders_keep(os, import_opt(ctx, OC_DISCOUNT));
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
	os->pend[os->npend].nlines++;
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
		if (orders_done(ctx, os) == -1)
			return -1;
		str_copy(os->ref, sizeof(os->ref), ref);
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

	if (os == NULL)
		return 0;
	return orders_done(ctx, os) == -1 ? -1 : orders_write(ctx, os);
}

/* Before a commit: the orders gathered whole go with it. */
static int
orders_flush(struct import_ctx *ctx)
{
	struct orders_state *os = ctx->state;

	return os != NULL ? orders_write(ctx, os) : 0;
}

static void
orders_cleanup(struct import_ctx *ctx)
{
	struct orders_state *os = ctx->state;

	if (os == NULL)
		return;
	buf_free(&os->arena);
	free(os->lines);
	free(os->wlines);
	free(os->wids);
}

const struct import_format import_orders_native = {
	"orders (segctl columns)", IMPORT_ORDERS, NULL,
	native_cols, OC_COUNT, orders_record, orders_flush, orders_finish,
	orders_cleanup, NULL
};

const struct import_format import_orders_shopify = {
	"Shopify orders export", IMPORT_ORDERS, "Lineitem quantity",
	shopify_cols, OC_COUNT, orders_record, orders_flush, orders_finish,
	orders_cleanup, NULL
};
