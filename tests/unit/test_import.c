/*
 * test_import.c - imports into a real SQLite store: both Shopify exports
 * and our own columns, bad records with their line numbers, --strict,
 * re-imports that change nothing, and the schema version checks.
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

#include "import.h"
#include "store_lookup.h"
#include "store_record.h"
#include "tstore.h"

#define NOW	((int64_t)1795000000)

struct tx {
	char		 dir[64];
	char		 db[256];	/* the store's name */
	struct store	*st;
	char		*report;	/* what the import printed */
	size_t		 reportlen;
	struct import_stats stats;
};

static int
tx_setup(void **state)
{
	struct tx *t = calloc(1, sizeof(*t));
	char err[512];

	snprintf(t->dir, sizeof(t->dir), "/tmp/segm-import-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	tstore_name(t->dir, t->db, sizeof(t->db));
	assert_int_equal(store_open(t->db, STORE_CREATE, 1000, &t->st, err,
	    sizeof(err)), 0);
	*state = t;
	return 0;
}

static int
tx_teardown(void **state)
{
	struct tx *t = *state;
	char cmd[160];

	store_close(t->st);
	free(t->report);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

/* Writes CONTENT to DIR/NAME and imports it as KIND; returns the rc. */
static int
tx_import(struct tx *t, enum import_kind kind, const char *name,
    const char *content, int strict)
{
	struct import_opts opts;
	char path[192], err[512];
	FILE *fp;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
	free(t->report);
	t->report = NULL;
	memset(&opts, 0, sizeof(opts));
	opts.strict = strict;
	opts.now = NOW;
	opts.report = open_memstream(&t->report, &t->reportlen);
	rc = import_file(t->st, kind, path, &opts, &t->stats, err,
	    sizeof(err));
	fclose(opts.report);
	if (rc == -1) {
		free(t->report);
		t->report = strdup(err);
	}
	return rc;
}

/* One integer from SQL run on a second connection. */
static int64_t
tx_count(struct tx *t, const char *sql)
{
	return tstore_int(t->db, "%s", sql);
}

/* SQL for COL's length in bytes, into OUT (PostgreSQL has no BLOB). */
static const char *
tx_octets(const char *col, char *out, size_t outlen)
{
	snprintf(out, outlen, tstore_pgsql() ? "octet_length(%s)" :
	    "length(CAST(%s AS BLOB))", col);
	return out;
}

static const char shopify_customers[] =
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,"
    "Default Address Company,Default Address Address1,Default Address "
    "Address2,Default Address City,Default Address Province Code,Default "
    "Address Country Code,Default Address Zip,Default Address Phone,Phone,"
    "Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags\n"
    "7001,Ann,Lee,Ann.Lee@Example.com,yes,,1 Main St,,Ottawa,ON,CA,K1A,"
    ",'+16135550123,yes,120.00,2,,no,\"newsletter, vip\"\n"
    "7002,Bob,Ray,bob@example.com,no,Acme Ltd,,,Leeds,,GB,,"
    "07700 900123,,no,0.00,0,\"likes tea,\nsays \"\"hi\"\"\",yes,wholesale\n"
    "7003,Bad,Mail,not-an-email,yes,,,,,,US,,,,no,0,0,,no,\n"
    "7004,Phone,Only,,no,,,,,,US,,,+15550001111,yes,0,0,,no,\n"
    "7005,Cy,Ng,cy@example.com,yes,,,,,,DE,,,12,no,0,0,,no,\n";

static void
test_shopify_customers(void **state)
{
	struct tx *t = *state;
	struct store_consent c;
	int64_t id;

	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv",
	    shopify_customers, 0), 0);
	assert_string_equal(t->stats.format, "Shopify customers export");
	assert_int_equal(t->stats.records, 5);
	assert_int_equal(t->stats.inserted, 3);
	assert_int_equal(t->stats.bad, 1);
	assert_int_equal(t->stats.skipped, 1);
	/* the quoted note spans two lines: the bad record is on line 5 */
	assert_non_null(strstr(t->report, "c.csv:5: Email: 'not-an-email'"));
	/* a junk phone is dropped with a warning, the customer kept */
	assert_non_null(strstr(t->report, "c.csv:7: warning: phone '12'"));

	assert_int_equal(tx_count(t, "SELECT count(*) FROM customers WHERE"
	    " email = 'ann.lee@example.com' AND phone = '+16135550123' AND"
	    " country = 'CA' AND external_id = '7001'"), 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM customers WHERE"
	    " email = 'bob@example.com' AND phone = '+447700900123' AND"
	    " tax_exempt = 1 AND company = 'Acme Ltd'"), 1);

	/* yes/no consent becomes dated evidence, per channel */
	assert_int_equal(store_customer_find(t->st, "ann.lee@example.com",
	    &id), 0);
	assert_int_equal(store_consent_get(t->st, id, CHANNEL_SMS, &c), 0);
	assert_true(c.granted);
	assert_int_equal(c.recorded_at, NOW);
	assert_string_equal(c.source, "shopify_customers_export");
	assert_non_null(strstr(c.evidence, "Accepts SMS Marketing=yes"));
	assert_int_equal(store_customer_find(t->st, "cy@example.com", &id), 0);
	assert_int_equal(store_consent_get(t->st, id, CHANNEL_EMAIL, &c), 0);
	assert_true(c.granted);
	assert_int_equal(store_consent_get(t->st, id, CHANNEL_SMS, &c), 0);
	assert_false(c.granted);

	/* the same file again changes nothing, consent included */
	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv",
	    shopify_customers, 0), 0);
	assert_int_equal(t->stats.inserted, 0);
	assert_int_equal(t->stats.updated, 0);
	assert_int_equal(t->stats.unchanged, 3);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent_history"),
	    6);
}

static void
test_shopify_consent_revoked_by_later_export(void **state)
{
	struct tx *t = *state;
	struct store_consent c;
	int64_t id;
	static const char later[] =
	    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,"
	    "Phone,Accepts SMS Marketing,Tax Exempt,Tags\n"
	    "7001,Ann,Lee,ann.lee@example.com,yes,+16135550123,no,no,\n";

	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv",
	    shopify_customers, 0), 0);
	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "later.csv", later, 0),
	    0);
	assert_int_equal(store_customer_find(t->st, "ann.lee@example.com",
	    &id), 0);
	assert_int_equal(store_consent_get(t->st, id, CHANNEL_SMS, &c), 0);
	assert_false(c.granted);
	assert_int_equal(store_consent_get(t->st, id, CHANNEL_EMAIL, &c), 0);
	assert_true(c.granted);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent_history"
	    " WHERE channel = 'sms' AND customer_id = (SELECT id FROM"
	    " customers WHERE email = 'ann.lee@example.com')"), 2);
}

/*
 * The consent of new customers is written in batches: more of it than one
 * batch holds, and a customer seen again later in the file, whose second
 * statement must be weighed against the first.
 */
static void
test_shopify_consent_batches(void **state)
{
	struct tx *t = *state;
	char *csv = NULL;
	size_t len;
	FILE *fp = open_memstream(&csv, &len);
	int i;

	assert_non_null(fp);
	fputs("Customer ID,First Name,Last Name,Email,Accepts Email Marketing,"
	    "Phone,Accepts SMS Marketing,Tax Exempt,Tags\n", fp);
	for (i = 0; i < 700; i++)
		fprintf(fp, "%d,A,B,c%d@example.com,yes,,no,no,\n", i, i);
	fputs("1,A,B,c1@example.com,no,,no,no,\n", fp);
	fclose(fp);

	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv", csv, 0), 0);
	assert_int_equal(t->stats.inserted, 700);
	assert_int_equal(t->stats.unchanged, 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent"), 1400);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent_history"),
	    1401);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent"
	    " WHERE granted = 1"), 699);
	assert_int_equal(tx_count(t, "SELECT granted FROM consent WHERE"
	    " channel = 'email' AND customer_id = (SELECT id FROM customers"
	    " WHERE email = 'c1@example.com')"), 0);

	/* again: the last statement stands, the first is not news */
	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv", csv, 0), 0);
	assert_int_equal(t->stats.inserted, 0);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent"
	    " WHERE granted = 1"), 699);
	free(csv);
}

static void
test_shopify_customers_older_header(void **state)
{
	struct tx *t = *state;
	static const char old[] =
	    "First Name,Last Name,Email,Company,Address1,Address2,City,"
	    "Province,Province Code,Country,Country Code,Zip,Phone,"
	    "Accepts Marketing,Total Spent,Total Orders,Tags,Note,Tax Exempt\n"
	    "Dee,Fox,dee@example.org,,,,Paris,,,France,FR,,0612345678,yes,"
	    "0,0,,,no\n";

	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "old.csv", old, 0), 0);
	assert_int_equal(t->stats.inserted, 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM customers WHERE"
	    " country = 'FR' AND phone = '+33612345678'"), 1);
	assert_int_equal(tx_count(t, "SELECT granted FROM consent WHERE"
	    " channel = 'email'"), 1);
}

/*
 * A name longer than a recipient's fields hold (127 bytes) is cut at
 * import, where a character starts, and the report says so; the rest of
 * the record is imported.  Before, the milter cut it silently, in the
 * middle of a character.
 */
static void
test_customer_names_cut(void **state)
{
	struct tx *t = *state;
	char first[256], company[256], csv[1024], a[64], b[64];
	size_t i;

	for (i = 0; i < 100; i++)
		memcpy(first + 2 * i, "\xc3\xa9", 2);	/* 200 bytes */
	first[200] = '\0';
	for (i = 0; i < 43; i++)
		memcpy(company + 3 * i, "\xe2\x82\xac", 3); /* 129 bytes */
	company[129] = '\0';
	snprintf(csv, sizeof(csv), "email,first_name,last_name,company\n"
	    "eve@example.com,%s,Lee,%s\n"
	    "max@example.com,Max,Short,Acme\n", first, company);
	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv", csv, 0), 0);
	assert_int_equal(t->stats.inserted, 2);
	assert_int_equal(t->stats.bad, 0);
	assert_int_equal(t->stats.warnings, 2);
	assert_non_null(strstr(t->report, "c.csv:2: warning: first_name:"
	    " longer than 127 bytes, cut to 126\n"));
	assert_non_null(strstr(t->report, "c.csv:2: warning: company:"
	    " longer than 127 bytes, cut to 126\n"));
	assert_int_equal(tstore_int(t->db, "SELECT %s + %s FROM customers"
	    " WHERE email = 'eve@example.com' AND last_name = 'Lee'",
	    tx_octets("first_name", a, sizeof(a)),
	    tx_octets("company", b, sizeof(b))), 252);
	/* whole characters: SQLite counts 63 of each */
	assert_int_equal(tx_count(t, "SELECT length(first_name) * 1000 +"
	    " length(company) FROM customers WHERE email = 'eve@example.com'"),
	    63042);
	/* the same file again: the same cut, nothing changes */
	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv", csv, 0), 0);
	assert_int_equal(t->stats.unchanged, 2);
	assert_int_equal(t->stats.updated, 0);

	/* Shopify's export, reported under its own column names */
	snprintf(csv, sizeof(csv), "First Name,Last Name,Email\n"
	    "%s,Lee,eve@example.com\n", first);
	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "s.csv", csv, 0), 0);
	assert_int_equal(t->stats.bad, 0);
	/* and one for each consent column the export left out */
	assert_int_equal(t->stats.warnings, 3);
	assert_non_null(strstr(t->report, "s.csv:1: warning: no 'Accepts"
	    " Email Marketing' column"));
	assert_non_null(strstr(t->report, "s.csv:1: warning: no 'Accepts"
	    " SMS Marketing' column"));
	assert_non_null(strstr(t->report, "s.csv:2: warning: First Name:"
	    " longer than 127 bytes, cut to 126\n"));
	assert_int_equal(tstore_int(t->db, "SELECT %s FROM customers WHERE"
	    " email = 'eve@example.com'", tx_octets("first_name", a,
	    sizeof(a))), 126);
}

/*
 * Control characters in customer text are removed at import, with a
 * warning on the record's line; a line break between words leaves a
 * space.  The record and the ones after it are imported.
 */
static void
test_customer_controls_removed(void **state)
{
	struct tx *t = *state;
	static const char csv[] =
	    "email,first_name,last_name,company,region,tags\n"
	    "ann@example.com,\"Ann\r\nMarie\",\x1b[31mLee\x07,Acme\x7f Ltd,"
	    "O\xc2\x9bN,\"vip,\tnews\"\n"
	    "bob@example.com,\"\n\",Ray \x1b,,,\n"
	    "cy@example.com,Cy,Ng,,,\n";

	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv", csv, 0), 0);
	assert_int_equal(t->stats.records, 3);
	assert_int_equal(t->stats.inserted, 3);
	assert_int_equal(t->stats.bad, 0);
	assert_int_equal(t->stats.warnings, 7);
	assert_non_null(strstr(t->report, "c.csv:2: warning: first_name: 2"
	    " control characters removed\n"));
	assert_non_null(strstr(t->report, "c.csv:2: warning: last_name: 2"
	    " control characters removed\n"));
	assert_non_null(strstr(t->report, "c.csv:2: warning: company: 1"
	    " control character removed\n"));
	assert_non_null(strstr(t->report, "c.csv:2: warning: region: 1"
	    " control character removed\n"));
	assert_non_null(strstr(t->report, "c.csv:2: warning: tags: 1"
	    " control character removed\n"));
	/* the quoted line break puts Bob's record on line 4 */
	assert_non_null(strstr(t->report, "c.csv:4: warning: first_name: 1"
	    " control character removed\n"));
	assert_non_null(strstr(t->report, "c.csv:4: warning: last_name: 1"
	    " control character removed\n"));
	assert_int_equal(tx_count(t, "SELECT count(*) FROM customers WHERE"
	    " email = 'ann@example.com' AND first_name = 'Ann Marie' AND"
	    " last_name = '[31mLee' AND company = 'Acme Ltd' AND region ="
	    " 'ON' AND tags = 'vip, news'"), 1);
	/* a name of nothing but controls is no name */
	assert_int_equal(tx_count(t, "SELECT count(*) FROM customers WHERE"
	    " email = 'bob@example.com' AND first_name IS NULL AND"
	    " last_name = 'Ray'"), 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM customers WHERE"
	    " email = 'cy@example.com' AND first_name = 'Cy'"), 1);
	/* what is stored has no control character left anywhere */
	/* PostgreSQL has no GLOB nor char(): a regular expression there */
	if (tstore_pgsql())
		assert_int_equal(tx_count(t, "SELECT count(*) FROM customers"
		    " WHERE first_name ~ '[\\x01-\\x1f\\x7f-\\x9f]'"
		    " OR last_name ~ '[\\x01-\\x1f\\x7f-\\x9f]'"), 0);
	else
		assert_int_equal(tx_count(t, "SELECT count(*) FROM customers"
		    " WHERE first_name GLOB '*[' || char(1) || '-' || char(31)"
		    " || char(127) || '-' || char(159) || ']*' OR last_name"
		    " GLOB '*[' || char(1) || '-' || char(31) || char(127)"
		    " || '-' || char(159) || ']*'"), 0);
}

static const char shopify_orders_header[] =
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,"
    "Accepts Marketing,Currency,Subtotal,Shipping,Taxes,Total,Discount "
    "Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,"
    "Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment "
    "status,Notes,Cancelled at,Refunded Amount\n";

static void
test_shopify_orders(void **state)
{
	struct tx *t = *state;
	char csv[4096];

	snprintf(csv, sizeof(csv), "%s"
	    "#1001,ann@example.com,paid,,,,yes,USD,40.00,5.00,0,45.00,,,,"
	    "2026-03-05 14:22:10 -0500,2,House Blend,12.50,,COF-1,,,,"
	    "\"leave at door,\nplease\",,\n"
	    "#1001,ann@example.com,,,,,,,,,,,,,,,1,Green Tea,15.00,,TEA-1,,,,"
	    ",,\n"
	    "#1002,ann@example.com,refunded,,,,yes,USD,10,0,0,10.00,,,,"
	    "2026-04-01 10:00:00 +0000,1,Mug,10.00,,KIT-1,,,,,,10.00\n"
	    "#1003,bob@example.com,paid,,,,no,USD,10,0,0,10.00,,,,"
	    "2026-04-02 10:00:00 +0000,x,Mug,10.00,,KIT-1,,,,,,\n"
	    "#1003,bob@example.com,,,,,,,,,,,,,,,1,Mug,10.00,,KIT-1,,,,,,\n"
	    "#1004,cy@example.com,paid,,,,no,USD,10,0,0,10.00,,,,"
	    "2026-13-02 10:00:00 +0000,1,Mug,10.00,,KIT-1,,,,,,\n"
	    "#1005,,paid,,,,no,USD,10,0,0,10.00,,,,"
	    "2026-04-02 10:00:00 +0000,1,Mug,10.00,,KIT-1,,,,,,\n",
	    shopify_orders_header);
	assert_int_equal(tx_import(t, IMPORT_ORDERS, "o.csv", csv, 0), 0);
	assert_string_equal(t->stats.format, "Shopify orders export");
	assert_int_equal(t->stats.inserted, 2);
	assert_int_equal(t->stats.skipped, 1);	/* #1005 has no customer */
	/* #1003's first line is bad, its second is skipped with it */
	assert_non_null(strstr(t->report, "o.csv:6: Lineitem quantity: 'x'"));
	assert_non_null(strstr(t->report, "o.csv:7: order #1003 skipped"));
	assert_non_null(strstr(t->report, "o.csv:8: Created at:"));
	assert_int_equal(t->stats.bad, 3);

	assert_int_equal(tx_count(t, "SELECT total FROM orders WHERE ref ="
	    " '#1001'"), 4500);
	assert_int_equal(tx_count(t, "SELECT created_at FROM orders WHERE"
	    " ref = '#1001'"), 1772738530);	/* 19:22:10Z */
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines l JOIN"
	    " orders o ON o.id = l.order_id WHERE o.ref = '#1001'"), 2);
	assert_int_equal(tx_count(t, "SELECT refunded FROM orders WHERE ref ="
	    " '#1002'"), 1000);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM orders WHERE ref"
	    " IN ('#1003', '#1004', '#1005')"), 0);
	/* guests of an order are created as bare customers */
	assert_int_equal(tx_count(t, "SELECT count(*) FROM customers"), 1);

	/* again: nothing changes */
	assert_int_equal(tx_import(t, IMPORT_ORDERS, "o.csv", csv, 0), 0);
	assert_int_equal(t->stats.inserted, 0);
	assert_int_equal(t->stats.updated, 0);
	assert_int_equal(t->stats.unchanged, 2);
}

#define BATCH_ORDERS	30000
#define BATCH_BIG_LINES	300

/* Lines of order I in batch_orders(): I % 3 + 1, BIG's many. */
static int
batch_lines(int i, int big)
{
	return i == big ? BATCH_BIG_LINES : i % 3 + 1;
}

/*
 * Orders #1 to #LAST (the odd ones only if ODD) for 97 customers, every
 * line of order i of quantity i; #1 comes again at the end with one line
 * of quantity 7 and another total.  Returns the CSV (to be freed).
 */
static char *
batch_orders(int odd, int big, int last)
{
	char *csv = NULL;
	size_t len;
	FILE *fp = open_memstream(&csv, &len);
	int i, j;

	assert_non_null(fp);
	fputs("order_id,email,created_at,total,sku,quantity,price\n", fp);
	for (i = 1; i <= last; i++)
		for (j = 0; j < batch_lines(i, big) && (!odd || i % 2); j++)
			fprintf(fp, "#%d,c%d@example.com,2026-01-01T00:00:00Z,"
			    "%d.00,SKU-%d,%d,1.00\n", i, i % 97, i, j, i);
	fputs("#1,c1@example.com,2026-01-01T00:00:00Z,9.00,SKU-0,7,1.00\n",
	    fp);
	fclose(fp);
	return csv;
}

/*
 * Orders are written many to a statement: batches cut at every size, an
 * order longer than a batch, a commit in the middle of an order, a ref
 * seen twice, and batches mixing new orders with ones already stored.
 */
static void
test_orders_batches(void **state)
{
	struct tx *t = *state;
	char *odd, *all, *more;
	int64_t lines = 0, nodd = 0, extra = 0, id;
	int i, big = 0, before = 0;
	struct store_order one;
	enum store_change ch;

	/* the big order straddles the commit after 50000 records */
	for (i = 1; big == 0; i++) {
		if (i % 2 && before > 49800)
			big = i;
		before += i % 3 + 1;
	}
	for (i = 1; i <= BATCH_ORDERS; i++) {
		lines += i == 1 ? 1 : batch_lines(i, big);
		nodd += i % 2;
	}
	odd = batch_orders(1, big, BATCH_ORDERS);
	all = batch_orders(0, big, BATCH_ORDERS);
	more = batch_orders(0, big, BATCH_ORDERS + 2000);
	for (i = BATCH_ORDERS + 1; i <= BATCH_ORDERS + 2000; i++)
		extra += batch_lines(i, big);

	assert_int_equal(tx_import(t, IMPORT_ORDERS, "odd.csv", odd, 0), 0);
	assert_int_equal(t->stats.inserted, nodd);
	assert_int_equal(t->stats.updated, 1);		/* #1 again */
	assert_int_equal(t->stats.bad, 0);

	/* half of each batch is there already */
	assert_int_equal(tx_import(t, IMPORT_ORDERS, "all.csv", all, 0), 0);
	assert_int_equal(t->stats.inserted, BATCH_ORDERS - nodd);
	assert_int_equal(t->stats.updated, 2);		/* #1 twice */
	assert_int_equal(t->stats.unchanged, nodd - 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM orders"),
	    BATCH_ORDERS);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines"),
	    lines);
	/* every line is its own order's, numbered from 1 without a gap */
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines l"
	    " JOIN orders o ON o.id = l.order_id"
	    " WHERE l.quantity != CAST(substr(o.ref, 2) AS INTEGER)"), 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM (SELECT order_id"
	    " FROM order_lines GROUP BY order_id"
	    " HAVING max(line_no) != count(*)) AS g"), 0);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines l"
	    " JOIN orders o ON o.id = l.order_id WHERE o.ref = '#1'"
	    " AND l.quantity = 7 AND o.total = 900"), 1);

	/* again: the same store */
	assert_int_equal(tx_import(t, IMPORT_ORDERS, "all.csv", all, 0), 0);
	assert_int_equal(t->stats.inserted, 0);
	assert_int_equal(t->stats.updated, 2);
	assert_int_equal(t->stats.unchanged, BATCH_ORDERS - 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines"),
	    lines);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines l"
	    " JOIN orders o ON o.id = l.order_id"
	    " WHERE l.quantity != CAST(substr(o.ref, 2) AS INTEGER)"), 1);

	/* new orders after a run of stored ones */
	assert_int_equal(tx_import(t, IMPORT_ORDERS, "more.csv", more, 0), 0);
	assert_int_equal(t->stats.inserted, 2000);
	assert_int_equal(t->stats.updated, 2);
	assert_int_equal(t->stats.unchanged, BATCH_ORDERS - 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines"),
	    lines + extra);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines l"
	    " JOIN orders o ON o.id = l.order_id"
	    " WHERE l.quantity != CAST(substr(o.ref, 2) AS INTEGER)"), 1);

	/* an order alone (a webhook's) after the batches: an id of its
	 * own, not one a batch gave (PostgreSQL's identity) */
	memset(&one, 0, sizeof(one));
	one.ref = "#alone";
	one.customer_id = tx_count(t, "SELECT min(id) FROM customers");
	one.created_at = NOW;
	one.financial_status = "paid";
	one.total = 100;
	assert_int_equal(store_order_upsert(t->st, &one, &id, &ch), 0);
	assert_int_equal(ch, STORE_INSERTED);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM orders"),
	    BATCH_ORDERS + 2001);
	free(odd);
	free(all);
	free(more);
}

static void
test_strict_imports_nothing(void **state)
{
	struct tx *t = *state;

	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv",
	    shopify_customers, 1), 0);
	assert_true(t->stats.rolled_back);
	assert_int_equal(t->stats.bad, 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM customers"), 0);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent"), 0);
}

static void
test_products_map_categories(void **state)
{
	struct tx *t = *state;
	static const char products[] =
	    "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,"
	    "Variant SKU,Cost per item\n"
	    "house-blend,House Blend,,Roaster,\"Food, Beverages & Tobacco >"
	    " Beverages > Coffee\",Coffee Beans,,COF-1,4.10\n"
	    "house-blend,,,,,,,COF-2,4.20\n"
	    "teapot,Teapot,,Pots,Home & Garden > Kitchen,,,KIT-1,\n"
	    "gift-card,Gift Card,,,,,,,\n";
	char csv[2048];

	assert_int_equal(tx_import(t, IMPORT_PRODUCTS, "p.csv", products, 0),
	    0);
	assert_int_equal(t->stats.inserted, 3);
	assert_int_equal(t->stats.skipped, 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM products WHERE"
	    " sku = 'COF-2' AND category = 'coffee_beans' AND cost = 420"
	    " AND title = 'House Blend'"), 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM products WHERE"
	    " sku = 'KIT-1' AND category = 'kitchen' AND cost IS NULL"), 1);

	/* our own order columns carry a category of their own */
	snprintf(csv, sizeof(csv), "order_id,email,created_at,total,sku,"
	    "product,category,quantity,price\n"
	    "A1,ann@example.com,2026-01-01,12.00,X-1,Scarf,Accessories,1,"
	    "12.00\n");
	assert_int_equal(tx_import(t, IMPORT_ORDERS, "o.csv", csv, 0), 0);
	assert_int_equal(t->stats.inserted, 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM order_lines"
	    " WHERE category = 'accessories'"), 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM orders WHERE"
	    " financial_status = 'paid'"), 1);
}

static void
test_activity_formats(void **state)
{
	struct tx *t = *state;
	static const char events[] =
	    "email,type,occurred_at,category,sku,cart_value\n"
	    "ann@example.com,add_to_cart,2026-11-17T10:00:00Z,Tea,TEA-1,12.50\n"
	    "ann@example.com,purchase,2026-11-17T10:00:00Z,Tea,TEA-1,\n"
	    "ann@example.com,product_view,2026-11-17T09:00:00Z,,,\n"
	    "ann@example.com,product_view,yesterday,,,\n"
	    "ann@example.com,product_view\n";
	static const char consent[] =
	    "email,channel,status,source,recorded_at,evidence\n"
	    "ann@example.com,sms,granted,sms_keyword,2026-01-01T00:00:00Z,"
	    "replied YES\n"
	    "ann@example.com,sms,revoked,sms_keyword,2026-02-01T00:00:00Z,"
	    "replied STOP\n"
	    "ann@example.com,email,granted,,2026-01-01T00:00:00Z,\n"
	    "ann@example.com,fax,granted,x,2026-01-01T00:00:00Z,\n"
	    "bob@example.com,email,maybe,form,2026-01-01T00:00:00Z,\n";
	static const char engagement[] =
	    "email,campaign_id,type,occurred_at\n"
	    "ann@example.com,spring,sent,2026-03-01T00:00:00Z\n"
	    "ann@example.com,spring,open,2026-03-01T01:00:00Z\n"
	    "ann@example.com,spring,liked,2026-03-01T01:00:00Z\n";

	assert_int_equal(tx_import(t, IMPORT_EVENTS, "e.csv", events, 0), 0);
	assert_int_equal(t->stats.inserted, 2);
	assert_int_equal(t->stats.bad, 3);
	assert_non_null(strstr(t->report, "e.csv:3: type: 'purchase'"));
	assert_non_null(strstr(t->report, "e.csv:5: occurred_at: 'yesterday'"));
	assert_non_null(strstr(t->report, "e.csv:6: expected 6 fields,"
	    " found 2"));
	assert_int_equal(tx_count(t, "SELECT cart_value FROM events WHERE"
	    " type = 'add_to_cart' AND category = 'tea'"), 1250);

	assert_int_equal(tx_import(t, IMPORT_CONSENT, "k.csv", consent, 0), 0);
	assert_int_equal(t->stats.bad, 3);
	assert_non_null(strstr(t->report, "k.csv:4: source: missing"));
	assert_non_null(strstr(t->report, "k.csv:5: channel: 'fax'"));
	assert_non_null(strstr(t->report, "k.csv:6: status: 'maybe'"));
	/* the later STOP is current, both are history */
	assert_int_equal(tx_count(t, "SELECT granted FROM consent WHERE"
	    " channel = 'sms'"), 0);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent_history"),
	    2);
	/* no email consent was recorded, so there is none */
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent WHERE"
	    " channel = 'email'"), 0);

	assert_int_equal(tx_import(t, IMPORT_ENGAGEMENT, "g.csv", engagement,
	    0), 0);
	assert_int_equal(t->stats.inserted, 2);
	assert_non_null(strstr(t->report, "g.csv:4: type: 'liked'"));
}

/* A statement older than the current one goes to history only. */
static void
test_consent_older_is_history(void **state)
{
	struct tx *t = *state;
	static const char consent[] =
	    "email,channel,status,source,recorded_at,evidence\n"
	    "ann@example.com,sms,revoked,sms_keyword,2026-02-01T00:00:00Z,"
	    "replied STOP\n"
	    "ann@example.com,sms,granted,form,2026-01-01T00:00:00Z,form\n"
	    "ann@example.com,email,granted,form,2026-01-01T00:00:00Z,form\n"
	    "ann@example.com,email,granted,form,2026-01-01T00:00:00Z,new\n";

	assert_int_equal(tx_import(t, IMPORT_CONSENT, "k.csv", consent, 0), 0);
	assert_int_equal(t->stats.inserted, 3);
	assert_int_equal(t->stats.updated, 1);	/* the same, new evidence */
	assert_int_equal(tx_count(t, "SELECT granted FROM consent WHERE"
	    " channel = 'sms'"), 0);
	assert_int_equal(tx_count(t, "SELECT recorded_at FROM consent WHERE"
	    " channel = 'sms'"), 1769904000);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent WHERE"
	    " channel = 'email' AND evidence = 'new'"), 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM consent_history"),
	    3);

	assert_int_equal(tx_import(t, IMPORT_CONSENT, "k.csv", consent, 0), 0);
	assert_int_equal(t->stats.inserted, 0);
	assert_int_equal(t->stats.updated, 2);	/* evidence back and forth */
	assert_int_equal(t->stats.unchanged, 2);
	assert_int_equal(tx_count(t, "SELECT granted FROM consent WHERE"
	    " channel = 'sms'"), 0);
}

/* Events go many to a statement: past one, a repeat, a long SKU. */
static void
test_events_batches(void **state)
{
	struct tx *t = *state;
	char *csv = NULL;
	size_t len;
	FILE *fp = open_memstream(&csv, &len);
	int i;

	assert_non_null(fp);
	fputs("email,type,occurred_at,category,sku,cart_value\n", fp);
	for (i = 0; i < 600; i++)
		fprintf(fp, "c%d@example.com,product_view,2026-01-01T00:%02d:%02dZ"
		    ",tea,SKU-%d,\n", i % 3, i / 60, i % 60, i);
	fprintf(fp, "c0@example.com,add_to_cart,2026-01-02T00:00:00Z,tea,"
	    "%0100d,12.50\n", 7);
	fputs("c0@example.com,product_view,2026-01-01T00:00:00Z,tea,SKU-0,\n",
	    fp);
	fclose(fp);

	assert_int_equal(tx_import(t, IMPORT_EVENTS, "e.csv", csv, 0), 0);
	assert_int_equal(t->stats.inserted, 601);
	assert_int_equal(t->stats.unchanged, 1);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM events"), 601);
	assert_int_equal(tx_count(t, "SELECT cart_value FROM events"
	    " WHERE length(sku) = 100"), 1250);
	assert_int_equal(tx_count(t, "SELECT count(*) FROM events"
	    " WHERE cart_value IS NULL AND category = 'tea'"), 600);

	assert_int_equal(tx_import(t, IMPORT_EVENTS, "e.csv", csv, 0), 0);
	assert_int_equal(t->stats.inserted, 0);
	assert_int_equal(t->stats.unchanged, 602);
	free(csv);
}

static void
test_header_errors(void **state)
{
	struct tx *t = *state;

	assert_int_equal(tx_import(t, IMPORT_EVENTS, "e.csv",
	    "email,typo,occurred_at\n", 0), -1);
	assert_non_null(strstr(t->report, "e.csv:1: unknown column 'typo'"));
	assert_int_equal(tx_import(t, IMPORT_CONSENT, "k.csv",
	    "email,channel,status,source\n", 0), -1);
	assert_non_null(strstr(t->report, "no 'recorded_at' column"));
	assert_int_equal(tx_import(t, IMPORT_CONSENT, "empty.csv", "", 0), -1);
	assert_non_null(strstr(t->report, "empty file"));
}

static void
test_schema_versions(void **state)
{
	struct tx *t = *state;
	struct store *st;
	char err[512], path[192];
	int64_t v;
	FILE *fp;

	assert_int_equal(store_schema_version(t->st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	/* a journal mode is SQLite's: PostgreSQL has its own WAL */
	if (!tstore_pgsql())
		assert_int_equal(tx_count(t, "SELECT count(*) FROM"
		    " pragma_journal_mode WHERE journal_mode = 'wal'"), 1);

	/* a store from a newer segmilter is refused, even with init */
	store_close(t->st);
	t->st = NULL;
	/* a PostgreSQL store starts at 20 and records only that */
	if (tstore_pgsql())
		assert_int_equal(tx_count(t, "SELECT max(version) FROM"
		    " schema_migrations"), STORE_SCHEMA_VERSION);
	else
		assert_int_equal(tx_count(t, "SELECT count(*) FROM"
		    " schema_migrations"), STORE_SCHEMA_VERSION);
	tstore_exec(t->db, "INSERT INTO schema_migrations VALUES (99, 0)");
	assert_int_equal(store_open(t->db, STORE_CREATE, 1000, &st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "schema version 99 is newer"));

	/* a file that is not a store at all (files: SQLite's, either way) */
	snprintf(path, sizeof(path), "%s/junk.db", t->dir);
	fp = fopen(path, "w");
	fputs("this is not a database, just text padding it out to a page",
	    fp);
	fclose(fp);
	assert_int_equal(store_open(path, 0, 1000, &st, err, sizeof(err)), -1);

	/* an empty file needs segctl init */
	snprintf(path, sizeof(path), "%s/empty.db", t->dir);
	fp = fopen(path, "w");
	fclose(fp);
	assert_int_equal(store_open(path, 0, 1000, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "segctl init"));
	assert_int_equal(store_open(path, STORE_CREATE, 1000, &t->st, err,
	    sizeof(err)), 0);
}

/*
 * What the report quotes of a value is one line without control
 * characters: a value with a terminal escape and a line break (a
 * customer's own, in a shop's export) forges neither colours nor a
 * FILE:LINE of its own on the operator's terminal.
 */
static void
test_report_masks_controls(void **state)
{
	struct tx *t = *state;

	assert_int_equal(tx_import(t, IMPORT_CUSTOMERS, "c.csv",
	    "email,first_name\n\"evil\033[31m@x\nc.csv:9: all good\",Ann\n",
	    0), 0);
	assert_int_equal(t->stats.bad, 1);
	assert_null(strchr(t->report, '\033'));
	assert_non_null(strstr(t->report, "c.csv:2: email:"
	    " 'evil?[31m@x?c.csv:9: all good': "));
	assert_int_equal(strchr(t->report, '\n') - t->report + 1,
	    strlen(t->report));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tx_setup, tx_teardown)
		T(test_shopify_customers),
		T(test_shopify_consent_revoked_by_later_export),
		T(test_shopify_consent_batches),
		T(test_shopify_customers_older_header),
		T(test_customer_names_cut),
		T(test_customer_controls_removed),
		T(test_shopify_orders),
		T(test_orders_batches),
		T(test_strict_imports_nothing),
		T(test_products_map_categories),
		T(test_activity_formats),
		T(test_consent_older_is_history),
		T(test_events_batches),
		T(test_header_errors),
		T(test_schema_versions),
		T(test_report_masks_controls),
#undef T
	};

	return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
