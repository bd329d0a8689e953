/*
 * facts.c - gathering each customer's facts for segmentation.
 *
 * Three cursors sorted by customer id (customers; orders joined with their
 * lines and products; events) are merged in one pass, so a rebuild reads
 * every table once in index order and holds only the current customer in
 * memory.  Strings are copied into a pool because SQLite's column pointers
 * die at the next step; the pool's chunks never move, so pointers into it
 * stay valid until the pool is reset for the next customer.
 *
 * A line's product (its category when the line has none, and its cost) is
 * looked up here rather than joined in the cursor: the join searched the
 * products table once for every line (7.7 million at 1M customers, a
 * fifth of the cursor's time), while a shop sells the same few products
 * over and over.  Each SKU is read once into a small direct-mapped cache;
 * one that collides with another is read again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xalloc.h"

#define POOL_CHUNK	65536
#define PRODUCT_CACHE	4096	/* slots, a power of two */

struct pool_chunk {
	struct pool_chunk	*next;
	size_t			 used;
	size_t			 size;
	char			 data[];
};

struct facts_product {
	char			*sku;		/* NULL: an empty slot */
	char			*category;	/* NULL: none */
	int64_t			 cost;		/* -1: unknown */
};

struct facts_ctx {
	struct store		*st;
	struct db_stmt		*cust, *ord, *ev, *prod;
	struct facts_product	*products;	/* PRODUCT_CACHE, or NULL */
	int			 ord_rc, ev_rc;	/* last step of each */
	struct pool_chunk	*pool;
	struct segment_facts	 f;
	size_t			 orders_cap, lines_cap, events_cap;
};

static const char *
facts_strdup(struct facts_ctx *ctx, const char *s)
{
	struct pool_chunk *c;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	c = ctx->pool;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > POOL_CHUNK ? n : POOL_CHUNK;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = ctx->pool;
		ctx->pool = c;
	}
	memcpy(c->data + c->used, s, n);
	c->used += n;
	return c->data + c->used - n;
}

/* Keeps the newest chunk for reuse and frees the rest. */
static void
facts_pool_reset(struct facts_ctx *ctx)
{
	struct pool_chunk *c, *next;

	if (ctx->pool == NULL)
		return;
	for (c = ctx->pool->next; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	ctx->pool->next = NULL;
	ctx->pool->used = 0;
}

static void
facts_free(struct facts_ctx *ctx)
{
	size_t i;

	for (i = 0; ctx->products != NULL && i < PRODUCT_CACHE; i++) {
		free(ctx->products[i].sku);
		free(ctx->products[i].category);
	}
	free(ctx->products);
	facts_pool_reset(ctx);
	free(ctx->pool);
	free(ctx->f.orders);
	free(ctx->f.lines);
	free(ctx->f.events);
	db_finalize(ctx->cust);
	db_finalize(ctx->ord);
	db_finalize(ctx->ev);
	db_finalize(ctx->prod);
}

/*
 * The three cursors, each sorted by customer.  For one customer a WHERE on
 * KEY is added: an "?1 IS NULL OR" form would stop SQLite from using the
 * index and scan every order for a single `segctl explain`.
 */
struct facts_query {
	const char	*select;
	const char	*key;
	const char	*order;
};

static const struct facts_query facts_cust_q = {
	"SELECT id, email, country, currency, language, time_zone,"
	" account_type, company, tags, tax_exempt FROM customers",
	"id", "id"
};
static const struct facts_query facts_ord_q = {
	"SELECT o.customer_id, o.id, o.created_at, o.financial_status,"
	" o.cancelled_at IS NOT NULL, o.currency, o.total, o.refunded,"
	" l.line_no, l.sku, l.product, l.category, l.quantity, l.price"
	" FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id",
	"o.customer_id", "o.customer_id, o.created_at, o.id, l.line_no"
};
static const struct facts_query facts_ev_q = {
	"SELECT customer_id, type, at, category, coalesce(cart_value, -1)"
	" FROM events",
	/* the primary key's order whole: SQLite walks it so, PostgreSQL
	 * would give a customer's events at one second in any order */
	"customer_id", "customer_id, at, type, sku"
};

static int
facts_prepare(struct facts_ctx *ctx, const struct facts_query *q,
    struct db_stmt **s, int64_t customer_id)
{
	char sql[1024];

	if (customer_id > 0)
		snprintf(sql, sizeof(sql), "%s WHERE %s = ?1 ORDER BY %s",
		    q->select, q->key, q->order);
	else
		snprintf(sql, sizeof(sql), "%s ORDER BY %s", q->select,
		    q->order);
	if ((*s = db_prepare(ctx->st->db, sql, customer_id > 0 ? 0 :
	    DB_STREAM)) == NULL)
		return store_fail(ctx->st, "facts");
	if (customer_id > 0)
		db_bind_int(*s, 1, customer_id);
	return 0;
}

static unsigned
facts_sku_hash(const char *sku)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (; *sku != '\0'; sku++)
		h = (h ^ (unsigned char)*sku) * 16777619u;
	return h;
}

/* The product sold as SKU, from the cache or the store; NULL on error. */
static const struct facts_product *
facts_product(struct facts_ctx *ctx, const char *sku)
{
	struct facts_product *p;
	int rc;

	if (ctx->products == NULL)
		ctx->products = xcalloc(PRODUCT_CACHE, sizeof(*ctx->products));
	p = &ctx->products[facts_sku_hash(sku) & (PRODUCT_CACHE - 1)];
	if (p->sku != NULL && strcmp(p->sku, sku) == 0)
		return p;
	if (ctx->prod == NULL && (ctx->prod = db_prepare(ctx->st->db,
	    "SELECT category, coalesce(cost, -1) FROM products WHERE sku = ?1",
	    0)) == NULL)
		return NULL;
	free(p->sku);
	free(p->category);
	p->sku = xstrdup(sku);
	p->category = NULL;
	p->cost = -1;
	db_bind_text(ctx->prod, 1, sku);
	if ((rc = db_step(ctx->prod)) == DB_ROW) {
		if (db_col_text(ctx->prod, 0) != NULL)
			p->category = xstrdup(db_col_text(ctx->prod, 0));
		p->cost = db_col_int(ctx->prod, 1);
	}
	db_reset(ctx->prod);
	if (rc != DB_ROW && rc != DB_DONE) {
		free(p->sku);
		p->sku = NULL;
		return NULL;
	}
	return p;
}

/* 0, or -1 with the store's error (the product could not be read). */
static int
facts_add_order(struct facts_ctx *ctx)
{
	static const struct facts_product none = { NULL, NULL, -1 };
	struct db_stmt *s = ctx->ord;
	struct segment_facts *f = &ctx->f;
	struct segment_order *o;
	struct segment_line *l;
	const struct facts_product *p = &none;
	const char *sku, *category;
	int64_t order_id = db_col_int(s, 1);

	if (f->norders == 0 || f->orders[f->norders - 1].id != order_id) {
		if (f->norders == ctx->orders_cap) {
			ctx->orders_cap = ctx->orders_cap ? ctx->orders_cap * 2
			    : 16;
			f->orders = xreallocarray(f->orders, ctx->orders_cap,
			    sizeof(*f->orders));
		}
		o = &f->orders[f->norders++];
		o->id = order_id;
		o->at = db_col_int(s, 2);
		o->financial_status = facts_strdup(ctx, db_col_text(s, 3));
		o->cancelled = db_col_int(s, 4);
		o->currency = facts_strdup(ctx, db_col_text(s, 5));
		o->total = db_col_int(s, 6);
		o->refunded = db_col_int(s, 7);
		o->first_line = f->nlines;
		o->nlines = 0;
	}
	if (db_col_null(s, 8))
		return 0;	/* an order without lines */
	/* as a join on products would: no SKU, no product */
	if ((sku = db_col_text(s, 9)) != NULL &&
	    (p = facts_product(ctx, sku)) == NULL)
		return store_fail(ctx->st, "products");
	if (f->nlines == ctx->lines_cap) {
		ctx->lines_cap = ctx->lines_cap ? ctx->lines_cap * 2 : 16;
		f->lines = xreallocarray(f->lines, ctx->lines_cap,
		    sizeof(*f->lines));
	}
	l = &f->lines[f->nlines++];
	category = db_col_text(s, 11);
	l->category = facts_strdup(ctx, category ? category : p->category);
	/* SKU and name only matter for mapping a line with no category */
	l->sku = l->category ? NULL : facts_strdup(ctx, sku);
	l->product = l->category ? NULL :
	    facts_strdup(ctx, db_col_text(s, 10));
	l->quantity = db_col_int(s, 12);
	l->price = db_col_int(s, 13);
	l->cost = p->cost;
	f->orders[f->norders - 1].nlines++;
	return 0;
}

static void
facts_add_event(struct facts_ctx *ctx)
{
	struct db_stmt *s = ctx->ev;
	struct segment_facts *f = &ctx->f;
	struct segment_event *e;
	enum segment_event_type t;

	/* The schema's CHECK admits only names segment_event_parse knows. */
	if (segment_event_parse(db_col_text(s, 1), &t) == -1)
		return;
	if (f->nevents == ctx->events_cap) {
		ctx->events_cap = ctx->events_cap ? ctx->events_cap * 2 : 16;
		f->events = xreallocarray(f->events, ctx->events_cap,
		    sizeof(*f->events));
	}
	e = &f->events[f->nevents++];
	e->type = t;
	e->at = db_col_int(s, 2);
	e->category = facts_strdup(ctx, db_col_text(s, 3));
	e->cart_value = db_col_int(s, 4);
}

/* Steps the cursors past every row of customer ID, collecting them. */
static int
facts_collect(struct facts_ctx *ctx, int64_t id)
{
	while (ctx->ord_rc == DB_ROW &&
	    db_col_int(ctx->ord, 0) <= id) {
		if (db_col_int(ctx->ord, 0) == id &&
		    facts_add_order(ctx) == -1)
			return -1;
		ctx->ord_rc = db_step(ctx->ord);
	}
	while (ctx->ev_rc == DB_ROW &&
	    db_col_int(ctx->ev, 0) <= id) {
		if (db_col_int(ctx->ev, 0) == id)
			facts_add_event(ctx);
		ctx->ev_rc = db_step(ctx->ev);
	}
	if ((ctx->ord_rc != DB_ROW && ctx->ord_rc != DB_DONE) ||
	    (ctx->ev_rc != DB_ROW && ctx->ev_rc != DB_DONE))
		return store_fail(ctx->st, "facts");
	return 0;
}

static void
facts_set_customer(struct facts_ctx *ctx)
{
	struct db_stmt *s = ctx->cust;
	struct segment_customer *c = &ctx->f.cust;

	c->id = db_col_int(s, 0);
	c->email = facts_strdup(ctx, db_col_text(s, 1));
	c->country = facts_strdup(ctx, db_col_text(s, 2));
	c->currency = facts_strdup(ctx, db_col_text(s, 3));
	c->language = facts_strdup(ctx, db_col_text(s, 4));
	c->time_zone = facts_strdup(ctx, db_col_text(s, 5));
	c->account_type = facts_strdup(ctx, db_col_text(s, 6));
	c->company = facts_strdup(ctx, db_col_text(s, 7));
	c->tags = facts_strdup(ctx, db_col_text(s, 8));
	c->tax_exempt = db_col_int(s, 9);
}

static int
facts_run(struct store *st, int64_t customer_id, store_facts_fn fn,
    void *arg)
{
	struct facts_ctx ctx;
	int rc, ret = 0, own_txn;

	memset(&ctx, 0, sizeof(ctx));
	ctx.st = st;
	/* One read transaction: the three cursors see one snapshot
	 * (PostgreSQL's BEGIN would give each statement its own). */
	own_txn = !db_in_transaction(st->db);
	if (own_txn && store_begin_read(st) == -1)
		return -1;
	if (facts_prepare(&ctx, &facts_cust_q, &ctx.cust, customer_id) == -1
	    || facts_prepare(&ctx, &facts_ord_q, &ctx.ord, customer_id) == -1
	    || facts_prepare(&ctx, &facts_ev_q, &ctx.ev, customer_id) == -1) {
		ret = -1;
		goto out;
	}
	ctx.ord_rc = db_step(ctx.ord);
	ctx.ev_rc = db_step(ctx.ev);
	while ((rc = db_step(ctx.cust)) == DB_ROW) {
		facts_pool_reset(&ctx);
		ctx.f.norders = ctx.f.nlines = ctx.f.nevents = 0;
		facts_set_customer(&ctx);
		if (facts_collect(&ctx, ctx.f.cust.id) == -1) {
			ret = -1;
			goto out;
		}
		if ((ret = fn(&ctx.f, arg)) != 0)
			goto out;
	}
	if (rc != DB_DONE)
		ret = store_fail(st, "facts");
out:
	facts_free(&ctx);
	if (own_txn)
		db_exec(st->db, "COMMIT");
	return ret;
}

int
store_facts_scan(struct store *st, store_facts_fn fn, void *arg)
{
	return facts_run(st, 0, fn, arg);
}

int
store_facts_count(struct store *st, int64_t *n)
{
	struct db_stmt *s;
	int rc;

	if ((s = db_prepare(st->db, "SELECT count(*) FROM customers",
	    0)) == NULL)
		return store_fail(st, "customers");
	if ((rc = db_step(s)) == DB_ROW)
		*n = db_col_int(s, 0);
	db_finalize(s);
	return rc == DB_ROW ? 0 : store_fail(st, "customers");
}

int
store_facts_get(struct store *st, int64_t customer_id, store_facts_fn fn,
    void *arg)
{
	return facts_run(st, customer_id, fn, arg);
}
