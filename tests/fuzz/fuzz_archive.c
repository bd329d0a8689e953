/*
 * fuzz_archive.c - reading back an audit archive (audit.h; archive.c's
 * reader) on whatever the archive directory may come to hold: each input
 * is written as the contents of the one archive a real store records,
 * then verified (audit_verify, as `segctl audit verify` does) and
 * exported (audit_export, as `segctl audit export`; its rows are
 * written field by field, so every value the reader hands out is read
 * whole).  The reader parses a file before its digest is checked, so
 * every byte reaches the parser.
 *
 * The store is made once per process (tests/fuzz/fstore.h: a file in a
 * directory removed at exit, or a schema on PostgreSQL; the archive is a
 * file in that directory either way): six rows in September 2026
 * archived into one file (nobody's rows with values as they are, quotes,
 * a newline and a control character among them; rows of a customer with
 * a fixed audit key, their personal data boxed; rows of an erased
 * customer and the row of their erasure), and a row in December left in
 * the store.  With the key fixed, a seed written by another process opens
 * and parses to its end: only its boxes' random nonces, so its digest,
 * differ.
 *
 * Beyond crashes, leaks and reads past a field: an input that is not
 * the file's very bytes is never accepted, by verify nor by export; a
 * refusal says why and names the archive; the file itself is accepted
 * (checked once at start) and exports as it did then.  libFuzzer entry
 * point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/store/db.h"
#include "audit.h"
#include "fstore.h"
#include "store_audit.h"
#include "store_record.h"

#define SEP_10		((int64_t)1789041600)	/* 2026-09-10T12:00:00Z */
#define SEP_20		((int64_t)1789905600)	/* 2026-09-20T12:00:00Z */
#define DEC_1		((int64_t)1796083200)	/* 2026-12-01T00:00:00Z */
#define DEC_2		((int64_t)1796212800)	/* 2026-12-02T12:00:00Z */
#define NOW		((int64_t)1798804800)	/* 2027-01-01T12:00:00Z */
#define ARCHIVED	6			/* rows in the file */

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The customers' audit keys, fixed: a seed from another run then opens,
 * and its rows' seals and hashes are this run's.
 */
static const unsigned char ann_key[STORE_AUDIT_KEY_LEN] =
    "segmilter fuzz_archive ann key!";
static const unsigned char bob_key[STORE_AUDIT_KEY_LEN] =
    "segmilter fuzz_archive bob key!";

static char dir[64], db[512], arc[128], path[256];
static struct store *st;
static struct store_audit_archive rec;
static char *orig, *orig_export;		/* the file; its export */
static size_t orig_len, orig_export_len;

static void
cleanup(void)
{
	store_close(st);
	unlink(path);
	rmdir(arc);
	fstore_remove(db);
	rmdir(dir);
	free(orig);
	free(orig_export);
}

static void
fail(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_archive: %s: %s\n", what, why);
	exit(1);
}

static int64_t
customer(const char *email)
{
	struct store_customer c;
	enum store_change ch;
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.email = email;
	if (store_customer_upsert(st, &c, &id, &ch) == -1)
		fail("customer", store_error(st));
	return id;
}

static void
append(struct audit_chain *ch, int64_t at, int64_t id, const char *rcpt,
    const char *decision, const char *detail, const char *consent)
{
	struct store_audit a;

	memset(&a, 0, sizeof(a));
	a.at = at;
	a.channel = "email";
	a.queue_id = "4XyZ1";
	a.message_id = "<m1@example.com>";
	a.campaign_id = "bf-2026";
	a.recipient = rcpt;
	a.customer_id = id;
	a.decision = decision;
	a.detail = detail;
	a.segment = "vip";
	a.variant = "";
	a.consent = consent;
	a.config_hash = "abc";
	if (audit_append(st, ch, &a) == -1)
		fail("audit row", store_error(st));
}

/*
 * Customer ID's audit key made KEY, through a second connection: the
 * store gives every customer a random one when it makes them.
 */
static void
fix_key(int64_t id, const unsigned char *key)
{
	struct db_stmt *s;
	struct db *h = fstore_open(db);
	int ok;

	ok = (s = db_prepare(h, "UPDATE customers SET audit_key = ?2"
	    " WHERE id = ?1", 0)) != NULL &&
	    db_bind_int(s, 1, id) == 0 &&
	    db_bind_blob(s, 2, key, STORE_AUDIT_KEY_LEN) == 0 &&
	    db_step(s) == DB_DONE && db_changes(h) == 1;
	if (!ok)
		fail("audit key", db_errmsg(h));
	db_finalize(s);
	db_close(h);
}

/* The rows, in one transaction; Bob's erased among them. */
static void
rows(void)
{
	struct store_redaction r;
	struct audit_chain ch;
	int64_t ann, bob;

	ann = customer("ann@example.com");
	bob = customer("bob@example.com");
	fix_key(ann, ann_key);
	fix_key(bob, bob_key);
	if (store_begin(st) == -1 || audit_begin(st, &ch) == -1)
		fail("audit rows", store_error(st));
	append(&ch, SEP_10, 0, "nobody@example.com", "no_consent", "",
	    "none \"quoted\"\nline\\\x01");
	append(&ch, SEP_10 + 1, ann, "ann@example.com", "deliver",
	    "checkout consent", "granted 2026-08-01");
	append(&ch, SEP_10 + 2, bob, "bob@example.com", "deliver", "form",
	    "granted");
	append(&ch, SEP_10 + 3, 0, "caf\xc3\xa9@example.com", "suppress",
	    "bounced", "");
	append(&ch, SEP_10 + 4, ann, "ann+2@example.com", "deliver", "",
	    "granted \"again\"");
	if (audit_redact(st, &ch, bob, SEP_20, "segctl", "abc", &r) == -1)
		fail("redact", store_error(st));
	append(&ch, DEC_2, ann, "ann@example.com", "deliver", "", "granted");
	if (store_commit(st) == -1)
		fail("audit rows", store_error(st));
	audit_end(&ch);
}

/* The bytes of FP to its end, into a fresh string; *LEN of them. */
static char *
slurp(FILE *fp, size_t *len)
{
	char buf[4096], *p = NULL;
	size_t n;

	*len = 0;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if ((p = realloc(p, *len + n + 1)) == NULL)
			fail("slurp", "out of memory");
		memcpy(p + *len, buf, n);
		*len += n;
	}
	if (p == NULL && (p = calloc(1, 1)) == NULL)
		fail("slurp", "out of memory");
	p[*len] = '\0';
	return p;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct audit_archive_report ar;
	struct store_audit_archive *recs;
	struct audit_report rep;
	char err[512];
	size_t n;
	int64_t rows_out;
	FILE *fp;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/segm-fuzz-archive-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	fstore_name(dir, db, sizeof(db));
	snprintf(arc, sizeof(arc), "%s/archive", dir);
	if (store_open(db, STORE_CREATE, 1000, &st, err, sizeof(err)) == -1)
		fail(db, err);
	atexit(cleanup);
	rows();
	if (audit_archive(st, arc, DEC_1, NOW, &ar) == -1)
		fail("archive", ar.why);
	if (ar.files != 1 || ar.rows != ARCHIVED)
		fail("archive", "not the one file of six rows");
	if (store_audit_archives(st, &recs, &n) == -1 || n != 1)
		fail("archive", "not one record");
	rec = recs[0];
	free(recs);
	snprintf(path, sizeof(path), "%s/%s", arc, rec.name);
	if ((fp = fopen(path, "rb")) == NULL)
		fail(path, "cannot read");
	orig = slurp(fp, &orig_len);
	fclose(fp);

	/* the file as written: accepted, or the checks below prove nothing */
	if (audit_verify(st, arc, NULL, 0, &rep) != 0)
		fail("verify", rep.why);
	if (rep.archives != 1 || rep.rows != ARCHIVED + 1 ||
	    rep.redacted_rows != 1)
		fail("verify", "not the rows archived");
	if ((fp = open_memstream(&orig_export, &orig_export_len)) == NULL)
		fail("export", "no memory stream");
	rows_out = audit_export(st, arc, INT64_MIN, fp, err, sizeof(err));
	fclose(fp);
	if (rows_out != ARCHIVED + 1)
		fail("export", rows_out == -1 ? err : "not every row");
	return 0;
}

/* An invariant broken: what, for the crash report. */
static void
broken(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_archive: %s: %s\n", what, why);
	abort();
}

/* Whether DATA is the archive as written. */
static int
same(const uint8_t *data, size_t size)
{
	return size == orig_len && memcmp(data, orig, size) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_report rep;
	char why[512], *out;
	size_t len;
	int64_t rows_out;
	FILE *fp;
	int rc;

	/* a new file each time: ext4 flushes one truncated and rewritten */
	unlink(path);
	if ((fp = fopen(path, "wbx")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, fp) != size) ||
	    fclose(fp) == EOF)
		fail(path, "cannot write");

	rc = audit_verify(st, arc, NULL, 0, &rep);
	if (rc == -1)
		broken("verify: a store error", rep.why);
	if (rc == 0 && !same(data, size))
		broken("verify accepted an edited archive", "");
	if (rc == 1 && (strnlen(rep.why, sizeof(rep.why)) == sizeof(rep.why) ||
	    strstr(rep.why, rec.name) == NULL || rep.bad_seq == 0))
		broken("verify: a refusal that names no archive or row",
		    rep.why);

	if ((fp = open_memstream(&out, &len)) == NULL)
		fail("export", "no memory stream");
	why[0] = '\0';
	rows_out = audit_export(st, arc, INT64_MIN, fp, why, sizeof(why));
	fclose(fp);
	if (rows_out == -1 && same(data, size))
		broken("export refused the archive as written", why);
	if (rows_out == -1 && (strnlen(why, sizeof(why)) == sizeof(why) ||
	    strstr(why, rec.name) == NULL))
		broken("export: a refusal that names no archive", why);
	if (rows_out != -1 && !same(data, size))
		broken("export accepted an edited archive", "");
	if (rows_out != -1 && (rows_out != ARCHIVED + 1 ||
	    len != orig_export_len || memcmp(out, orig_export, len) != 0))
		broken("export: the archive as written exports otherwise", "");
	free(out);
	return 0;
}
