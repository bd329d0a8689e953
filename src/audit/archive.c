/*
 * archive.c - the audit rows moved out of the store into sealed archive
 * files, a month at a time, and read back for verify and export
 * (audit.h, audit_archive; audit_int.h, audit_archive_read).
 *
 * A file is the line "segmilter audit archive 1", then a record per row:
 * 'R', the row's fields in a fixed order, each as its decimal length, a
 * colon and its bytes (as in the hashed form: no value can forge a
 * separator, and a value may hold a newline), and '\n'; then the end
 * record: 'E', the first and last row's numbers, the count, the hash
 * before the first row and that of the last, and '\n'.  The store keeps
 * those figures and the file's SHA-256: a file removed, renamed, cut
 * short or edited no longer matches its record, and is named.
 *
 * A sealed row's recipient, detail and consent are not written as they
 * are but in a box: AES-256-GCM under a key derived (HKDF-SHA256) from
 * the customer's audit key, the row's number and customer bound in as
 * associated data.  Erasing the customer destroys the audit key and so
 * every box of theirs in every archive (crypto-shredding), while the
 * seal the row's hash covers still chains.  Rows that seal nothing (form
 * 1, nobody's customer, a redaction row) are written as they are, as
 * they stay in the store: they could never be erased.
 *
 * A file is written beside its name, synced, renamed into place and its
 * directory synced before its record goes into the store with the rows'
 * deletion: a crash in between leaves a file nothing names, which verify
 * ignores and the next run writes again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "audit_int.h"
#include "buf.h"
#include "digest.h"
#include "str.h"
#include "xalloc.h"

#define ARC_MAGIC	"segmilter audit archive 1\n"
#define ARC_INFO	"segmilter audit archive 1"	/* HKDF's info */
#define ARC_FIELDS	19
#define ARC_END_FIELDS	5
#define ARC_FIELD_MAX	(16 * 1024 * 1024)	/* a damaged length */
#define ARC_NONCE	12
#define ARC_TAG		16

/*
 * OpenSSL's AES-256-GCM and HKDF, fetched once: left to the implicit
 * fetch, every row's box looked them up again under a lock (see
 * BENCHMARKS.md).  Without them OpenSSL is broken: like running out of
 * memory, that aborts.
 */
static EVP_CIPHER	*arc_aes;
static EVP_KDF		*arc_hkdf;

static void
arc_fetch(void)
{
	if ((arc_aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
	    (arc_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL) {
		fprintf(stderr, "audit: no AES-256-GCM or HKDF from"
		    " OpenSSL\n");
		abort();
	}
}

static void
arc_fetch_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, arc_fetch);
}

/* The customer whose key was read last: their rows come in runs. */
struct arc_key {
	int64_t			 customer;	/* 0: none yet */
	struct store_audit_key	 k;
	unsigned char		 aes[32];
};

/* KEY, CUSTOMER's, into C with its derived AES key if it lives. */
static void
arc_key_use(struct arc_key *c, int64_t customer,
    const struct store_audit_key *key)
{
	OSSL_PARAM params[4];
	EVP_KDF_CTX *k;
	int ok;

	if (c->customer == customer && customer != 0)
		return;
	c->customer = customer;
	c->k = *key;
	if (c->k.state != AUDIT_KEY_LIVE)
		return;
	arc_fetch_once();
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA2-256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    c->k.bytes, STORE_AUDIT_KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (char *)ARC_INFO, strlen(ARC_INFO));
	params[3] = OSSL_PARAM_construct_end();
	ok = (k = EVP_KDF_CTX_new(arc_hkdf)) != NULL &&
	    EVP_KDF_derive(k, c->aes, sizeof(c->aes), params) == 1;
	EVP_KDF_CTX_free(k);
	if (!ok) {
		fprintf(stderr, "audit: no HKDF from OpenSSL\n");
		abort();
	}
}

/* CUSTOMER's key, read from the store, into C (arc_key_use). */
static int
arc_key_get(struct store *st, struct arc_key *c, int64_t customer)
{
	struct store_audit_key key;

	if (c->customer == customer && customer != 0)
		return 0;
	c->customer = 0;
	if (store_audit_key_get(st, customer, &key) == -1)
		return -1;
	arc_key_use(c, customer, &key);
	OPENSSL_cleanse(&key, sizeof(key));
	return 0;
}

static void
arc_key_clear(struct arc_key *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

/* What a box binds its contents to: the row and the customer. */
static int
arc_aad(const struct store_audit *a, char *out, size_t len)
{
	return snprintf(out, len, "%" PRId64 ":%" PRId64, a->seq,
	    a->customer_id);
}

/* S as LENGTH:BYTES appended to B. */
static void
arc_lv(struct buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	if (buf_printf(b, "%zu:", strlen(s)) == -1 ||
	    buf_append(b, s, strlen(s)) == -1) {
		fprintf(stderr, "audit: an archive record past its size\n");
		abort();
	}
}

static void
arc_lv_int(struct buf *b, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	arc_lv(b, num);
}

/* C appended to B (a record's kind or its end). */
static void
arc_c(struct buf *b, int c)
{
	if (buf_putc(b, c) == -1) {
		fprintf(stderr, "audit: an archive record past its size\n");
		abort();
	}
}

/*
 * A's recipient, detail and consent boxed under C's key, in hex, into B.
 * The nonce is random: a key boxes a few thousand rows at most.
 */
static void
arc_box(const struct arc_key *c, const struct store_audit *a, struct buf *b)
{
	unsigned char nonce[ARC_NONCE], tag[ARC_TAG], *ct;
	struct buf plain;
	EVP_CIPHER_CTX *x;
	char aad[48], *hex;
	int n, m, ok;

	buf_init(&plain, ARC_FIELD_MAX);
	arc_lv(&plain, a->recipient);
	arc_lv(&plain, a->detail);
	arc_lv(&plain, a->consent);
	ct = xmalloc(plain.len + 1);
	x = EVP_CIPHER_CTX_new();
	ok = x != NULL && RAND_bytes(nonce, sizeof(nonce)) == 1 &&
	    EVP_EncryptInit_ex2(x, arc_aes, c->aes, nonce, NULL) == 1 &&
	    EVP_EncryptUpdate(x, NULL, &n, (unsigned char *)aad,
	    arc_aad(a, aad, sizeof(aad))) == 1 &&
	    EVP_EncryptUpdate(x, ct, &n, (unsigned char *)plain.data,
	    (int)plain.len) == 1 && EVP_EncryptFinal_ex(x, ct + n, &m) == 1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, ARC_TAG, tag) == 1;
	EVP_CIPHER_CTX_free(x);
	if (!ok) {
		fprintf(stderr, "audit: no AES-GCM from OpenSSL\n");
		abort();
	}
	hex = xmalloc(2 * (ARC_NONCE + plain.len + ARC_TAG) + 1);
	str_hex(nonce, ARC_NONCE, hex);
	str_hex(ct, plain.len, hex + 2 * ARC_NONCE);
	str_hex(tag, ARC_TAG, hex + 2 * (ARC_NONCE + plain.len));
	arc_lv(b, hex);
	OPENSSL_cleanse(plain.data, plain.len);
	buf_free(&plain);
	free(ct);
	free(hex);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* The next LENGTH:BYTES of P (up to END) into *V, NUL-ended in place. */
static int
arc_lv_take(char **p, char *end, char **v)
{
	size_t n = 0;
	char *q = *p;

	while (q < end && *q >= '0' && *q <= '9' && n < ARC_FIELD_MAX)
		n = n * 10 + (size_t)(*q++ - '0');
	if (q == *p || q >= end || *q != ':' || (size_t)(end - q - 1) < n)
		return -1;
	memmove(q, q + 1, n);	/* over the colon: room for the NUL */
	q[n] = '\0';
	*v = q;
	*p = q + n + 1;
	return 0;
}

/*
 * Opens BOX (hex) under C's key for A, whose recipient, detail and
 * consent then point into *PLAIN (the caller frees it).  0, or -1 when
 * it does not open: edited, or moved from another row.
 */
static int
arc_unbox(const struct arc_key *c, const char *box, struct store_audit *a,
    char **plain)
{
	unsigned char *raw;
	EVP_CIPHER_CTX *x;
	size_t len = strlen(box) / 2, i, n;
	char aad[48], *out, *p, *end, *v[3];
	int k, m, ok;

	*plain = NULL;
	if (strlen(box) % 2 != 0 || len < ARC_NONCE + ARC_TAG)
		return -1;
	raw = xmalloc(len);
	for (i = 0; i < len; i++) {
		if (hexval(box[2 * i]) == -1 || hexval(box[2 * i + 1]) == -1) {
			free(raw);
			return -1;
		}
		raw[i] = (unsigned char)(hexval(box[2 * i]) << 4 |
		    hexval(box[2 * i + 1]));
	}
	n = len - ARC_NONCE - ARC_TAG;
	out = p = xmalloc(n + 1);
	x = EVP_CIPHER_CTX_new();
	ok = x != NULL && EVP_DecryptInit_ex2(x, arc_aes, c->aes, raw,
	    NULL) == 1 && EVP_DecryptUpdate(x, NULL, &k,
	    (unsigned char *)aad, arc_aad(a, aad, sizeof(aad))) == 1 &&
	    EVP_DecryptUpdate(x, (unsigned char *)p, &k, raw + ARC_NONCE,
	    (int)n) == 1 && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG,
	    ARC_TAG, raw + ARC_NONCE + n) == 1 &&
	    EVP_DecryptFinal_ex(x, (unsigned char *)p + k, &m) == 1;
	EVP_CIPHER_CTX_free(x);
	free(raw);
	end = p + n;
	if (!ok || arc_lv_take(&p, end, &v[0]) == -1 ||
	    arc_lv_take(&p, end, &v[1]) == -1 ||
	    arc_lv_take(&p, end, &v[2]) == -1 || p != end) {
		free(out);
		return -1;
	}
	*plain = out;
	a->recipient = v[0];
	a->detail = v[1];
	a->consent = v[2];
	return 0;
}

/* The file being written and what its record will say. */
struct arc_out {
	FILE				*fp;
	EVP_MD_CTX			*md;
	char				 tmp[PATH_MAX], path[PATH_MAX];
	int				 month;	/* of its first row */
	struct store_audit_archive	 rec;
};

struct archiver {
	struct store			*st;
	const char			*dir;
	int64_t				 cut, head, now;
	struct audit_hasher		*hasher;
	char				 prev[AUDIT_HASH_LEN + 1];
	int64_t				 prev_seq;
	struct arc_out			 out;
	struct arc_key			 key;
	struct buf			 row;
	struct store_audit_archive	*done;
	size_t				 ndone, cap;
	struct audit_archive_report	*rep;
};

/* The month of T, as a number that grows by one a month. */
static int
arc_month(int64_t t, int *year, int *mon)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	*year = tm.tm_year + 1900;
	*mon = tm.tm_mon + 1;
	return *year * 12 + tm.tm_mon;
}

int64_t
audit_archive_month_start(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)timegm(&tm);
}

static void
arc_write(struct arc_out *o, const void *p, size_t n)
{
	fwrite(p, 1, n, o->fp);
	EVP_DigestUpdate(o->md, p, n);
}

static int
arc_fail(struct archiver *z, const char *what, const char *path)
{
	snprintf(z->rep->why, sizeof(z->rep->why), "%s %.300s: %s", what, path,
	    strerror(errno));
	return 1;
}

/* Opens the file for the archive starting at A. */
static int
arc_open(struct archiver *z, const struct store_audit *a)
{
	struct arc_out *o = &z->out;
	int year, mon, fd;

	memset(&o->rec, 0, sizeof(o->rec));
	o->month = arc_month(a->at, &year, &mon);
	snprintf(o->rec.name, sizeof(o->rec.name), "audit-%04d-%02d-s%"
	    PRId64 ".archive", year, mon, a->seq);
	snprintf(o->path, sizeof(o->path), "%s/%s", z->dir, o->rec.name);
	snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.tmp", z->dir, o->rec.name);
	/* personal data in plain rows, and none of anybody else's business */
	if ((fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return arc_fail(z, "cannot create", o->tmp);
	if ((o->fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		return arc_fail(z, "cannot write", o->tmp);
	}
	o->md = digest_sha256_begin();
	o->rec.first_seq = a->seq;
	o->rec.min_at = o->rec.max_at = a->at;
	str_copy(o->rec.prev_hash, sizeof(o->rec.prev_hash), z->prev);
	o->rec.made_at = z->now;
	arc_write(o, ARC_MAGIC, strlen(ARC_MAGIC));
	return 0;
}

/* DIR's entries made to last: an fsync of the directory.  0, or 1. */
static int
arc_sync_dir(struct archiver *z, const char *dir)
{
	int fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return arc_fail(z, "cannot sync", dir);
	if (fsync(fd) == -1)
		rc = arc_fail(z, "cannot sync", dir);	/* errno before close */
	close(fd);
	return rc;
}

/* Ends, syncs and renames the file into place; its record is done. */
static int
arc_close(struct archiver *z)
{
	struct arc_out *o = &z->out;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n;
	int bad;

	buf_reset(&z->row);
	arc_c(&z->row, 'E');
	arc_lv_int(&z->row, o->rec.first_seq);
	arc_lv_int(&z->row, o->rec.last_seq);
	arc_lv_int(&z->row, o->rec.rows);
	arc_lv(&z->row, o->rec.prev_hash);
	arc_lv(&z->row, o->rec.last_hash);
	arc_c(&z->row, '\n');
	arc_write(o, z->row.data, z->row.len);
	EVP_DigestFinal_ex(o->md, d, &n);
	EVP_MD_CTX_free(o->md);
	o->md = NULL;
	str_hex(d, n, o->rec.sha256);
	bad = fflush(o->fp) == EOF || ferror(o->fp) ||
	    fsync(fileno(o->fp)) == -1;
	if (fclose(o->fp) == EOF)
		bad = 1;
	o->fp = NULL;
	if (bad || rename(o->tmp, o->path) == -1) {
		arc_fail(z, "cannot write", o->tmp);
		unlink(o->tmp);
		return 1;
	}
	/* the rename itself must last before the rows go */
	if (arc_sync_dir(z, z->dir) != 0)
		return 1;
	if (z->ndone == z->cap) {
		z->cap = z->cap ? z->cap * 2 : 8;
		z->done = xreallocarray(z->done, z->cap, sizeof(*z->done));
	}
	z->done[z->ndone++] = o->rec;
	return 0;
}

static void
arc_abandon(struct arc_out *o)
{
	if (o->fp == NULL)
		return;
	fclose(o->fp);
	o->fp = NULL;
	EVP_MD_CTX_free(o->md);
	o->md = NULL;
	unlink(o->tmp);
}

/*
 * Whether A may be archived: the chain must hold up to it, sealed values
 * must match their seal, and a sealed row needs its key (or its erasure).
 * Archiving a broken chain would bury the break in a file.  0, or 1.
 */
static int
arc_check(struct archiver *z, const struct store_audit *a)
{
	char hash[AUDIT_HASH_LEN + 1], seal[AUDIT_HASH_LEN + 1];
	const char *why = NULL;

	if (a->seq != z->prev_seq + 1 || strcmp(a->prev_hash, z->prev) != 0)
		why = "does not follow the row before";
	else {
		audit_hash(z->hasher, a, hash);
		if (strcmp(hash, a->hash) != 0)
			why = "does not match its hash";
		else if (audit_sealed(a) && z->key.k.state == AUDIT_KEY_NONE)
			why = "is sealed under a key that is missing";
		else if (audit_sealed(a) && z->key.k.state ==
		    AUDIT_KEY_ERASED && (*a->recipient != '\0' ||
		    *a->detail != '\0' || *a->consent != '\0'))
			why = "holds personal data of an erased customer";
		else if (audit_sealed(a) && z->key.k.state ==
		    AUDIT_KEY_LIVE) {
			audit_seal(z->hasher, z->key.k.bytes, a, seal);
			if (strcmp(seal, a->seal) != 0)
				why = "does not match its seal";
		}
	}
	if (why == NULL)
		return 0;
	snprintf(z->rep->why, sizeof(z->rep->why), "row %" PRId64 " %s:"
	    " the chain is broken, nothing was archived; see `segctl audit"
	    " verify`", a->seq, why);
	return 1;
}

#define ARC_STOP	2	/* the row is past the cut: scan no further */

static int
arc_row(const struct store_audit *a, void *arg)
{
	struct archiver *z = arg;
	struct arc_out *o = &z->out;
	int year, mon;

	if (a->seq >= z->head || a->at >= z->cut)
		return ARC_STOP;
	/* the scan read the row's key with it */
	if (audit_sealed(a))
		arc_key_use(&z->key, a->customer_id, a->key);
	if (arc_check(z, a) != 0)
		return 1;
	if (o->fp != NULL && arc_month(a->at, &year, &mon) != o->month &&
	    arc_close(z) != 0)
		return 1;
	if (o->fp == NULL && arc_open(z, a) != 0)
		return 1;
	buf_reset(&z->row);
	arc_c(&z->row, 'R');
	arc_lv_int(&z->row, a->seq);
	arc_lv_int(&z->row, a->at);
	arc_lv(&z->row, a->channel);
	arc_lv(&z->row, a->queue_id);
	arc_lv(&z->row, a->message_id);
	arc_lv(&z->row, a->campaign_id);
	arc_lv(&z->row, audit_sealed(a) ? "" : a->recipient);
	arc_lv_int(&z->row, a->customer_id);
	arc_lv(&z->row, a->decision);
	arc_lv(&z->row, audit_sealed(a) ? "" : a->detail);
	arc_lv(&z->row, a->segment);
	arc_lv(&z->row, a->variant);
	arc_lv(&z->row, audit_sealed(a) ? "" : a->consent);
	arc_lv(&z->row, a->config_hash);
	arc_lv_int(&z->row, a->form);
	arc_lv(&z->row, a->seal);
	/* an erased customer's values are gone already: nothing to box */
	if (audit_sealed(a) && z->key.k.state == AUDIT_KEY_LIVE)
		arc_box(&z->key, a, &z->row);
	else
		arc_lv(&z->row, "");
	arc_lv(&z->row, a->prev_hash);
	arc_lv(&z->row, a->hash);
	arc_c(&z->row, '\n');
	arc_write(o, z->row.data, z->row.len);
	o->rec.last_seq = a->seq;
	o->rec.rows++;
	str_copy(o->rec.last_hash, sizeof(o->rec.last_hash), a->hash);
	if (a->at < o->rec.min_at)
		o->rec.min_at = a->at;
	if (a->at > o->rec.max_at)
		o->rec.max_at = a->at;
	str_copy(z->prev, sizeof(z->prev), a->hash);
	z->prev_seq = a->seq;
	return 0;
}

/* Z's directory, made if missing, and lasting as the files will. */
static int
arc_mkdir(struct archiver *z)
{
	char parent[PATH_MAX], *slash;

	if (mkdir(z->dir, 0700) == -1)
		return errno == EEXIST ? 0 : arc_fail(z, "cannot create",
		    z->dir);
	snprintf(parent, sizeof(parent), "%s", z->dir);
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	return arc_sync_dir(z, parent);
}

int
audit_archive(struct store *st, const char *dir, int64_t cut, int64_t now,
    struct audit_archive_report *rep)
{
	struct store_audit_archive *recs;
	struct archiver z;
	char hash[AUDIT_HASH_LEN + 1];
	size_t nrecs, i;
	int64_t at;
	int rc;

	memset(rep, 0, sizeof(*rep));
	memset(&z, 0, sizeof(z));
	z.st = st;
	z.dir = dir;
	z.cut = cut;
	z.now = now;
	z.rep = rep;
	if (store_audit_archives(st, &recs, &nrecs) == -1)
		goto store_error;
	if (store_audit_last(st, &z.head, hash, sizeof(hash), &at) == -1) {
		free(recs);
		goto store_error;
	}
	if (nrecs > 0) {
		z.prev_seq = recs[nrecs - 1].last_seq;
		str_copy(z.prev, sizeof(z.prev), recs[nrecs - 1].last_hash);
	}
	free(recs);
	if (arc_mkdir(&z) != 0)
		return -1;
	z.hasher = audit_hasher_new();
	buf_init(&z.row, 4 * ARC_FIELD_MAX);
	/* the head stays: the next row appended chains from it */
	rc = store_audit_scan(st, INT64_MIN, arc_row, &z);
	if ((rc == 0 || rc == ARC_STOP) && z.out.fp != NULL)
		rc = arc_close(&z) != 0 ? 1 : 0;
	arc_abandon(&z.out);
	arc_key_clear(&z.key);
	audit_hasher_free(z.hasher);
	buf_free(&z.row);
	if (rc == -1)
		goto store_error;
	if (rc == 1) {
		free(z.done);
		return -1;
	}
	if (store_audit_prune(st, z.done, z.ndone) == -1) {
		free(z.done);
		goto store_error;
	}
	rep->files = (int64_t)z.ndone;
	for (i = 0; i < z.ndone; i++)
		rep->rows += z.done[i].rows;
	if (z.ndone > 0) {
		rep->first_seq = z.done[0].first_seq;
		rep->last_seq = z.done[z.ndone - 1].last_seq;
	}
	free(z.done);
	return 0;
store_error:
	snprintf(rep->why, sizeof(rep->why), "%s", store_error(st));
	return -1;
}

/* An archive being read: its file, and the record it must match. */
struct arc_in {
	FILE				*fp;
	const struct store_audit_archive *rec;
	struct buf			 rec_buf;
	char				*f[ARC_FIELDS];
};

/* The next record's fields into IN->f: 'R' or 'E', 0 at the end, -1. */
static int
arc_record(struct arc_in *in)
{
	size_t len, off[ARC_FIELDS];
	int ch, kind, i, n;

	if ((kind = getc(in->fp)) == EOF)
		return 0;
	if (kind != 'R' && kind != 'E')
		return -1;
	n = kind == 'R' ? ARC_FIELDS : ARC_END_FIELDS;
	buf_reset(&in->rec_buf);
	for (i = 0; i < n; i++) {
		len = 0;
		while ((ch = getc(in->fp)) >= '0' && ch <= '9' &&
		    len <= ARC_FIELD_MAX)
			len = len * 10 + (size_t)(ch - '0');
		if (ch != ':' || len > ARC_FIELD_MAX ||
		    buf_reserve(&in->rec_buf, len + 1) == -1)
			return -1;
		off[i] = in->rec_buf.len;
		if (fread(in->rec_buf.data + in->rec_buf.len, 1, len, in->fp) !=
		    len)
			return -1;
		in->rec_buf.len += len;
		in->rec_buf.data[in->rec_buf.len++] = '\0';
	}
	if (getc(in->fp) != '\n')
		return -1;
	for (i = 0; i < n; i++)
		in->f[i] = in->rec_buf.data + off[i];
	return kind;
}

/* Field I as a number into *V: 0, or -1 when it is not one. */
static int
arc_int(const struct arc_in *in, int i, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(in->f[i], &end, 10);
	return *in->f[i] == '\0' || *end != '\0' || errno != 0 ? -1 : 0;
}

/* The file's SHA-256 in hex into OUT: 0, or -1 with errno. */
static int
arc_digest(FILE *fp, char *out)
{
	unsigned char b[65536], d[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *md = digest_sha256_begin();
	unsigned int n;
	size_t k;

	while ((k = fread(b, 1, sizeof(b), fp)) > 0)
		EVP_DigestUpdate(md, b, k);
	EVP_DigestFinal_ex(md, d, &n);
	EVP_MD_CTX_free(md);
	str_hex(d, n, out);
	if (ferror(fp))
		return -1;
	rewind(fp);
	return 0;
}

/*
 * The rows of the archive IN, each to FN.  0, FN's non-zero, 1 (WHY
 * says what is wrong), or -1 on a store error.
 */
static int
arc_rows(struct store *st, struct arc_in *in, store_audit_fn fn, void *arg,
    char *why, size_t len)
{
	static const struct store_audit_key none;
	const struct store_audit_archive *rec = in->rec;
	struct store_audit a;
	struct arc_key key;
	int64_t v[ARC_END_FIELDS], rows = 0, last = 0;
	char *plain = NULL;
	int kind, rc = 0;

	memset(&key, 0, sizeof(key));
	while ((kind = arc_record(in)) == 'R') {
		memset(&a, 0, sizeof(a));
		if (arc_int(in, 0, &a.seq) == -1 ||
		    arc_int(in, 1, &a.at) == -1 ||
		    arc_int(in, 7, &a.customer_id) == -1 ||
		    arc_int(in, 14, &v[0]) == -1)
			break;
		a.channel = in->f[2];
		a.queue_id = in->f[3];
		a.message_id = in->f[4];
		a.campaign_id = in->f[5];
		a.recipient = in->f[6];
		a.decision = in->f[8];
		a.detail = in->f[9];
		a.segment = in->f[10];
		a.variant = in->f[11];
		a.consent = in->f[12];
		a.config_hash = in->f[13];
		a.form = (int)v[0];
		a.seal = in->f[15];
		a.prev_hash = in->f[17];
		a.hash = in->f[18];
		a.key = &none;
		if (audit_sealed(&a)) {
			if (arc_key_get(st, &key, a.customer_id) == -1) {
				rc = -1;
				break;
			}
			a.key = &key.k;
			if (key.k.state == AUDIT_KEY_LIVE &&
			    arc_unbox(&key, in->f[16], &a, &plain) == -1) {
				snprintf(why, len, "archive %s: row %" PRId64
				    "'s personal data does not open under the"
				    " key of customer %" PRId64 ": it was"
				    " edited", rec->name, a.seq,
				    a.customer_id);
				rc = 1;
				break;
			}
		}
		rows++;
		last = a.seq;
		rc = fn(&a, arg);
		free(plain);
		plain = NULL;
		if (rc != 0)
			break;
	}
	arc_key_clear(&key);
	if (rc != 0)
		return rc;
	if (kind != 'E' || arc_int(in, 0, &v[0]) == -1 ||
	    arc_int(in, 1, &v[1]) == -1 || arc_int(in, 2, &v[2]) == -1 ||
	    getc(in->fp) != EOF) {
		snprintf(why, len, "archive %s is damaged after row %" PRId64
		    ": it was cut short or edited", rec->name, last);
		return 1;
	}
	/* the end record, the rows and the store's record must agree */
	if (v[0] != rec->first_seq || v[1] != rec->last_seq ||
	    v[2] != rec->rows || rows != rec->rows || last != rec->last_seq ||
	    strcmp(in->f[3], rec->prev_hash) != 0 ||
	    strcmp(in->f[4], rec->last_hash) != 0) {
		snprintf(why, len, "archive %s holds rows to %" PRId64 ", not"
		    " the rows %" PRId64 " to %" PRId64 " the store recorded:"
		    " it was replaced", rec->name, last, rec->first_seq,
		    rec->last_seq);
		return 1;
	}
	return 0;
}

int
audit_archive_read(struct store *st, const char *dir,
    const struct store_audit_archive *rec, int shown, store_audit_fn fn,
    void *arg, char *why, size_t len)
{
	char path[PATH_MAX], digest[AUDIT_HASH_LEN + 1];
	char magic[sizeof(ARC_MAGIC)];
	struct arc_in in;
	int rc;

	if (dir == NULL) {
		snprintf(why, len, "archive %s is missing: no archive"
		    " directory", rec->name);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, rec->name);
	memset(&in, 0, sizeof(in));
	in.rec = rec;
	if ((in.fp = fopen(path, "rb")) == NULL) {
		snprintf(why, len, "archive %s is %s (%s)", rec->name,
		    errno == ENOENT ? "missing" : "unreadable", path);
		return 1;
	}
	if (arc_digest(in.fp, digest) == -1) {
		snprintf(why, len, "archive %s is unreadable (%s: %s)",
		    rec->name, path, strerror(errno));
		fclose(in.fp);
		return 1;
	}
	buf_init(&in.rec_buf, 4 * ARC_FIELD_MAX);
	if (shown && strcmp(digest, rec->sha256) != 0)
		rc = 0;		/* said below, before a row is shown */
	else if (fread(magic, 1, strlen(ARC_MAGIC), in.fp) !=
	    strlen(ARC_MAGIC) || memcmp(magic, ARC_MAGIC,
	    strlen(ARC_MAGIC)) != 0) {
		snprintf(why, len, "archive %s is not an audit archive (%s)",
		    rec->name, path);
		rc = 1;
	} else
		rc = arc_rows(st, &in, fn, arg, why, len);
	/* the rows say where an edit is; the digest, that there was one */
	if (rc == 0 && strcmp(digest, rec->sha256) != 0) {
		snprintf(why, len, "archive %s was edited: its SHA-256 is not"
		    " the one the store recorded", rec->name);
		rc = 1;
	}
	buf_free(&in.rec_buf);
	fclose(in.fp);
	return rc;
}

/* An access request's walk through the archives. */
struct arc_disclose {
	int64_t		 customer;
	store_row_fn	 fn;
	void		*arg;
	int		 stop;		/* FN's non-zero */
};

static int
arc_disclose_row(const struct store_audit *a, void *arg)
{
	static const char *const names[] = { "seq", "at", "channel",
	    "campaign_id", "recipient", "decision", "detail", "segment",
	    "variant", "consent" };
	struct arc_disclose *d = arg;
	const char *values[sizeof(names) / sizeof(names[0])];
	char seq[24], at[24];

	if (a->customer_id != d->customer)
		return 0;
	snprintf(seq, sizeof(seq), "%" PRId64, a->seq);
	snprintf(at, sizeof(at), "%" PRId64, a->at);
	values[0] = seq;
	values[1] = at;
	values[2] = a->channel;
	values[3] = a->campaign_id;
	values[4] = a->recipient;
	values[5] = a->decision;
	values[6] = a->detail;
	values[7] = a->segment;
	values[8] = a->variant;
	values[9] = a->consent;
	/* told apart from a damaged archive's 1 */
	d->stop = d->fn("audit_archived", (int)(sizeof(names) /
	    sizeof(names[0])), names, values, d->arg);
	return d->stop != 0 ? ARC_STOP : 0;
}

int
audit_archive_rows(struct store *st, const char *dir, int64_t id,
    store_row_fn fn, void *arg, char *why, size_t len)
{
	struct arc_disclose d = { id, fn, arg, 0 };
	struct store_audit_archive *recs;
	size_t n, i;
	int rc;

	/* one snapshot: the records and the keys as they were together */
	if (store_begin_read(st) == -1) {
		snprintf(why, len, "%s", store_error(st));
		return -1;
	}
	if ((rc = store_audit_archives(st, &recs, &n)) == 0) {
		for (i = 0; i < n && rc == 0; i++)
			rc = audit_archive_read(st, dir, &recs[i], 1,
			    arc_disclose_row, &d, why, len);
		free(recs);
	}
	if (rc == -1)
		snprintf(why, len, "%s", store_error(st));
	store_rollback(st);
	if (rc == ARC_STOP)
		return d.stop;
	return rc == 0 ? 0 : -1;
}
