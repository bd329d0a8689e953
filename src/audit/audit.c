/*
 * audit.c - hashing, appending, verifying and exporting the audit chain.
 *
 * The hashed form of a row is every field, in a fixed order, each as its
 * decimal length, a colon and its bytes: no separator can be forged by a
 * value that contains it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "audit_int.h"
#include "digest.h"
#include "parse.h"
#include "str.h"
#include "xalloc.h"

/*
 * A SHA-256 context kept for as long as rows are hashed: setting one up
 * costs a fair part of hashing a row, and the hash runs for every
 * recipient of every message.
 */
struct audit_hasher {
	EVP_MD_CTX	*md;
};

/*
 * The hashed form is gathered in a buffer and hashed in as few updates
 * as it takes: thirty small digest updates cost more than the hashing
 * itself.
 */
struct hash_input {
	EVP_MD_CTX	*md;
	char		 buf[2048];
	size_t		 len;
};

struct audit_hasher *
audit_hasher_new(void)
{
	struct audit_hasher *h = xcalloc(1, sizeof(*h));

	/* like running out of memory */
	if ((h->md = EVP_MD_CTX_new()) == NULL) {
		fprintf(stderr, "audit: no digest context from OpenSSL\n");
		abort();
	}
	return h;
}

void
audit_hasher_free(struct audit_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}

static void
hash_append(struct hash_input *in, const char *p, size_t n)
{
	if (in->len + n > sizeof(in->buf)) {
		EVP_DigestUpdate(in->md, in->buf, in->len);
		in->len = 0;
		if (n > sizeof(in->buf)) {
			EVP_DigestUpdate(in->md, p, n);
			return;
		}
	}
	memcpy(in->buf + in->len, p, n);
	in->len += n;
}

/* V in decimal, written backwards from END; returns the first digit. */
static char *
decimal(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

static void
hash_bytes(struct hash_input *in, const char *v, size_t n)
{
	char num[24], *p;

	num[sizeof(num) - 1] = ':';
	p = decimal(n, num + sizeof(num) - 1);
	hash_append(in, p, (size_t)(num + sizeof(num) - p));
	hash_append(in, v, n);
}

static void
hash_field(struct hash_input *in, const char *v)
{
	if (v == NULL)
		v = "";
	hash_bytes(in, v, strlen(v));
}

static void
hash_int(struct hash_input *in, int64_t v)
{
	char num[24], *p, *end = num + sizeof(num);

	p = decimal(v < 0 ? -(uint64_t)v : (uint64_t)v, end);
	if (v < 0)
		*--p = '-';
	hash_bytes(in, p, (size_t)(end - p));
}

/*
 * Whether A's personal data is sealed rather than hashed as it is.  A
 * redaction row holds none, and must keep its detail (who asked) after
 * the key it follows is gone.
 */
int
audit_sealed(const struct store_audit *a)
{
	return a->form == 2 && a->customer_id != 0 &&
	    strcmp(a->decision, AUDIT_REDACTED) != 0;
}

/* The hash of A given A->prev_hash, into OUT (65 bytes). */
void
audit_hash(struct audit_hasher *h, const struct store_audit *a, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	struct hash_input in;
	unsigned int n;
	int sealed = audit_sealed(a);

	in.md = h->md;
	in.len = 0;
	EVP_DigestInit_ex2(in.md, digest_sha256(), NULL);
	/*
	 * Only a sealed row is marked: the rows of form 1, and those about
	 * nobody's customer, which seal nothing, hash as they always did.
	 */
	if (sealed)
		hash_field(&in, "form 2");
	hash_int(&in, a->seq);
	hash_int(&in, a->at);
	hash_field(&in, a->channel);
	hash_field(&in, a->queue_id);
	hash_field(&in, a->message_id);
	hash_field(&in, a->campaign_id);
	hash_field(&in, sealed ? "" : a->recipient);
	hash_int(&in, a->customer_id);
	hash_field(&in, a->decision);
	hash_field(&in, sealed ? "" : a->detail);
	hash_field(&in, a->segment);
	hash_field(&in, a->variant);
	hash_field(&in, sealed ? "" : a->consent);
	hash_field(&in, a->config_hash);
	if (sealed)
		hash_field(&in, a->seal);
	hash_field(&in, a->prev_hash);
	EVP_DigestUpdate(in.md, in.buf, in.len);
	EVP_DigestFinal_ex(in.md, d, &n);
	str_hex(d, n, out);
}

/*
 * The seal of A's recipient, detail and consent under KEY into OUT (65
 * bytes): HMAC-SHA256 (RFC 2104) of their hashed form, written out here
 * so that it streams through the hasher's context like a row.  Without
 * the key nobody can tell which address a seal stands for, however few
 * the candidates: a guessed address gives a different seal under every
 * key.
 */
void
audit_seal(struct audit_hasher *h, const unsigned char *key,
    const struct store_audit *a, char *out)
{
	unsigned char pad[64], inner[EVP_MAX_MD_SIZE], d[EVP_MAX_MD_SIZE];
	struct hash_input in;
	unsigned int n, i;

	_Static_assert(STORE_AUDIT_KEY_LEN <= sizeof(pad), "key > block");
	in.md = h->md;
	in.len = 0;
	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < STORE_AUDIT_KEY_LEN; i++)
		pad[i] ^= key[i];
	EVP_DigestInit_ex2(in.md, digest_sha256(), NULL);
	hash_append(&in, (const char *)pad, sizeof(pad));
	hash_field(&in, a->recipient);
	hash_field(&in, a->detail);
	hash_field(&in, a->consent);
	EVP_DigestUpdate(in.md, in.buf, in.len);
	EVP_DigestFinal_ex(in.md, inner, &n);
	memset(pad, 0x5c, sizeof(pad));
	for (i = 0; i < STORE_AUDIT_KEY_LEN; i++)
		pad[i] ^= key[i];
	EVP_DigestInit_ex2(in.md, digest_sha256(), NULL);
	EVP_DigestUpdate(in.md, pad, sizeof(pad));
	EVP_DigestUpdate(in.md, inner, n);
	EVP_DigestFinal_ex(in.md, d, &n);
	OPENSSL_cleanse(pad, sizeof(pad));
	str_hex(d, n, out);
}

int
audit_begin(struct store *st, struct audit_chain *ch)
{
	int64_t at;

	ch->hasher = NULL;
	if (store_audit_last(st, &ch->seq, ch->hash, sizeof(ch->hash),
	    &at) == -1)
		return -1;
	/* no rows yet: no hour is in the index */
	ch->hour = ch->seq == 0 ? INT64_MIN : store_audit_hour(at);
	ch->hasher = audit_hasher_new();
	return 0;
}

void
audit_end(struct audit_chain *ch)
{
	audit_hasher_free(ch->hasher);
	ch->hasher = NULL;
}

/*
 * The keys of A[0..N-1]'s customers into K, read at once, and made for
 * those who have none yet (a customer's first row: the same key for
 * their later rows here).
 */
static int
audit_keys(struct store *st, const struct store_audit *a, size_t n,
    struct store_audit_key *k)
{
	int64_t *ids = xcalloc(n, sizeof(*ids));
	size_t i, j;
	int rc;

	for (i = 0; i < n; i++)
		ids[i] = audit_sealed(&a[i]) ? a[i].customer_id : 0;
	rc = store_audit_keys_get(st, ids, n, k);
	for (i = 0; rc == 0 && i < n; i++) {
		if (ids[i] == 0 || k[i].state != AUDIT_KEY_NONE)
			continue;
		/* like running out of memory: no key is no audit row */
		if (RAND_bytes(k[i].bytes, sizeof(k[i].bytes)) != 1) {
			fprintf(stderr, "audit: no random bytes from"
			    " OpenSSL\n");
			abort();
		}
		if ((rc = store_audit_key_put(st, ids[i], k[i].bytes)) == -1)
			break;
		k[i].state = AUDIT_KEY_LIVE;
		for (j = i + 1; j < n; j++)
			if (ids[j] == ids[i])
				k[j] = k[i];
	}
	free(ids);
	return rc;
}

/* The row after A's place in CH: numbered, sealed, chained. */
struct audit_made {
	char	 seal[AUDIT_HASH_LEN + 1];
	char	 hash[AUDIT_HASH_LEN + 1];
	const char *recipient, *detail, *consent;	/* the caller's */
};

int
audit_append_many(struct store *st, struct audit_chain *ch,
    struct store_audit *a, size_t n)
{
	struct store_audit_key *k = xcalloc(n + 1, sizeof(*k));
	struct audit_made *made = xcalloc(n + 1, sizeof(*made));
	const char *prev = ch->hash;
	int64_t seq = ch->seq, hour = ch->hour, h;
	size_t i;
	int rc = 0;

	if (n == 0)
		goto out;
	for (i = 0; i < n; i++)
		a[i].form = 2;
	if ((rc = audit_keys(st, a, n, k)) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		made[i].recipient = a[i].recipient;
		made[i].detail = a[i].detail;
		made[i].consent = a[i].consent;
		if (audit_sealed(&a[i]) && k[i].state == AUDIT_KEY_ERASED)
			/* erased: rows without personal data */
			a[i].recipient = a[i].detail = a[i].consent = "";
		else if (audit_sealed(&a[i]))
			audit_seal(ch->hasher, k[i].bytes, &a[i],
			    made[i].seal);
		a[i].seal = made[i].seal;
		a[i].seq = ++seq;
		a[i].prev_hash = prev;
		audit_hash(ch->hasher, &a[i], made[i].hash);
		a[i].hash = prev = made[i].hash;
	}
	rc = store_audit_append(st, a, n);
	/* no mark when the row before was of this hour: it has one */
	for (i = 0; rc == 0 && i < n; i++) {
		if ((h = store_audit_hour(a[i].at)) == hour)
			continue;
		rc = store_audit_mark(st, h, a[i].seq);
		hour = h;
	}
	if (rc == 0) {
		ch->hour = hour;
		ch->seq = seq;
		memcpy(ch->hash, made[n - 1].hash, sizeof(ch->hash));
	}
	for (i = 0; i < n; i++) {
		a[i].recipient = made[i].recipient;
		a[i].detail = made[i].detail;
		a[i].consent = made[i].consent;
		a[i].seal = a[i].prev_hash = a[i].hash = NULL;
	}
out:
	OPENSSL_cleanse(k, n * sizeof(*k));
	free(k);
	free(made);
	return rc;
}

int
audit_append(struct store *st, struct audit_chain *ch, struct store_audit *a)
{
	return audit_append_many(st, ch, a, 1);
}

/* The first row of an hour, as the rows show it. */
struct hour_first {
	int64_t	 hour;
	int64_t	 seq;
	int64_t	 at;
};

struct id_set {
	int64_t	*v;
	size_t	 n, cap;
};

static void
id_set_add(struct id_set *set, int64_t id)
{
	/* rows of one customer come in runs: skip the repeats cheaply */
	if (set->n > 0 && set->v[set->n - 1] == id)
		return;
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 16;
		set->v = xreallocarray(set->v, set->cap, sizeof(*set->v));
	}
	set->v[set->n++] = id;
}

static int
id_cmp(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return a < b ? -1 : a > b;
}

static int
id_set_has(const struct id_set *set, int64_t id)
{
	/* an empty set has no array: bsearch must not see its NULL */
	if (set->n == 0)
		return 0;
	return bsearch(&id, set->v, set->n, sizeof(*set->v), id_cmp) != NULL;
}

struct verify {
	struct audit_report	*rep;
	struct audit_hasher	*hasher;
	struct audit_anchor	*anchors;	/* sorted by seq */
	size_t			 nanchors, next;
	char			 prev[AUDIT_HASH_LEN + 1];
	int64_t			 prev_seq;
	struct hour_first	*hours;		/* one per change of hour */
	size_t			 nhours, hours_cap;
	/* customers whose key is erased, and those with a redaction row */
	struct id_set		 erased, redacted;
	const char		*archive;	/* the file read; NULL: store */
};

static void
hours_note(struct verify *v, const struct store_audit *a)
{
	int64_t hour = store_audit_hour(a->at);

	if (v->nhours > 0 && v->hours[v->nhours - 1].hour == hour)
		return;
	if (v->nhours == v->hours_cap) {
		v->hours_cap = v->hours_cap ? v->hours_cap * 2 : 64;
		v->hours = xreallocarray(v->hours, v->hours_cap,
		    sizeof(*v->hours));
	}
	v->hours[v->nhours].hour = hour;
	v->hours[v->nhours].seq = a->seq;
	v->hours[v->nhours].at = a->at;
	v->nhours++;
}

static int
hour_cmp(const void *pa, const void *pb)
{
	const struct hour_first *a = pa, *b = pb;

	if (a->hour != b->hour)
		return a->hour < b->hour ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Each hour's mark in the time index must name the hour's first row or
 * an earlier one: else `audit export --since` skips rows.  0, 1 (REP
 * says which row) or -1.
 */
static int
hours_check(struct store *st, struct verify *v)
{
	struct hour_first *h;
	int64_t first;
	size_t i;
	char at[32];

	if (v->nhours == 0)
		return 0;
	qsort(v->hours, v->nhours, sizeof(*v->hours), hour_cmp);
	for (i = 0; i < v->nhours; i++) {
		h = &v->hours[i];
		/* after a clock step back an hour comes again: its least */
		if (i > 0 && v->hours[i - 1].hour == h->hour)
			continue;
		if (store_audit_mark_get(st, h->hour, &first) == -1)
			return -1;
		if (first != 0 && first <= h->seq)
			continue;
		format_time(h->at, at, sizeof(at));
		v->rep->unindexed_seq = h->seq;
		snprintf(v->rep->why, sizeof(v->rep->why), "row %" PRId64
		    " (%s) is not in the time index (audit_hours %s):"
		    " `segctl audit export --since` would skip it", h->seq,
		    at, first == 0 ? "has no row for its hour" :
		    "names a later row");
		return 1;
	}
	return 0;
}

/*
 * A sealed row's recipient, detail and consent against its seal: with
 * the customer's key they must be what was sealed; with the key erased
 * they must be gone, and a redaction row must say who erased it.
 */
static int
verify_personal(struct verify *v, const struct store_audit *a)
{
	struct audit_report *rep = v->rep;
	char seal[AUDIT_HASH_LEN + 1];

	if (strcmp(a->decision, AUDIT_REDACTED) == 0)
		id_set_add(&v->redacted, a->customer_id);
	if (!audit_sealed(a))
		return 0;
	switch (a->key->state) {
	case AUDIT_KEY_LIVE:
		audit_seal(v->hasher, a->key->bytes, a, seal);
		if (strcmp(seal, a->seal) == 0)
			return 0;
		snprintf(rep->why, sizeof(rep->why), "row %" PRId64 "'s"
		    " recipient, detail or consent does not match its seal:"
		    " it was edited", a->seq);
		break;
	case AUDIT_KEY_ERASED:
		rep->redacted_rows++;
		id_set_add(&v->erased, a->customer_id);
		if (*a->recipient == '\0' && *a->detail == '\0' &&
		    *a->consent == '\0')
			return 0;
		snprintf(rep->why, sizeof(rep->why), "row %" PRId64 " holds"
		    " personal data of customer %" PRId64 ", whose audit key"
		    " was erased: it was written after the redaction",
		    a->seq, a->customer_id);
		break;
	case AUDIT_KEY_NONE:
		snprintf(rep->why, sizeof(rep->why), "row %" PRId64 ": the"
		    " audit key of customer %" PRId64 " is missing: it was"
		    " deleted", a->seq, a->customer_id);
		break;
	}
	rep->bad_seq = a->seq;
	return 1;
}

/* Each erased key must have its redaction row.  0, or 1. */
static int
erasures_check(struct verify *v)
{
	size_t i;

	if (v->redacted.n > 1)
		qsort(v->redacted.v, v->redacted.n, sizeof(int64_t), id_cmp);
	for (i = 0; i < v->erased.n; i++) {
		if (id_set_has(&v->redacted, v->erased.v[i]))
			continue;
		snprintf(v->rep->why, sizeof(v->rep->why), "the audit key of"
		    " customer %" PRId64 " was erased without a redaction"
		    " row: rows were blanked outside segctl and segfeed",
		    v->erased.v[i]);
		v->rep->bad_seq = -1;
		return 1;
	}
	return 0;
}

static int
verify_row(const struct store_audit *a, void *arg)
{
	struct verify *v = arg;
	struct audit_report *rep = v->rep;
	char hash[AUDIT_HASH_LEN + 1];

	rep->rows++;
	if (strcmp(a->prev_hash, v->prev) != 0 || a->seq != v->prev_seq + 1) {
		rep->bad_seq = a->seq;
		snprintf(rep->why, sizeof(rep->why), "row %" PRId64 " does not"
		    " follow row %" PRId64 ": rows were deleted, inserted or"
		    " reordered", a->seq, v->prev_seq);
		return 1;
	}
	audit_hash(v->hasher, a, hash);
	if (strcmp(hash, a->hash) != 0) {
		rep->bad_seq = a->seq;
		snprintf(rep->why, sizeof(rep->why), "row %" PRId64 " does not"
		    " match its hash: it was edited", a->seq);
		return 1;
	}
	if (verify_personal(v, a) != 0)
		return 1;
	/* archived rows left the time index with the store */
	if (v->archive == NULL)
		hours_note(v, a);
	snprintf(v->prev, sizeof(v->prev), "%s", a->hash);
	v->prev_seq = a->seq;
	rep->head.seq = a->seq;
	memcpy(rep->head.hash, v->prev, sizeof(rep->head.hash));
	for (; v->next < v->nanchors && v->anchors[v->next].seq <= a->seq;
	    v->next++) {
		if (v->anchors[v->next].seq == a->seq &&
		    strcmp(v->anchors[v->next].hash, a->hash) == 0) {
			rep->anchors_found++;
			rep->anchor_last = a->seq;
			continue;
		}
		rep->bad_seq = a->seq;
		snprintf(rep->why, sizeof(rep->why), "row %" PRId64 " is not"
		    " the row the log recorded (audit=%" PRId64 ":%.16s...):"
		    " the chain was rewritten", a->seq,
		    v->anchors[v->next].seq, v->anchors[v->next].hash);
		return 1;
	}
	return 0;
}

static int
anchor_cmp(const void *pa, const void *pb)
{
	const struct audit_anchor *a = pa, *b = pb;

	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void
audit_anchor_format(const struct audit_chain *ch, char *out, size_t len)
{
	snprintf(out, len, "audit=%" PRId64 ":%s", ch->seq, ch->hash);
}

int
audit_anchor_parse(const char *s, struct audit_anchor *a)
{
	const char *colon;
	char *end;
	size_t n;

	/* as audit_anchor_format writes it: no sign, no leading zero */
	if (*s < '1' || *s > '9')
		return -1;
	/* past INT64_MAX strtoll says INT64_MAX: a head no chain has */
	errno = 0;
	a->seq = strtoll(s, &end, 10);
	colon = end;
	if (*colon != ':' || a->seq <= 0 || errno == ERANGE)
		return -1;
	n = strspn(colon + 1, "0123456789abcdef");
	if (n != AUDIT_HASH_LEN || colon[1 + n] != '\0')
		return -1;
	memcpy(a->hash, colon + 1, AUDIT_HASH_LEN);
	a->hash[AUDIT_HASH_LEN] = '\0';
	return 0;
}

/*
 * The programs whose lines carry heads: segmilter (and its outbox), and
 * segfeed(8), which logs under its own name with a request's id in place
 * of the queue id.
 */
static const char *const anchor_tags[] = { "segmilter[", "segfeed[" };
#define NANCHOR_TAGS	(sizeof(anchor_tags) / sizeof(anchor_tags[0]))

/*
 * Whether P (up to END) starts an anchor's line as one of ours writes it,
 * TAG (anchor_tags) already found there: "segmilter[PID]: QID: ",
 * "segmilter[PID]: outbox: job N: " or "segfeed[PID]: ID: ".  Any program
 * may write to the mail log, and a recipient's address or a header value
 * appears in other lines: only our own are heads.
 */
static const char *
anchor_prefix(const char *tag, const char *p, const char *end)
{
	static const char job[] = "outbox: job ";
	size_t tlen = strlen(tag);
	const char *q;

	if ((size_t)(end - p) < tlen || memcmp(p, tag, tlen) != 0)
		return NULL;
	for (q = p + tlen; q < end && *q >= '0' && *q <= '9'; q++)
		;
	if (q == p + tlen || end - q < 3 || memcmp(q, "]: ", 3))
		return NULL;
	q += 3;
	if ((size_t)(end - q) >= sizeof(job) - 1 &&
	    memcmp(q, job, sizeof(job) - 1) == 0) {
		for (p = q += sizeof(job) - 1; q < end && *q >= '0' &&
		    *q <= '9'; q++)
			;
	} else {
		for (p = q; q < end && ((*q >= '0' && *q <= '9') ||
		    (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'));
		    q++)
			;
	}
	if (q == p || end - q < 2 || memcmp(q, ": ", 2) != 0)
		return NULL;
	return q + 2;
}

/* The head the line LINE (up to END) ends with into *A: 1, or 0. */
static int
line_anchor(const char *line, const char *end, struct audit_anchor *a)
{
	/* "audit=", up to 19 digits, ':', 64 hex digits, and a NUL */
	char word[6 + 19 + 1 + AUDIT_HASH_LEN + 1];
	const char *p, *at;
	size_t t;

	/* the head ends the line: "...: audit=SEQ:HASH" */
	for (t = 0; t < NANCHOR_TAGS; t++)
		for (p = line; (p = memmem(p, (size_t)(end - p),
		    anchor_tags[t], strlen(anchor_tags[t]))) != NULL; p++) {
			if ((at = anchor_prefix(anchor_tags[t], p, end)) ==
			    NULL || end - at < 6 ||
			    memcmp(at, "audit=", 6) != 0 ||
			    (size_t)(end - at) >= sizeof(word))
				continue;
			memcpy(word, at + 6, (size_t)(end - at) - 6);
			word[end - at - 6] = '\0';
			if (audit_anchor_parse(word, a) == -1)
				continue;
			return 1;
		}
	return 0;
}

void
audit_anchors_scan(const char *text, size_t len, struct audit_anchor **out,
    size_t *n, size_t *cap)
{
	const char *end = text + len, *line, *eol;
	struct audit_anchor a;
	size_t k;

	for (line = text; line < end; line = eol + 1) {
		if ((eol = memchr(line, '\n', (size_t)(end - line))) == NULL)
			eol = end;
		k = (size_t)(eol - line);
		if (k > 0 && line[k - 1] == '\r')
			k--;
		if (line_anchor(line, line + k, &a)) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				*out = xreallocarray(*out, *cap, sizeof(**out));
			}
			(*out)[(*n)++] = a;
		}
		if (eol == end)
			break;
	}
}

/* A row of an archive: as one of the store, its file named if bad. */
static int
verify_archived(const struct store_audit *a, void *arg)
{
	struct verify *v = arg;
	char *why = v->rep->why, prefix[STORE_ARCHIVE_NAME_MAX + 16];
	size_t n, len;

	if (verify_row(a, v) == 0)
		return 0;
	n = (size_t)snprintf(prefix, sizeof(prefix), "archive %s: ",
	    v->archive);
	if ((len = strlen(why)) > sizeof(v->rep->why) - n - 1)
		len = sizeof(v->rep->why) - n - 1;
	memmove(why + n, why, len);
	memcpy(why, prefix, n);
	why[n + len] = '\0';
	return 1;
}

/* The archives in DIR, in chain order, through verify_row.  0, 1, -1. */
static int
verify_archives(struct store *st, const char *dir, struct verify *v)
{
	struct store_audit_archive *recs;
	size_t n, i;
	int rc = 0;

	if (store_audit_archives(st, &recs, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		v->archive = recs[i].name;
		rc = audit_archive_read(st, dir, &recs[i], 0, verify_archived,
		    v, v->rep->why, sizeof(v->rep->why));
		if (rc == 1 && v->rep->bad_seq == 0)
			v->rep->bad_seq = recs[i].first_seq;
		v->rep->archives++;
	}
	v->archive = NULL;
	free(recs);
	return rc;
}

int
audit_verify(struct store *st, const char *dir,
    const struct audit_anchor *anchors, size_t n, struct audit_report *rep)
{
	struct verify v;
	int rc;

	memset(rep, 0, sizeof(*rep));
	memset(&v, 0, sizeof(v));
	v.rep = rep;
	if (n > 0) {
		v.anchors = xreallocarray(NULL, n, sizeof(*v.anchors));
		memcpy(v.anchors, anchors, n * sizeof(*v.anchors));
		qsort(v.anchors, n, sizeof(*v.anchors), anchor_cmp);
		v.nanchors = n;
	}
	v.hasher = audit_hasher_new();
	/*
	 * One snapshot: an archive run pruning meanwhile would otherwise
	 * take rows from the store after their file was passed over.
	 */
	if ((rc = store_begin_read(st)) == -1) {
		audit_hasher_free(v.hasher);
		free(v.anchors);
		return -1;
	}
	if ((rc = verify_archives(st, dir, &v)) == 0)
		rc = store_audit_scan(st, INT64_MIN, verify_row, &v);
	audit_hasher_free(v.hasher);
	if (rc == 0 && v.next < v.nanchors) {
		rep->bad_seq = rep->head.seq + 1;
		snprintf(rep->why, sizeof(rep->why), "the log recorded row %"
		    PRId64 " (audit=%" PRId64 ":%.16s...), but the chain ends"
		    " at row %" PRId64 ": rows were cut off",
		    v.anchors[v.nanchors - 1].seq,
		    v.anchors[v.nanchors - 1].seq,
		    v.anchors[v.nanchors - 1].hash, rep->head.seq);
		rc = 1;
	}
	free(v.anchors);
	if (rc == 0)
		rc = erasures_check(&v);
	if (rc == 0)
		rc = hours_check(st, &v);
	/* a read transaction: the error, if any, was set before */
	if (rc == -1)
		store_rollback(st);
	else if (store_commit(st) == -1)
		rc = -1;
	free(v.hours);
	free(v.erased.v);
	free(v.redacted.v);
	return rc == -1 ? -1 : rc != 0;
}

static void
json_string(FILE *out, const char *s)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)(s ? s : ""); *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

struct export {
	FILE	*out;
	int64_t	 rows;
	int64_t	 since;
};

static int
export_row(const struct store_audit *a, void *arg)
{
	struct export *x = arg;
	char at[32];

	/* the store's rows come filtered; an archive's all come */
	if (a->at < x->since)
		return 0;
	format_time(a->at, at, sizeof(at));
	fprintf(x->out, "{\"seq\":%" PRId64 ",\"at\":\"%s\",\"channel\":",
	    a->seq, at);
	json_string(x->out, a->channel);
	fputs(",\"queue_id\":", x->out);
	json_string(x->out, a->queue_id);
	fputs(",\"message_id\":", x->out);
	json_string(x->out, a->message_id);
	fputs(",\"campaign\":", x->out);
	json_string(x->out, a->campaign_id);
	fputs(",\"recipient\":", x->out);
	json_string(x->out, a->recipient);
	if (a->customer_id != 0)
		fprintf(x->out, ",\"customer_id\":%" PRId64, a->customer_id);
	else
		fputs(",\"customer_id\":null", x->out);
	fputs(",\"decision\":", x->out);
	json_string(x->out, a->decision);
	fputs(",\"detail\":", x->out);
	json_string(x->out, a->detail);
	fputs(",\"segment\":", x->out);
	json_string(x->out, a->segment);
	fputs(",\"variant\":", x->out);
	json_string(x->out, a->variant);
	fputs(",\"consent\":", x->out);
	json_string(x->out, a->consent);
	fputs(",\"config_hash\":", x->out);
	json_string(x->out, a->config_hash);
	fprintf(x->out, ",\"form\":%d,\"seal\":", a->form);
	json_string(x->out, a->seal);
	/* what the erasure blanked: sealed rows, not the redaction's own */
	if (audit_sealed(a) && a->key->state == AUDIT_KEY_ERASED)
		fputs(",\"redacted\":true", x->out);
	fputs(",\"prev_hash\":", x->out);
	json_string(x->out, a->prev_hash);
	fputs(",\"hash\":", x->out);
	json_string(x->out, a->hash);
	fputs("}\n", x->out);
	x->rows++;
	return ferror(x->out) ? 1 : 0;
}

int64_t
audit_export(struct store *st, const char *dir, int64_t since, FILE *out,
    char *why, size_t len)
{
	struct export x = { out, 0, since };
	struct store_audit_archive *recs;
	size_t n, i;
	int rc = 0;

	/* one snapshot, as audit_verify's */
	if (store_begin_read(st) == -1) {
		snprintf(why, len, "%s", store_error(st));
		return -1;
	}
	if ((rc = store_audit_archives(st, &recs, &n)) == 0) {
		for (i = 0; i < n && rc == 0; i++)
			if (recs[i].max_at >= since)
				rc = audit_archive_read(st, dir, &recs[i], 1,
				    export_row, &x, why, len);
		free(recs);
	}
	if (rc == 0)
		rc = store_audit_scan(st, since, export_row, &x);
	if (rc == -1)
		snprintf(why, len, "%s", store_error(st));
	else if (rc != 0 && ferror(out))
		snprintf(why, len, "%s", strerror(errno));
	if (rc != 0)
		store_rollback(st);
	else if (store_commit(st) == -1) {
		snprintf(why, len, "%s", store_error(st));
		rc = -1;
	}
	return rc == 0 ? x.rows : -1;
}
