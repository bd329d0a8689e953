/*
 * test_archive.c - the audit log's archives on a real store and real
 * files: rotating past months out of the store, verify and export across
 * the archives and the rows left, every way of damaging an archive named
 * with the file, erasure reaching into the archives, and a broken chain
 * refused.
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

#include "audit.h"
#include "store_audit.h"
#include "store_record.h"
#include "tstore.h"

/* Rows in September, October and November 2026, two in December. */
static const int64_t times[] = {
	1789041600, 1789041601,			/* 2026-09-10 */
	1791201600, 1791201601, 1792497600,	/* 2026-10-05, 10-20 */
	1793707200,				/* 2026-11-03 */
	1796126400, 1796212800			/* 2026-12-01, 12-02 */
};
#define NROWS		(int)(sizeof(times) / sizeof(times[0]))
#define DEC_1		((int64_t)1796083200)	/* 2026-12-01T00:00:00Z */
#define NOW		((int64_t)1798804800)	/* 2027-01-01T12:00:00Z */
#define SEP		"audit-2026-09-s1.archive"
#define OCT		"audit-2026-10-s3.archive"
#define NOV		"audit-2026-11-s6.archive"

struct ax {
	char		 dir[64];
	char		 db[256];
	char		 arc[128];	/* the archive directory */
	struct store	*st;
	int64_t		 ann;
};

static int
ax_setup(void **state)
{
	struct ax *x = calloc(1, sizeof(*x));
	struct store_customer c;
	enum store_change ch;
	char err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-archive-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	snprintf(x->arc, sizeof(x->arc), "%s/archive", x->dir);
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	c.email = "ann@example.com";
	c.first_name = "Ann";
	assert_int_equal(store_customer_upsert(x->st, &c, &x->ann, &ch), 0);
	*state = x;
	return 0;
}

static int
ax_teardown(void **state)
{
	struct ax *x = *state;
	char cmd[160];

	store_close(x->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

static void
ax_sql(struct ax *x, const char *sql)
{
	tstore_exec(x->db, "%s", sql);
}

static int64_t
ax_int(struct ax *x, const char *sql)
{
	int64_t v = tstore_int(x->db, "%s", sql);

	assert_int_not_equal(v, -1);	/* a row */
	return v;
}

/* The rows of TIMES: every second one (r1, r3, ...) is Ann's, sealed. */
static void
ax_rows(struct ax *x)
{
	struct audit_chain ch;
	struct store_audit a;
	char rcpt[64];
	int i;

	assert_int_equal(store_begin(x->st), 0);
	assert_int_equal(audit_begin(x->st, &ch), 0);
	for (i = 0; i < NROWS; i++) {
		memset(&a, 0, sizeof(a));
		snprintf(rcpt, sizeof(rcpt), "r%d@example.com", i);
		a.at = times[i];
		a.channel = "email";
		a.queue_id = "4XyZ1";
		a.message_id = "<m1@example.com>";
		a.campaign_id = "bf-2026";
		a.recipient = rcpt;
		a.customer_id = i % 2 ? x->ann : 0;
		a.decision = i % 3 ? "deliver" : "no_consent";
		a.detail = i % 2 ? "checkout consent" : "";
		a.segment = "vip";
		a.variant = "vip";
		a.consent = "granted \"quoted\"\nline";
		a.config_hash = "abc";
		assert_int_equal(audit_append(x->st, &ch, &a), 0);
	}
	assert_int_equal(store_commit(x->st), 0);
	audit_end(&ch);
}

static void
ax_archive(struct ax *x, int64_t cut, struct audit_archive_report *rep)
{
	if (audit_archive(x->st, x->arc, cut, NOW, rep) != 0)
		fail_msg("%s", rep->why);
}

static int
ax_verify(struct ax *x, const char *log, struct audit_report *rep)
{
	struct audit_anchor *a = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (log != NULL)
		audit_anchors_scan(log, strlen(log), &a, &n, &cap);
	rc = audit_verify(x->st, x->arc, a, n, rep);
	free(a);
	return rc;
}

/* Everything exported since SINCE; the caller frees it. */
static char *
ax_export(struct ax *x, int64_t since, int64_t *rows)
{
	char *text = NULL, why[512];
	size_t len = 0;
	FILE *out;

	out = open_memstream(&text, &len);
	*rows = audit_export(x->st, x->arc, since, out, why, sizeof(why));
	fclose(out);
	if (*rows == -1)
		fail_msg("%s", why);
	return text;
}

static char *
ax_path(struct ax *x, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", x->arc, name);
	return out;
}

/* The bytes of PATH; *LEN of them.  The caller frees them. */
static char *
ax_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

static void
ax_write(const char *path, const char *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int
ax_contains(const char *path, const char *what)
{
	size_t len;
	char *p = ax_read(path, &len);
	int found = memmem(p, len, what, strlen(what)) != NULL;

	free(p);
	return found;
}

/*
 * Three months go into three files and out of the store; the chain
 * verifies across them and the rows left, against heads logged before
 * the rotation; a second run has nothing to do.
 */
static void
test_archive_rotate(void **state)
{
	struct ax *x = *state;
	struct audit_archive_report ar;
	struct audit_report rep;
	char log[512], path[256];

	ax_rows(x);
	assert_int_equal(ax_verify(x, NULL, &rep), 0);
	snprintf(log, sizeof(log), "segmilter[1]: 4XyZ1: audit=%lld:%s\n",
	    (long long)rep.head.seq, rep.head.hash);
	ax_archive(x, DEC_1, &ar);
	assert_int_equal(ar.files, 3);
	assert_int_equal(ar.rows, 6);
	assert_int_equal(ar.first_seq, 1);
	assert_int_equal(ar.last_seq, 6);
	assert_int_equal(access(ax_path(x, SEP, path, sizeof(path)), R_OK), 0);
	assert_int_equal(access(ax_path(x, OCT, path, sizeof(path)), R_OK), 0);
	assert_int_equal(access(ax_path(x, NOV, path, sizeof(path)), R_OK), 0);
	assert_int_equal(ax_int(x, "SELECT count(*) FROM audit"), 2);
	assert_int_equal(ax_int(x, "SELECT min(seq) FROM audit"), 7);
	assert_int_equal(ax_int(x, "SELECT count(*) FROM audit_archives"), 3);
	/* the hours of the rows gone left the time index with them */
	assert_int_equal(ax_int(x, "SELECT min(first_seq) FROM audit_hours"),
	    7);

	assert_int_equal(ax_verify(x, log, &rep), 0);
	assert_int_equal(rep.rows, NROWS);
	assert_int_equal(rep.archives, 3);
	assert_int_equal(rep.anchors_found, 1);
	/* an anchor inside an archive is found there */
	snprintf(log, sizeof(log), "segmilter[1]: 4XyZ1: audit=%lld:%s\n",
	    (long long)6, "0000000000000000000000000000000000000000000000000"
	    "000000000000000");
	assert_int_equal(ax_verify(x, log, &rep), 1);
	assert_int_equal(rep.bad_seq, 6);
	assert_non_null(strstr(rep.why, "archive " NOV ": row 6 is not the"
	    " row the log recorded"));

	/* nothing more before the cut; a later cut leaves the head */
	ax_archive(x, DEC_1, &ar);
	assert_int_equal(ar.files, 0);
	ax_archive(x, NOW, &ar);
	assert_int_equal(ar.files, 1);
	assert_int_equal(ar.rows, 1);
	assert_int_equal(ax_int(x, "SELECT count(*) FROM audit"), 1);
	assert_int_equal(ax_verify(x, NULL, &rep), 0);
	assert_int_equal(rep.rows, NROWS);
	assert_int_equal(rep.archives, 4);
	/* the chain goes on from the head left in the store */
	ax_rows(x);
	assert_int_equal(ax_verify(x, NULL, &rep), 0);
	assert_int_equal(rep.rows, 2 * NROWS);
}

/* Export across the archives says what it said before them. */
static void
test_archive_export(void **state)
{
	struct ax *x = *state;
	struct audit_archive_report ar;
	char *before, *after;
	int64_t n, m;

	ax_rows(x);
	before = ax_export(x, INT64_MIN, &n);
	ax_archive(x, DEC_1, &ar);
	after = ax_export(x, INT64_MIN, &m);
	assert_int_equal(n, NROWS);
	assert_int_equal(m, NROWS);
	assert_string_equal(before, after);
	assert_non_null(strstr(after, "\"recipient\":\"r1@example.com\""));
	free(before);
	free(after);
	/* --since skips the archives before it, and rows within one */
	before = ax_export(x, times[3], &n);
	assert_int_equal(n, NROWS - 3);
	assert_null(strstr(before, "\"seq\":3,"));
	assert_non_null(strstr(before, "{\"seq\":4,"));
	free(before);
}

/*
 * An archive removed, renamed, cut short, replaced or edited: verify
 * says which, by name.
 */
static void
test_archive_damaged(void **state)
{
	struct ax *x = *state;
	struct audit_archive_report ar;
	struct audit_report rep;
	char path[256], other[256], why[512], *p, *q, *orig, *text;
	size_t len, olen, tlen;
	FILE *out;

	ax_rows(x);
	ax_archive(x, DEC_1, &ar);
	ax_path(x, OCT, path, sizeof(path));
	orig = ax_read(path, &olen);
	len = olen;

	/* row 4's decision edited in the file, its framing kept */
	p = ax_read(path, &len);
	assert_non_null(q = memmem(p, len, "10:no_consent", 13));
	memcpy(q, "10:deliver_ok", 13);
	ax_write(path, p, len);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.bad_seq, 4);
	assert_string_equal(rep.why, "archive " OCT ": row 4 does not match"
	    " its hash: it was edited");
	/* export shows nothing of an edited file (earlier files' rows go
	 * out as they are read), not even its rows before the edit */
	text = NULL;
	tlen = 0;
	out = open_memstream(&text, &tlen);
	assert_int_equal(audit_export(x->st, x->arc, INT64_MIN, out, why,
	    sizeof(why)), -1);
	fclose(out);
	assert_string_equal(why, "archive " OCT " was edited: its SHA-256 is"
	    " not the one the store recorded");
	assert_null(strstr(text, "deliver_ok"));
	assert_null(strstr(text, "\"seq\":4,"));
	free(text);
	free(p);

	/* the end record's last hash edited: it no longer ends the rows */
	len = olen;
	p = malloc(len);
	memcpy(p, orig, len);
	q = p + len - 2;	/* its last digit, before the newline */
	*q = *q == '0' ? '1' : '0';
	ax_write(path, p, len);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_non_null(strstr(rep.why, "archive " OCT " holds rows to 5,"
	    " not the rows 3 to 5 the store recorded"));
	free(p);

	/*
	 * An address added where a sealed row's recipient is left empty,
	 * well framed: no row's hash covers it, the file's digest does.
	 */
	len = olen;
	p = malloc(len + 3);
	memcpy(p, orig, len);
	assert_non_null(q = memmem(p, len, "7:bf-20260:1:1", 14));
	memmove(q + 14 + 3, q + 14, len - (size_t)(q + 14 - p));
	memcpy(q, "7:bf-20263:eve1:1", 17);
	ax_write(path, p, len + 3);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_string_equal(rep.why, "archive " OCT " was edited: its SHA-256"
	    " is not the one the store recorded");
	free(p);

	/* the framing broken: the file reads no further */
	len = olen;
	p = malloc(len);
	memcpy(p, orig, len);
	assert_non_null(q = memmem(p, len, "R1:3", 4));
	q[1] = '2';
	q[2] = '0';
	q[3] = '3';	/* "R203": still a number, the record misframed */
	ax_write(path, p, len);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_non_null(strstr(rep.why, "archive " OCT));
	free(p);

	/* cut short */
	ax_write(path, orig, olen / 2);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_non_null(strstr(rep.why, "archive " OCT " is damaged after"
	    " row"));
	assert_int_equal(rep.bad_seq, 3);

	/* removed */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_non_null(strstr(rep.why, "archive " OCT " is missing"));

	/* renamed */
	ax_write(path, orig, olen);
	assert_int_equal(ax_verify(x, NULL, &rep), 0);
	ax_path(x, "audit-2026-10.archive", other, sizeof(other));
	assert_int_equal(rename(path, other), 0);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_non_null(strstr(rep.why, "archive " OCT " is missing"));
	assert_int_equal(rename(other, path), 0);

	/* another archive in its place */
	ax_path(x, NOV, other, sizeof(other));
	p = ax_read(other, &len);
	ax_write(path, p, len);
	free(p);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_non_null(strstr(rep.why, "archive " OCT));

	/* its record deleted with the file: the chain has a hole */
	ax_write(path, orig, olen);
	assert_int_equal(ax_verify(x, NULL, &rep), 0);
	ax_sql(x, "DELETE FROM audit_archives WHERE name = '" OCT "'");
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_non_null(strstr(rep.why, "archive " NOV ": row 6 does not"
	    " follow row 2"));
	free(orig);
}

/*
 * Erasing a customer after their rows were archived: their values in
 * the file no longer open, and the chain still verifies.
 */
static void
test_archive_erased(void **state)
{
	struct ax *x = *state;
	struct audit_archive_report ar;
	struct audit_report rep;
	struct store_redaction r;
	struct audit_chain ch;
	char path[256], *text;
	int64_t n;

	ax_rows(x);
	ax_archive(x, DEC_1, &ar);
	/* Ann's sealed values are boxed; nobody's are as they were */
	ax_path(x, SEP, path, sizeof(path));
	assert_false(ax_contains(path, "r1@example.com"));
	assert_false(ax_contains(path, "checkout consent"));
	assert_true(ax_contains(path, "r0@example.com"));
	ax_path(x, OCT, path, sizeof(path));
	assert_false(ax_contains(path, "r3@example.com"));
	assert_true(ax_contains(path, "r2@example.com"));
	text = ax_export(x, INT64_MIN, &n);
	assert_non_null(strstr(text, "\"recipient\":\"r3@example.com\""));
	free(text);

	assert_int_equal(store_begin(x->st), 0);
	assert_int_equal(audit_begin(x->st, &ch), 0);
	assert_int_equal(audit_redact(x->st, &ch, x->ann, NOW,
	    "shopify customers/redact 7", "abc", &r), 0);
	assert_int_equal(store_commit(x->st), 0);
	audit_end(&ch);
	assert_int_equal(r.audit_rows, 1);	/* the one left in the store */

	assert_int_equal(ax_verify(x, NULL, &rep), 0);
	assert_int_equal(rep.redacted_rows, 4);
	assert_int_equal(rep.rows, NROWS + 1);
	text = ax_export(x, INT64_MIN, &n);
	assert_null(strstr(text, "r1@example.com"));
	assert_null(strstr(text, "r3@example.com"));
	assert_non_null(strstr(text, "r2@example.com"));
	assert_non_null(strstr(text, "{\"seq\":2,"));
	assert_non_null(strstr(text, "\"redacted\":true"));
	free(text);

	/* archived after the erasure: nothing to box, and still whole */
	ax_archive(x, NOW + 86400, &ar);
	assert_int_equal(ar.files, 1);
	assert_int_equal(ax_verify(x, NULL, &rep), 0);
	assert_int_equal(rep.redacted_rows, 4);
}

struct ax_rows {
	int	 n;
	char	 seen[256];	/* "SEQ RECIPIENT;" each */
};

static int
ax_row(const char *table, int n, const char *const *names,
    const char *const *values, void *arg)
{
	struct ax_rows *r = arg;
	size_t len = strlen(r->seen);

	assert_string_equal(table, "audit_archived");
	assert_int_equal(n, 10);
	assert_string_equal(names[4], "recipient");
	snprintf(r->seen + len, sizeof(r->seen) - len, "%s %s;", values[0],
	    values[4]);
	r->n++;
	return 0;
}

/* An access request is owed the archived rows too, opened. */
static void
test_archive_access(void **state)
{
	struct ax *x = *state;
	struct audit_archive_report ar;
	struct ax_rows r;
	char why[512], path[256];

	ax_rows(x);
	ax_archive(x, DEC_1, &ar);
	memset(&r, 0, sizeof(r));
	assert_int_equal(audit_archive_rows(x->st, x->arc, x->ann, ax_row, &r,
	    why, sizeof(why)), 0);
	assert_string_equal(r.seen, "2 r1@example.com;4 r3@example.com;"
	    "6 r5@example.com;");
	assert_int_equal(unlink(ax_path(x, OCT, path, sizeof(path))), 0);
	assert_int_equal(audit_archive_rows(x->st, x->arc, x->ann, ax_row, &r,
	    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "archive " OCT " is missing"));
}

/* A box moved onto another row of the same customer does not open. */
static void
test_archive_box_moved(void **state)
{
	struct ax *x = *state;
	struct audit_archive_report ar;
	struct audit_report rep;
	char path[256], *p, *a, *b;
	size_t len;

	ax_rows(x);
	ax_archive(x, DEC_1, &ar);
	ax_path(x, SEP, path, sizeof(path));
	p = ax_read(path, &len);
	/* row 2's box, after its form and seal ("1:2", "64:...") */
	assert_non_null(a = strstr(p, "\nR1:2"));
	assert_non_null(b = strstr(a, "3:abc1:264:"));
	b += strlen("3:abc1:264:") + 64;
	/* a digit of the box, which hashes nowhere but in the file */
	b = strchr(b, ':') + 1 + 30;
	*b = *b == 'a' ? 'b' : 'a';
	ax_write(path, p, len);
	free(p);
	assert_int_equal(ax_verify(x, NULL, &rep), 1);
	assert_string_equal(rep.why, "archive " SEP ": row 2's personal data"
	    " does not open under the key of customer 1: it was edited");
}

/* A broken chain is not buried in an archive. */
static void
test_archive_refuses_broken(void **state)
{
	struct ax *x = *state;
	struct audit_archive_report ar;

	ax_rows(x);
	ax_sql(x, "UPDATE audit SET decision = 'deliver' WHERE seq = 4");
	assert_int_equal(audit_archive(x->st, x->arc, DEC_1, NOW, &ar), -1);
	assert_string_equal(ar.why, "row 4 does not match its hash: the chain"
	    " is broken, nothing was archived; see `segctl audit verify`");
	assert_int_equal(ax_int(x, "SELECT count(*) FROM audit"), NROWS);
	assert_int_equal(ax_int(x, "SELECT count(*) FROM audit_archives"), 0);
	ax_sql(x, "UPDATE audit SET decision = 'no_consent' WHERE seq = 4;"
	    "UPDATE audit SET recipient = 'eve@example.com' WHERE seq = 2");
	assert_int_equal(audit_archive(x->st, x->arc, DEC_1, NOW, &ar), -1);
	assert_non_null(strstr(ar.why, "row 2 does not match its seal"));
	/* a key destroyed by hand, the values left: not boxed, not lost */
	ax_sql(x, "UPDATE audit SET recipient = 'r1@example.com' WHERE seq = 2;"
	    "UPDATE customers SET audit_key = NULL, redacted_at = 1");
	assert_int_equal(audit_archive(x->st, x->arc, DEC_1, NOW, &ar), -1);
	assert_non_null(strstr(ar.why, "row 2 holds personal data of an"
	    " erased customer"));
	assert_int_equal(ax_int(x, "SELECT count(*) FROM audit_archives"), 0);
}

static void
test_archive_month_start(void **state)
{
	(void)state;
	assert_int_equal(audit_archive_month_start(times[7]), DEC_1);
	assert_int_equal(audit_archive_month_start(DEC_1), DEC_1);
	assert_int_equal(audit_archive_month_start(DEC_1 - 1), 1793491200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ax_setup, ax_teardown)
		T(test_archive_rotate),
		T(test_archive_export),
		T(test_archive_damaged),
		T(test_archive_erased),
		T(test_archive_box_moved),
		T(test_archive_access),
		T(test_archive_refuses_broken),
#undef T
		cmocka_unit_test(test_archive_month_start),
	};

	return cmocka_run_group_tests_name("archive", tests, NULL, NULL);
}
