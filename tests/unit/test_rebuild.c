/*
 * test_rebuild.c - segments rebuild on a real store: the VIP percentile
 * edge and its ties, publication by generation (a reader in a transaction
 * keeps the old one), leftovers of an interrupted rebuild, what
 * store_segment_get returns, customers enough for several of the
 * queue's batches, and what a line's product tells the facts.
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

#include "conf.h"
#include "segment.h"
#include "store_lookup.h"
#include "store_record.h"
#include "store_segment.h"
#include "tstore.h"

#define DAY	86400
#define NOW	((int64_t)1795000000)

struct rx {
	char		 dir[64];
	char		 db[256];
	struct store	*st;
	struct conf	*cf;
	struct segment_rebuild_stats stats;
};

static int
rx_setup(void **state)
{
	struct rx *x = calloc(1, sizeof(*x));
	char err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-rebuild-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	x->cf = conf_defaults();
	*state = x;
	return 0;
}

static int
rx_teardown(void **state)
{
	struct rx *x = *state;
	char cmd[160];

	store_close(x->st);
	conf_free(x->cf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/* A customer with one paid coffee order of TOTAL cents DAYS_AGO. */
static int64_t
rx_customer(struct rx *x, const char *email, int64_t total, int64_t days_ago)
{
	struct store_customer c;
	struct store_order o;
	struct store_order_line l;
	enum store_change ch;
	char ref[64];
	int64_t id, oid;

	memset(&c, 0, sizeof(c));
	c.email = email;
	c.country = "US";
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	if (total < 0)
		return id;
	memset(&o, 0, sizeof(o));
	snprintf(ref, sizeof(ref), "#%s", email);
	o.ref = ref;
	o.customer_id = id;
	o.created_at = NOW - days_ago * DAY;
	o.financial_status = "paid";
	o.currency = "USD";
	o.total = total;
	assert_int_equal(store_order_upsert(x->st, &o, &oid, &ch), 0);
	memset(&l, 0, sizeof(l));
	l.line_no = 1;
	l.sku = "COF-1";
	l.category = "coffee";
	l.quantity = 1;
	l.price = total;
	assert_int_equal(store_order_line_upsert(x->st, oid, &l, &ch), 0);
	return id;
}

static enum conf_lifecycle
rx_lifecycle(struct rx *x, const char *email)
{
	struct segment_result r;
	int64_t id;

	assert_int_equal(store_customer_find(x->st, email, &id), 0);
	assert_int_equal(store_segment_get(x->st, id, &r), 0);
	return r.lifecycle;
}

static void
rx_rebuild(struct rx *x)
{
	char err[512];

	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &x->stats, err, sizeof(err)), 0);
}

static void
test_vip_percentile_edge(void **state)
{
	struct rx *x = *state;
	char email[64];
	int i;

	/* 20 buyers spending 100.00 .. 2000.00: the top 10% is two */
	for (i = 1; i <= 20; i++) {
		snprintf(email, sizeof(email), "c%02d@example.com", i);
		rx_customer(x, email, i * 10000, 10);
	}
	rx_customer(x, "nobody@example.com", -1, 0);
	rx_rebuild(x);
	assert_int_equal(x->stats.customers, 21);
	assert_int_equal(x->stats.vip_eligible, 20);
	assert_int_equal(x->stats.vip_threshold, 190000);
	assert_int_equal(x->stats.counts[LC_VIP], 2);
	assert_int_equal(x->stats.counts[LC_FIRST_TIME], 18);
	assert_int_equal(x->stats.counts[LC_SUBSCRIBER], 1);
	assert_int_equal(rx_lifecycle(x, "c20@example.com"), LC_VIP);
	assert_int_equal(rx_lifecycle(x, "c19@example.com"), LC_VIP);
	assert_int_equal(rx_lifecycle(x, "c18@example.com"), LC_FIRST_TIME);

	/* 21 eligible: ceil(2.1) = 3, and a tie at the cut is VIP too */
	rx_customer(x, "tie@example.com", 180000, 10);
	rx_customer(x, "tie2@example.com", 180000, 10);
	rx_rebuild(x);
	assert_int_equal(x->stats.vip_eligible, 22);
	assert_int_equal(x->stats.vip_threshold, 180000);
	assert_int_equal(x->stats.counts[LC_VIP], 5);
	assert_int_equal(rx_lifecycle(x, "c18@example.com"), LC_VIP);
	assert_int_equal(rx_lifecycle(x, "tie2@example.com"), LC_VIP);
}

/* More customers than one batch of the queue holds, the last one part
 * full, and more interest rows than one statement writes: each result
 * is written for its own customer. */
static void
test_many_customers_in_batches(void **state)
{
	struct rx *x = *state;
	struct segment_result r;
	char email[64];
	int64_t id[600];
	int i;

	/* more than a PostgreSQL store reads at once (pgsql.c, 256) */
	assert_int_equal(store_begin(x->st), 0);
	for (i = 0; i < 600; i++) {
		snprintf(email, sizeof(email), "b%03d@example.com", i);
		id[i] = rx_customer(x, email, i % 3 != 2 ? 100 * (i + 1) : -1,
		    10);
	}
	assert_int_equal(store_commit(x->st), 0);
	rx_rebuild(x);
	assert_int_equal(x->stats.customers, 600);
	for (i = 0; i < 600; i++) {
		assert_int_equal(store_segment_get(x->st, id[i], &r), 0);
		if (i % 3 == 2) {
			assert_int_equal(r.lifecycle, LC_SUBSCRIBER);
			assert_int_equal(r.ninterests, 0);
			continue;
		}
		assert_int_equal(r.net_spend, 100 * (i + 1));
		assert_int_equal(r.ninterests, 1);
		assert_string_equal(r.interests[0].category, "coffee");
	}
}

struct rx_lines {
	int64_t		 customer_id;
	size_t		 n;
	struct {
		char	 sku[16], category[16];
		int64_t	 cost;
	}		 line[8];
};

static int
rx_collect_lines(const struct segment_facts *f, void *arg)
{
	struct rx_lines *out = arg;
	size_t i;

	if (f->cust.id != out->customer_id)
		return 0;
	for (i = 0; i < f->nlines && i < 8; i++) {
		snprintf(out->line[i].sku, sizeof(out->line[i].sku), "%s",
		    f->lines[i].sku ? f->lines[i].sku : "-");
		snprintf(out->line[i].category,
		    sizeof(out->line[i].category), "%s",
		    f->lines[i].category ? f->lines[i].category : "-");
		out->line[i].cost = f->lines[i].cost;
	}
	out->n = f->nlines;
	return 0;
}

/* A line's own category first, else its product's; the cost is always
 * the product's, unknown without one. */
static void
test_line_products(void **state)
{
	static const struct {
		const char	*sku, *category;
		const char	*want_sku, *want_category;
		int64_t		 want_cost;
	} lines[] = {
		{ "TEA-1", "coffee", "-", "coffee", 300 },
		{ "TEA-1", NULL, "-", "tea", 300 },
		{ "MUG-1", NULL, "MUG-1", "-", -1 },
		{ "NOPE-9", NULL, "NOPE-9", "-", -1 },
		{ NULL, "gifts", "-", "gifts", -1 },
		{ "TEA-1", NULL, "-", "tea", 300 },
	};
	struct rx *x = *state;
	struct store_product p;
	struct store_order o;
	struct store_order_line l;
	struct rx_lines got;
	enum store_change ch;
	size_t i;
	int64_t oid;

	memset(&p, 0, sizeof(p));
	p.sku = "TEA-1";
	p.category = "tea";
	p.cost = 300;
	assert_int_equal(store_product_upsert(x->st, &p, &ch), 0);
	p.sku = "MUG-1";
	p.category = NULL;
	p.cost = -1;
	assert_int_equal(store_product_upsert(x->st, &p, &ch), 0);
	rx_customer(x, "before@example.com", 1000, 5);
	memset(&got, 0, sizeof(got));
	got.customer_id = rx_customer(x, "lines@example.com", -1, 0);
	memset(&o, 0, sizeof(o));
	o.ref = "#lines";
	o.customer_id = got.customer_id;
	o.created_at = NOW - DAY;
	o.financial_status = "paid";
	o.total = 600;
	assert_int_equal(store_order_upsert(x->st, &o, &oid, &ch), 0);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		memset(&l, 0, sizeof(l));
		l.line_no = (int64_t)i + 1;
		l.sku = lines[i].sku;
		l.category = lines[i].category;
		l.quantity = 1;
		l.price = 100;
		assert_int_equal(store_order_line_upsert(x->st, oid, &l, &ch),
		    0);
	}
	assert_int_equal(store_facts_scan(x->st, rx_collect_lines, &got), 0);
	assert_int_equal(got.n, sizeof(lines) / sizeof(lines[0]));
	for (i = 0; i < got.n; i++) {
		assert_string_equal(got.line[i].sku, lines[i].want_sku);
		assert_string_equal(got.line[i].category,
		    lines[i].want_category);
		assert_int_equal(got.line[i].cost, lines[i].want_cost);
	}
	memset(&got.line, 0, sizeof(got.line));
	assert_int_equal(store_facts_get(x->st, got.customer_id,
	    rx_collect_lines, &got), 0);
	assert_string_equal(got.line[1].category, "tea");
	assert_int_equal(got.line[1].cost, 300);
}

static void
test_readers_see_one_generation(void **state)
{
	struct rx *x = *state;
	struct segment_result r;
	struct store *reader;
	char err[512];
	int64_t id;

	x->cf->seg.vip.min_orders = 3;	/* nobody is VIP here */
	id = rx_customer(x, "ann@example.com", 5000, 10);
	rx_rebuild(x);
	assert_int_equal(rx_lifecycle(x, "ann@example.com"), LC_FIRST_TIME);

	/* a reader inside a transaction keeps generation 1 ... */
	assert_int_equal(store_open(x->db, STORE_READONLY, 5000, &reader, err,
	    sizeof(err)), 0);
	assert_int_equal(store_begin(reader), 0);
	assert_int_equal(store_segment_get(reader, id, &r), 0);
	assert_int_equal(r.lifecycle, LC_FIRST_TIME);

	/* ... while a second order makes her a repeat buyer */
	{
		struct store_order o;
		enum store_change ch;
		int64_t oid;

		memset(&o, 0, sizeof(o));
		o.ref = "#second";
		o.customer_id = id;
		o.created_at = NOW - 2 * DAY;
		o.financial_status = "paid";
		o.total = 100;
		assert_int_equal(store_order_upsert(x->st, &o, &oid, &ch), 0);
	}
	rx_rebuild(x);
	assert_int_equal(x->stats.generation, 2);
	assert_int_equal(store_segment_get(reader, id, &r), 0);
	assert_int_equal(r.lifecycle, LC_FIRST_TIME);
	assert_int_equal(r.orders, 1);
	assert_int_equal(store_commit(reader), 0);

	/* ... and sees generation 2 whole afterwards */
	assert_int_equal(store_segment_get(reader, id, &r), 0);
	assert_int_equal(r.orders, 2);
	assert_int_equal(r.lifecycle, LC_REPEAT);
	store_close(reader);
}

static int64_t
rx_count(struct rx *x, const char *sql)
{
	return tstore_int(x->db, "%s", sql);
}

static void
test_old_and_leftover_generations_removed(void **state)
{
	struct rx *x = *state;

	rx_customer(x, "ann@example.com", 5000, 10);
	rx_rebuild(x);
	/* rows of a rebuild that died before publishing */
	tstore_exec(x->db, "INSERT INTO customer_interests"
	    " VALUES (7, 1, 'tea', 1, 0)");
	rx_rebuild(x);
	rx_rebuild(x);
	assert_int_equal(rx_count(x, "SELECT count(DISTINCT generation) FROM"
	    " customer_segments"), 1);
	assert_int_equal(rx_count(x, "SELECT count(*) FROM customer_interests"
	    " WHERE category = 'tea'"), 0);
	assert_int_equal(rx_count(x, "SELECT generation FROM segment_state"),
	    x->stats.generation);
}

static void
test_stored_result_round_trips(void **state)
{
	struct rx *x = *state;
	struct segment_result r;
	int64_t id;

	id = rx_customer(x, "ann@example.com", 5000, 61);
	rx_rebuild(x);
	assert_int_equal(store_segment_get(x->st, id, &r), 0);
	assert_int_equal(r.lifecycle, LC_VIP);
	assert_true(r.flags & (1u << LC_LAPSED));
	assert_int_equal(r.cycle_days, 60);
	assert_string_equal(r.cycle_source, "coffee");
	assert_int_equal(r.net_spend, 5000);
	assert_string_equal(r.country, "US");
	assert_string_equal(r.currency, "USD");
	assert_int_equal(r.ninterests, 1);
	assert_string_equal(r.interests[0].category, "coffee");

	/* lapsed ranks above repeat but below vip by default */
	x->cf->seg.priority[0] = LC_LAPSED;
	x->cf->seg.priority[2] = LC_B2B;
	rx_rebuild(x);
	assert_int_equal(store_segment_get(x->st, id, &r), 0);
	assert_int_equal(r.lifecycle, LC_LAPSED);
}

/*
 * A change that arrives while a rebuild writes its generation: the live
 * refresh (segment_refresh, store_segment_put) writes the customer's row
 * into the published generation and the one being built, and the
 * rebuild's own row for them, from its older snapshot, yields to it, so
 * the published result after the rebuild is the newer one.
 */
static void
test_live_change_during_rebuild(void **state)
{
	struct rx *x = *state;
	struct store_segment_meta meta;
	struct store_rebuild *rb;
	struct segment_result stale, fresh, r;
	int64_t id;

	id = rx_customer(x, "ann@example.com", 5000, 10);
	rx_customer(x, "bob@example.com", 3000, 10);
	rx_rebuild(x);
	assert_int_equal(store_segment_get(x->st, id, &stale), 0);
	assert_int_equal(stale.orders, 1);

	assert_int_equal(store_rebuild_begin(x->st, &rb), 0);
	/* ann orders again; the refresh, in its own transaction */
	rx_customer(x, "ann@example.com", -1, 0);
	memset(&fresh, 0, sizeof(fresh));
	assert_int_equal(store_begin(x->st), 0);
	assert_int_equal(segment_refresh(x->st, &x->cf->seg, id, NOW), 0);
	assert_int_equal(store_commit(x->st), 0);
	assert_int_equal(store_segment_get(x->st, id, &fresh), 0);
	/* then the build's stale row for her, as its snapshot had it */
	stale.orders = 99;
	assert_int_equal(store_rebuild_add(rb, id, &stale), 0);
	memset(&meta, 0, sizeof(meta));
	meta.customers = 2;
	meta.vip_threshold = INT64_MAX;
	snprintf(meta.vip_metric, sizeof(meta.vip_metric), "net_spend");
	snprintf(meta.config_hash, sizeof(meta.config_hash), "%064d", 0);
	assert_int_equal(store_rebuild_commit(rb, &meta), 0);
	assert_int_equal(store_segment_get(x->st, id, &r), 0);
	assert_int_equal(r.orders, fresh.orders);
	assert_int_not_equal(r.orders, 99);
	assert_int_equal(r.ninterests, fresh.ninterests);
}

/* Before any rebuild there is nothing to refresh: no row, no error. */
static void
test_refresh_before_any_build(void **state)
{
	struct rx *x = *state;
	struct segment_result r;
	int64_t id;

	id = rx_customer(x, "ann@example.com", 5000, 10);
	assert_int_equal(segment_refresh(x->st, &x->cf->seg, id, NOW), 0);
	assert_int_equal(store_segment_get(x->st, id, &r), 1);
}

/*
 * One build at a time: while another handle (another relay of a fleet,
 * another segctl here) builds, a rebuild does nothing and says why,
 * and the other's generation is left alone; once that one is done, the
 * rebuild goes.
 */
static void
test_one_build_at_a_time(void **state)
{
	struct rx *x = *state;
	struct store_rebuild *rb;
	struct store *other;
	char err[512];
	int64_t gen;

	rx_customer(x, "ann@example.com", 5000, 10);
	rx_rebuild(x);
	gen = x->stats.generation;
	assert_int_equal(store_open(x->db, 0, 5000, &other, err,
	    sizeof(err)), 0);
	assert_int_equal(store_rebuild_begin(other, &rb), 0);
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &x->stats, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "is rebuilding this store's segments"));
	/* the other's generation, being written, is still there */
	assert_int_equal(rx_count(x, "SELECT count(*) FROM segment_building"),
	    1);
	store_rebuild_abort(rb);
	store_close(other);
	rx_rebuild(x);
	assert_true(x->stats.generation > gen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, rx_setup, rx_teardown)
		T(test_vip_percentile_edge),
		T(test_readers_see_one_generation),
		T(test_old_and_leftover_generations_removed),
		T(test_stored_result_round_trips),
		T(test_live_change_during_rebuild),
		T(test_refresh_before_any_build),
		T(test_many_customers_in_batches),
		T(test_line_products),
		T(test_one_build_at_a_time),
#undef T
	};

	return cmocka_run_group_tests_name("rebuild", tests, NULL, NULL);
}
