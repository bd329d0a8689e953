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

#include <openssl/evp.h>

#include "audit.h"
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

static struct audit_hasher *
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

static void
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

/* The hash of A given A->prev_hash, into OUT (65 bytes). */
static void
audit_hash(struct audit_hasher *h, const struct store_audit *a, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	struct hash_input in;
	unsigned int n;

	in.md = h->md;
	in.len = 0;
	EVP_DigestInit_ex2(in.md, digest_sha256(), NULL);
	hash_int(&in, a->seq);
	hash_int(&in, a->at);
	hash_field(&in, a->channel);
	hash_field(&in, a->queue_id);
	hash_field(&in, a->message_id);
	hash_field(&in, a->campaign_id);
	hash_field(&in, a->recipient);
	hash_int(&in, a->customer_id);
	hash_field(&in, a->decision);
	hash_field(&in, a->detail);
	hash_field(&in, a->segment);
	hash_field(&in, a->variant);
	hash_field(&in, a->consent);
	hash_field(&in, a->config_hash);
	hash_field(&in, a->prev_hash);
	EVP_DigestUpdate(in.md, in.buf, in.len);
	EVP_DigestFinal_ex(in.md, d, &n);
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

int
audit_append(struct store *st, struct audit_chain *ch, struct store_audit *a)
{
	char hash[AUDIT_HASH_LEN + 1];
	int64_t hour = store_audit_hour(a->at);

	a->seq = ch->seq + 1;
	a->prev_hash = ch->hash;
	audit_hash(ch->hasher, a, hash);
	a->hash = hash;
	if (store_audit_append(st, a) == -1)
		return -1;
	/* no mark when the row before was of this hour: it has one */
	if (hour != ch->hour && store_audit_mark(st, hour, a->seq) == -1)
		return -1;
	ch->hour = hour;
	ch->seq = a->seq;
	memcpy(ch->hash, hash, sizeof(hash));
	a->prev_hash = a->hash = NULL;
	return 0;
}

/* The first row of an hour, as the rows show it. */
struct hour_first {
	int64_t	 hour;
	int64_t	 seq;
	int64_t	 at;
};

struct verify {
	struct audit_report	*rep;
	struct audit_hasher	*hasher;
	struct audit_anchor	*anchors;	/* sorted by seq */
	size_t			 nanchors, next;
	char			 prev[AUDIT_HASH_LEN + 1];
	int64_t			 prev_seq;
	struct hour_first	*hours;		/* one per change of hour */
	size_t			 nhours, hours_cap;
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

int
audit_verify(struct store *st, const struct audit_anchor *anchors, size_t n,
    struct audit_report *rep)
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
		rc = hours_check(st, &v);
	free(v.hours);
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
};

static int
export_row(const struct store_audit *a, void *arg)
{
	struct export *x = arg;
	char at[32];

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
	fputs(",\"prev_hash\":", x->out);
	json_string(x->out, a->prev_hash);
	fputs(",\"hash\":", x->out);
	json_string(x->out, a->hash);
	fputs("}\n", x->out);
	x->rows++;
	return ferror(x->out) ? -1 : 0;
}

int64_t
audit_export(struct store *st, int64_t since, FILE *out)
{
	struct export x = { out, 0 };

	if (store_audit_scan(st, since, export_row, &x) != 0)
		return -1;
	return x.rows;
}
