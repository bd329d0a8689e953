/*
 * import.c - the import driver: header detection, batching, reporting.
 *
 * Formats (customers.c, orders.c, ...) see one record at a time through
 * struct import_ctx; this file owns the CSV reader, the transactions, the
 * progress bar and every FILE:LINE message, so all formats report alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvpipe.h"
#include "import_int.h"
#include "progress.h"
#include "str.h"
#include "utf8.h"
#include "xalloc.h"

#define IMPORT_BATCH	50000	/* records per transaction, not strict */

static const char *const kind_names[IMPORT_KIND_COUNT] = {
	"customers", "orders", "products", "events", "consent", "engagement",
	"optout"
};

/* Shopify's exports first: they are recognised by a signature column. */
static const struct import_format *const formats[] = {
	&import_customers_shopify, &import_customers_native,
	&import_orders_shopify, &import_orders_native,
	&import_products_shopify, &import_products_native,
	&import_events_native, &import_consent_native,
	&import_engagement_native, &import_optout_native,
};

const char *
import_kind_name(enum import_kind kind)
{
	return kind_names[kind];
}

int
import_kind_parse(const char *name, enum import_kind *out)
{
	int i;

	for (i = 0; i < IMPORT_KIND_COUNT; i++)
		if (strcmp(name, kind_names[i]) == 0) {
			*out = (enum import_kind)i;
			return 0;
		}
	return -1;
}

const char *
import_col(const struct import_ctx *ctx, int c)
{
	int i = ctx->idx[c];

	if (i < 0 || (size_t)i >= ctx->row.nfields)
		return "";
	return ctx->row.fields[i];
}

const char *
import_opt(const struct import_ctx *ctx, int c)
{
	const char *v = import_col(ctx, c);

	return *v != '\0' ? v : NULL;
}

static void
import_vreport(struct import_ctx *ctx, unsigned long line, const char *kind,
    const char *fmt, va_list ap)
{
	FILE *out = ctx->opts->report;
	char text[2048];

	if (out == NULL)
		return;
	/*
	 * The values quoted come from the file, and so from whoever wrote
	 * them (a customer's name in a shop's export): one line each, no
	 * terminal escape, as daemon_log does.
	 */
	vsnprintf(text, sizeof(text), fmt, ap);
	str_mask_controls(text);
	if (ctx->opts->progress)
		progress_clear(&ctx->bar);
	fprintf(out, "%s:%lu: %s%s\n", ctx->path, line, kind, text);
}

int
import_bad(struct import_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	import_vreport(ctx, ctx->row.line, "", fmt, ap);
	va_end(ap);
	ctx->stats->bad++;
	return 1;
}

void
import_warn(struct import_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	import_vreport(ctx, ctx->row.line, "warning: ", fmt, ap);
	va_end(ap);
	ctx->stats->warnings++;
}

void
import_warn_at(struct import_ctx *ctx, unsigned long line, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	import_vreport(ctx, line, "warning: ", fmt, ap);
	va_end(ap);
	ctx->stats->warnings++;
}

int
import_store_fail(struct import_ctx *ctx)
{
	snprintf(ctx->err, sizeof(ctx->err), "%s:%lu: store: %s", ctx->path,
	    ctx->row.line, store_error(ctx->st));
	return -1;
}

void
import_tally(struct import_ctx *ctx, enum store_change ch)
{
	if (ch == STORE_INSERTED)
		ctx->stats->inserted++;
	else if (ch == STORE_UPDATED)
		ctx->stats->updated++;
	else
		ctx->stats->unchanged++;
}

void
import_tally_batch(struct import_ctx *ctx, size_t n, int64_t inserted)
{
	ctx->stats->inserted += inserted;
	ctx->stats->unchanged += (int64_t)n - inserted;
}

int
import_customer(struct import_ctx *ctx, const char *email, int64_t *id)
{
	enum store_change ch;

	if (strcmp(email, ctx->last_email) == 0) {
		*id = ctx->last_id;
		return 0;
	}
	if (store_customer_ensure(ctx->st, email, id, &ch) == -1)
		return import_store_fail(ctx);
	str_copy(ctx->last_email, sizeof(ctx->last_email), email);
	ctx->last_id = *id;
	return 0;
}

/*
 * The keys of this file's records, as 64-bit FNV-1a fingerprints with the
 * line that had each first: 12 bytes a customer, against a full copy of
 * a million addresses.  Two addresses that share a fingerprint (about one
 * chance in 10^7 in a file of that size) give a wrong warning, nothing
 * worse.
 */
struct import_seen {
	uint64_t	*keys;		/* 0: an empty slot */
	unsigned long	*lines;
	size_t		 n, cap;	/* cap a power of two */
};

static uint64_t
import_fingerprint(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*key != '\0')
		h = (h ^ (unsigned char)*key++) * 0x100000001b3ULL;
	return h != 0 ? h : 1;
}

static void
import_seen_grow(struct import_seen *set)
{
	struct import_seen bigger;
	size_t i, j;

	bigger.cap = set->cap ? set->cap * 2 : 1024;
	bigger.n = set->n;
	bigger.keys = xcalloc(bigger.cap, sizeof(*bigger.keys));
	bigger.lines = xcalloc(bigger.cap, sizeof(*bigger.lines));
	for (i = 0; i < set->cap; i++) {
		if (set->keys[i] == 0)
			continue;
		j = set->keys[i] & (bigger.cap - 1);
		while (bigger.keys[j] != 0)
			j = (j + 1) & (bigger.cap - 1);
		bigger.keys[j] = set->keys[i];
		bigger.lines[j] = set->lines[i];
	}
	free(set->keys);
	free(set->lines);
	*set = bigger;
}

unsigned long
import_seen(struct import_ctx *ctx, const char *key)
{
	struct import_seen *set;
	uint64_t h = import_fingerprint(key);
	size_t i;

	if (ctx->seen == NULL)
		ctx->seen = xcalloc(1, sizeof(*ctx->seen));
	set = ctx->seen;
	if (2 * (set->n + 1) > set->cap)
		import_seen_grow(set);
	for (i = h & (set->cap - 1); set->keys[i] != 0;
	    i = (i + 1) & (set->cap - 1))
		if (set->keys[i] == h)
			return set->lines[i];
	set->keys[i] = h;
	set->lines[i] = ctx->row.line;
	set->n++;
	return 0;
}

static void
import_seen_free(struct import_seen *set)
{
	if (set == NULL)
		return;
	free(set->keys);
	free(set->lines);
	free(set);
}

int
import_email(struct import_ctx *ctx, int c, char *out, size_t outlen)
{
	const char *why, *v = import_col(ctx, c);

	if (*v == '\0')
		return import_bad(ctx, "%s: missing",
		    ctx->fmt->cols[c].names[0]);
	if (parse_email(v, out, outlen, &why) == -1)
		return import_bad(ctx, "%s: '%s': %s",
		    ctx->fmt->cols[c].names[0], v, why);
	return 0;
}

static int
import_header_has(const struct csv_row *hdr, const char *name)
{
	size_t i;

	for (i = 0; i < hdr->nfields; i++)
		if (strcasecmp(hdr->fields[i], name) == 0)
			return 1;
	return 0;
}

static const struct import_format *
import_detect(enum import_kind kind, const struct csv_row *hdr)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (formats[i]->kind != kind)
			continue;
		if (formats[i]->signature == NULL ||
		    import_header_has(hdr, formats[i]->signature))
			return formats[i];
	}
	return NULL;
}

/*
 * Maps header names to positions.  The native formats are ours, so an
 * unknown column there is a typo worth stopping for; Shopify's exports
 * carry many columns we do not use.
 */
static int
import_map_header(struct import_ctx *ctx, const struct csv_row *hdr)
{
	const struct import_format *f = ctx->fmt;
	size_t c, i, n;
	int known;

	for (c = 0; c < f->ncols; c++)
		ctx->idx[c] = -1;
	for (i = 0; i < hdr->nfields; i++) {
		known = 0;
		for (c = 0; c < f->ncols; c++)
			for (n = 0; n < 3 && f->cols[c].names[n]; n++)
				if (strcasecmp(hdr->fields[i],
				    f->cols[c].names[n]) == 0 &&
				    ctx->idx[c] == -1) {
					ctx->idx[c] = (int)i;
					known = 1;
				}
		if (!known && f->signature == NULL) {
			snprintf(ctx->err, sizeof(ctx->err), "%s:%lu: unknown"
			    " column '%s' in a %s file", ctx->path, hdr->line,
			    hdr->fields[i], f->name);
			return -1;
		}
	}
	for (c = 0; c < f->ncols; c++)
		if (f->cols[c].required && ctx->idx[c] == -1) {
			snprintf(ctx->err, sizeof(ctx->err), "%s:%lu: %s: no"
			    " '%s' column", ctx->path, hdr->line, f->name,
			    f->cols[c].names[0]);
			return -1;
		}
	for (c = 0; f->if_missing != NULL && c < f->ncols; c++)
		if (f->if_missing[c] != NULL && ctx->idx[c] == -1)
			import_warn_at(ctx, hdr->line, "no '%s' column: %s",
			    f->cols[c].names[0], f->if_missing[c]);
	return 0;
}

/* S without the blanks around it; trims in place. */
static char *
import_trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/*
 * Removes the control characters of S in place and returns how many
 * there were: C0, DEL and C1 (U+0080..U+009F, the bytes C2 80..C2 9F in
 * UTF-8, which the CSV reader checked).  A tab or line break between
 * words leaves one space, as a name typed over two lines of a form is
 * still two words.
 */
static size_t
import_strip_controls(char *s)
{
	const unsigned char *r = (const unsigned char *)s;
	char *w = s;
	size_t n, removed = 0;
	int gap = 0;

	while (*r != '\0') {
		n = 0;
		if (*r < 0x20 || *r == 0x7f)
			n = 1;
		else if (*r == 0xc2 && r[1] >= 0x80 && r[1] <= 0x9f)
			n = 2;
		if (n > 0) {
			removed++;
			/* tab, LF, VT, FF, CR; NEL (U+0085) */
			gap |= (n == 1 && *r >= '\t' && *r <= '\r') ||
			    (n == 2 && r[1] == 0x85);
			r += n;
			continue;
		}
		if (gap && w > s && w[-1] != ' ' && *r != ' ')
			*w++ = ' ';
		gap = 0;
		*w++ = (char)*r++;
	}
	*w = '\0';
	return removed;
}

const char *
import_text(struct import_ctx *ctx, int c, size_t max)
{
	const char *name = ctx->fmt->cols[c].names[0];
	char *v;
	size_t removed, len;
	int i = ctx->idx[c];

	if (i < 0 || (size_t)i >= ctx->row.nfields)
		return NULL;
	v = ctx->row.fields[i];
	if ((removed = import_strip_controls(v)) > 0) {
		v = ctx->row.fields[i] = import_trim(v);
		import_warn(ctx, "%s: %zu control character%s removed", name,
		    removed, removed == 1 ? "" : "s");
	}
	len = strlen(v);
	if (max > 0 && len > max) {
		v[utf8_cut(v, len, max)] = '\0';
		v = ctx->row.fields[i] = import_trim(v);
		import_warn(ctx, "%s: longer than %zu bytes, cut to %zu", name,
		    max, strlen(v));
	}
	return *v != '\0' ? v : NULL;
}

/* Trims the fields the format reads: most of a wide export is not. */
static void
import_trim_used(struct import_ctx *ctx)
{
	size_t c;
	int i;

	for (c = 0; c < ctx->fmt->ncols; c++)
		if ((i = ctx->idx[c]) >= 0)
			ctx->row.fields[i] = import_trim(ctx->row.fields[i]);
}

/* Reads every data record from PIPE; 0 at end of file, -1 fatal. */
static int
import_read(struct import_ctx *ctx, struct csv_pipe *pipe, size_t nheader,
    unsigned long long size)
{
	int64_t batch = 0;
	int rc;

	while ((rc = csv_pipe_next(pipe, &ctx->row)) == 1) {
		if (ctx->row.nfields == 1 && ctx->row.fields[0][0] == '\0' &&
		    ctx->row.error == NULL)
			continue;	/* blank line */
		ctx->stats->records++;
		if (ctx->row.error != NULL)
			import_bad(ctx, "%s", ctx->row.error);
		else if (ctx->row.nfields != nheader)
			import_bad(ctx, "expected %zu fields, found %zu",
			    nheader, ctx->row.nfields);
		else {
			import_trim_used(ctx);
			if (ctx->fmt->record(ctx) == -1)
				return -1;
		}
		if (!ctx->opts->strict && ++batch >= IMPORT_BATCH) {
			batch = 0;
			if (ctx->fmt->flush != NULL && ctx->fmt->flush(ctx) == -1)
				return -1;
			if (store_commit(ctx->st) == -1 ||
			    store_begin(ctx->st) == -1)
				return import_store_fail(ctx);
		}
		if (ctx->opts->progress && (ctx->stats->records & 4095) == 0)
			progress_draw(&ctx->bar, csv_pipe_offset(pipe), size,
			    ctx->stats->records);
	}
	if (rc == -1) {
		snprintf(ctx->err, sizeof(ctx->err), "%s",
		    csv_pipe_strerror(pipe));
		return -1;
	}
	return 0;
}

/* Reads the records after the header; 0 at end of file, -1 fatal. */
static int
import_records(struct import_ctx *ctx, struct csv_reader *csv,
    size_t nheader)
{
	struct csv_pipe *pipe;
	int rc;

	/* the file is tokenised ahead, on the other core */
	if ((pipe = csv_pipe_start(csv)) == NULL) {
		snprintf(ctx->err, sizeof(ctx->err), "%s: thread: %s",
		    ctx->path, strerror(errno));
		return -1;
	}
	rc = import_read(ctx, pipe, nheader, csv_size(csv));
	csv_pipe_stop(pipe);
	if (rc == 0 && ctx->fmt->finish != NULL && ctx->fmt->finish(ctx) == -1)
		return -1;
	return rc;
}

int
import_file(struct store *st, enum import_kind kind, const char *path,
    const struct import_opts *opts, struct import_stats *stats, char *err,
    size_t errlen)
{
	struct import_ctx ctx;
	struct csv_reader *csv;
	char source[320];
	size_t nheader, i;
	int rc;

	memset(stats, 0, sizeof(*stats));
	memset(&ctx, 0, sizeof(ctx));
	ctx.st = st;
	ctx.opts = opts;
	ctx.stats = stats;
	ctx.path = path;
	progress_start(&ctx.bar, opts->report, path, "records");

	if ((csv = csv_open(path, err, errlen)) == NULL)
		return -1;
	rc = csv_next(csv, &ctx.row);
	if (rc != 1 || ctx.row.error != NULL) {
		snprintf(err, errlen, "%s: %s", path, rc == -1 ?
		    csv_strerror(csv) : rc == 0 ? "empty file, no header row" :
		    ctx.row.error);
		csv_close(csv);
		return -1;
	}
	for (i = 0; i < ctx.row.nfields; i++)
		ctx.row.fields[i] = import_trim(ctx.row.fields[i]);
	if ((ctx.fmt = import_detect(kind, &ctx.row)) == NULL ||
	    import_map_header(&ctx, &ctx.row) == -1) {
		snprintf(err, errlen, "%s", ctx.err);
		csv_close(csv);
		return -1;
	}
	stats->format = ctx.fmt->name;
	nheader = ctx.row.nfields;

	snprintf(source, sizeof(source), "import %s %s",
	    import_kind_name(kind), path);
	if (store_begin(st) == -1 ||
	    store_source_begin(st, source, opts->now) == -1) {
		snprintf(err, errlen, "%s: store: %s", path, store_error(st));
		store_rollback(st);
		csv_close(csv);
		return -1;
	}
	rc = import_records(&ctx, csv, nheader);
	if (opts->progress)
		progress_clear(&ctx.bar);
	if (ctx.fmt->cleanup != NULL)
		ctx.fmt->cleanup(&ctx);
	free(ctx.state);
	import_seen_free(ctx.seen);
	csv_close(csv);

	if (rc == 0 && opts->strict && stats->bad > 0) {
		stats->rolled_back = 1;
		rc = store_rollback(st);
	} else if (rc == 0) {
		rc = store_commit(st);
	} else {
		store_rollback(st);
	}
	store_source_end(st);
	if (rc == -1) {
		snprintf(err, errlen, "%s", ctx.err[0] ? ctx.err :
		    store_error(st));
		return -1;
	}
	return 0;
}
