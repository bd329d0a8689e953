/*
 * test_demo.c - the synthetic store: the same parameters give the same
 * bytes, every record has its header's fields and nothing is dated after
 * "now", and the files import with no bad record into a store where every
 * segment has members.
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
#include "csv.h"
#include "demo.h"
#include "import.h"
#include "parse.h"
#include "segment.h"
#include "store_segment.h"
#include "tstore.h"

#define NOW	((int64_t)1795521600)	/* 2026-11-24T12:00:00Z */

static const char *const files[] = {
	"products.csv", "customers.csv", "orders.csv", "events.csv",
	"consent.csv", "engagement.csv"
};
static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/segm-demo-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
write_demo(const char *sub, uint64_t customers, uint64_t seed)
{
	struct demo_params p = { customers, seed, NOW };
	char path[128], err[256];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (demo_write(&p, path, err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

static int
same_file(const char *a, const char *b)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cmp -s %s/%s %s/%s", dir, a, dir, b);
	return system(cmd) == 0;
}

static void
test_deterministic(void **state)
{
	char a[64], b[64];
	size_t i;

	(void)state;
	write_demo("one", 300, 7);
	write_demo("two", 300, 7);
	write_demo("other", 300, 8);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(a, sizeof(a), "one/%s", files[i]);
		snprintf(b, sizeof(b), "two/%s", files[i]);
		assert_true(same_file(a, b));
	}
	assert_false(same_file("one/orders.csv", "other/orders.csv"));
	assert_false(same_file("one/customers.csv", "other/customers.csv"));
}

/* Every record has the header's field count; dates never after NOW. */
static void
check_file(const char *name, const char *first_column, int date_col)
{
	struct csv_reader *r;
	struct csv_row row;
	char path[128], err[256];
	const char *why;
	size_t nheader;
	int64_t t;
	int rc;

	snprintf(path, sizeof(path), "%s/big/%s", dir, name);
	assert_non_null(r = csv_open(path, err, sizeof(err)));
	assert_int_equal(csv_next(r, &row), 1);
	assert_string_equal(row.fields[0], first_column);
	nheader = row.nfields;
	while ((rc = csv_next(r, &row)) == 1) {
		if (row.error != NULL || row.nfields != nheader)
			fail_msg("%s:%lu: %s, %zu fields", name, row.line,
			    row.error ? row.error : "ok", row.nfields);
		if (date_col >= 0 && *row.fields[date_col] != '\0') {
			assert_int_equal(parse_time(row.fields[date_col], &t,
			    &why), 0);
			if (t > NOW)
				fail_msg("%s:%lu: %s is after now", name,
				    row.line, row.fields[date_col]);
		}
	}
	assert_int_equal(rc, 0);
	csv_close(r);
}

static void
test_records_well_formed(void **state)
{
	(void)state;
	write_demo("big", 2000, 42);
	check_file("products.csv", "Handle", -1);
	check_file("customers.csv", "Customer ID", -1);
	check_file("orders.csv", "Name", 15);		/* Created at */
	check_file("events.csv", "email", 2);
	check_file("consent.csv", "email", 4);
	check_file("engagement.csv", "email", 3);
}

static int
seg_count(const char *facet, const char *value, int64_t count, void *arg)
{
	int64_t *counts = arg;
	enum conf_lifecycle lc;

	if (strcmp(facet, "lifecycle") == 0 &&
	    conf_lifecycle_parse(value, &lc) == 0)
		counts[lc] = count;
	else if (strcmp(facet, "cart_abandoner") == 0)
		counts[LC_COUNT] += count;
	return 0;
}

static void
test_imports_into_every_segment(void **state)
{
	static const struct {
		enum import_kind kind;
		const char	*file;
	} order[] = {
		{ IMPORT_PRODUCTS, "products.csv" },
		{ IMPORT_CONSENT, "consent.csv" },
		{ IMPORT_CUSTOMERS, "customers.csv" },
		{ IMPORT_ORDERS, "orders.csv" },
		{ IMPORT_EVENTS, "events.csv" },
		{ IMPORT_ENGAGEMENT, "engagement.csv" },
	};
	struct segment_rebuild_stats stats;
	struct import_stats is;
	struct import_opts opts;
	struct store *st;
	struct conf *cf = conf_defaults();
	int64_t counts[LC_COUNT + 1] = { 0 };
	char db[256], path[128], err[512];
	size_t i;
	int lc;

	(void)state;
	write_demo("seg", 1500, 3);
	tstore_name(dir, db, sizeof(db));
	assert_int_equal(store_open(db, STORE_CREATE, 5000, &st, err,
	    sizeof(err)), 0);
	memset(&opts, 0, sizeof(opts));
	opts.now = NOW;
	opts.report = fopen("/dev/null", "w");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		snprintf(path, sizeof(path), "%s/seg/%s", dir, order[i].file);
		memset(&is, 0, sizeof(is));
		if (import_file(st, order[i].kind, path, &opts, &is, err,
		    sizeof(err)) == -1)
			fail_msg("%s", err);
		if (is.bad != 0)
			fail_msg("%s: %lld bad records", order[i].file,
			    (long long)is.bad);
		assert_true(is.inserted > 0);
	}
	fclose(opts.report);
	if (segment_rebuild(st, cf, NOW, NULL, NULL,
	    &stats, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(store_segment_counts(st, seg_count, counts), 0);
	for (lc = 0; lc < LC_COUNT; lc++)
		if (counts[lc] == 0)
			fail_msg("no %s customer", conf_lifecycle_name(lc));
	assert_true(counts[LC_COUNT] > 0);		/* cart abandoners */
	store_close(st);
	conf_free(cf);
}

static void
test_unwritable(void **state)
{
	struct demo_params p = { 10, 1, NOW };
	char err[256];

	(void)state;
	assert_int_equal(demo_write(&p, "/nonexistent/deeper/demo", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/deeper/demo: No such file or"
	    " directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_records_well_formed),
		cmocka_unit_test(test_imports_into_every_segment),
		cmocka_unit_test(test_unwritable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
