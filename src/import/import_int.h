/*
 * import_int.h - what the files of src/import/ share.
 *
 * A format is a table of the columns it knows, the header column that
 * identifies it, and a function called for each data record.  The driver
 * (import.c) maps header names to positions, so formats read columns by
 * their own enum and never by position; Shopify's older and newer names
 * for one column are listed side by side.
 */
#ifndef SEGM_IMPORT_INT_H
#define SEGM_IMPORT_INT_H

#include <stdint.h>

#include "csv.h"
#include "import.h"
#include "parse.h"
#include "progress.h"
#include "store_record.h"

#define IMPORT_MAX_COLS	32

struct import_column {
	const char	*names[3];	/* accepted header names */
	int		 required;
};

struct import_ctx;
struct import_seen;

struct import_format {
	const char		*name;
	enum import_kind	 kind;
	const char		*signature;	/* NULL: the native format */
	const struct import_column *cols;
	size_t			 ncols;
	/* 0 done, 1 bad (reported), -1 fatal (ctx->err set) */
	int			(*record)(struct import_ctx *ctx);
	/* writes what records left queued, before each batch's commit */
	int			(*flush)(struct import_ctx *ctx);
	int			(*finish)(struct import_ctx *ctx);
	/* frees what ctx->state points to; the state itself is freed
	 * by the import, after it (NULL: nothing more) */
	void			(*cleanup)(struct import_ctx *ctx);
	/*
	 * Per column, NULL or what a file without it loses (the column is
	 * not required, but its absence is a warning); NULL: nothing.
	 */
	const char *const	*if_missing;
};

struct import_ctx {
	struct store		*st;
	const struct import_opts *opts;
	struct import_stats	*stats;
	const char		*path;
	const struct import_format *fmt;
	int			 idx[IMPORT_MAX_COLS];	/* -1: absent */
	struct csv_row		 row;
	char			 err[512];
	void			*state;		/* the format's own */
	struct progress		 bar;		/* with opts->progress */
	struct import_seen	*seen;		/* import_seen()'s keys */

	/* consecutive records often name the same customer */
	char			 last_email[PARSE_EMAIL_MAX + 1];
	int64_t			 last_id;
};

/* Column C of the current record, trimmed; "" when absent. */
const char *import_col(const struct import_ctx *ctx, int c);
/* Column C or NULL when absent or empty. */
const char *import_opt(const struct import_ctx *ctx, int c);
/*
 * Column C as customer text, or NULL when absent or empty: its control
 * characters removed (a tab or line break between words leaves a space)
 * and, with MAX > 0, cut to at most MAX bytes where a character starts.
 * Each change is a warning, and the row is kept.  The field is changed
 * in place, so later reads of C see the clean text.
 */
const char *import_text(struct import_ctx *ctx, int c, size_t max);

/* Reports the current record as bad; returns 1. */
int	 import_bad(struct import_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 import_warn(struct import_ctx *ctx, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A warning about LINE rather than the current record (the header). */
void	 import_warn_at(struct import_ctx *ctx, unsigned long line,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets the fatal error from the store; returns -1. */
int	 import_store_fail(struct import_ctx *ctx);
void	 import_tally(struct import_ctx *ctx, enum store_change ch);
/* A batch of N records written many to a statement, INSERTED of them new
 * (INSERT OR IGNORE: the rest were there already). */
void	 import_tally_batch(struct import_ctx *ctx, size_t n,
	    int64_t inserted);

/* Customer id for EMAIL (already normalised), creating a bare one. */
int	 import_customer(struct import_ctx *ctx, const char *email,
	    int64_t *id);
/*
 * The line on which this file's records first had KEY (a normalised
 * email), or 0 when this record is its first: the current line is noted.
 */
unsigned long import_seen(struct import_ctx *ctx, const char *key);
/* Normalises column C as an email into OUT; 1 (reported) if bad. */
int	 import_email(struct import_ctx *ctx, int c, char *out, size_t outlen);

extern const struct import_format import_customers_native;
extern const struct import_format import_customers_shopify;
extern const struct import_format import_orders_native;
extern const struct import_format import_orders_shopify;
extern const struct import_format import_products_native;
extern const struct import_format import_products_shopify;
extern const struct import_format import_events_native;
extern const struct import_format import_consent_native;
extern const struct import_format import_engagement_native;
extern const struct import_format import_optout_native;

#endif
