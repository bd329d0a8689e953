/*
 * import - reading store exports into the store.
 *
 * One entry point per file: import_file() detects the format from the
 * header row (the project's own columns, documented in segctl(1), or the
 * Shopify customers, orders and products exports as Shopify writes them),
 * then reads every record.  A record that cannot be used is reported as
 * FILE:LINE: reason on the report stream and skipped; the import goes on.
 * With strict set, the whole file is one transaction that is rolled back if
 * any record was bad, so nothing of it is imported.  Otherwise rows are
 * committed in batches.
 *
 * Everything is upserted by natural key, so importing the same file twice
 * changes nothing; the stats say what changed.
 */
#ifndef SEGM_IMPORT_H
#define SEGM_IMPORT_H

#include <stdint.h>
#include <stdio.h>

struct store;
struct conf;

enum import_kind {
	IMPORT_CUSTOMERS,
	IMPORT_ORDERS,
	IMPORT_PRODUCTS,
	IMPORT_EVENTS,
	IMPORT_CONSENT,
	IMPORT_ENGAGEMENT,
	IMPORT_OPTOUT,		/* SMS replies: STOP and the like */
	IMPORT_KIND_COUNT
};

struct import_opts {
	int		 strict;
	int		 progress;	/* draw a progress bar on REPORT */
	FILE		*report;	/* bad rows and warnings go here */
	int64_t		 now;		/* time of consent from exports */
};

struct import_stats {
	const char	*format;	/* "shopify customers export", ... */
	int64_t		 records;	/* data records read */
	int64_t		 inserted;
	int64_t		 updated;
	int64_t		 unchanged;
	int64_t		 skipped;	/* usable but not importable */
	int64_t		 bad;
	int64_t		 warnings;
	int		 rolled_back;	/* strict and bad > 0 */
};

/*
 * Returns 0 when the file was read to the end (bad records may have been
 * skipped: see stats->bad), -1 on a fatal error (unreadable file, unknown
 * header, store failure) with ERR filled.
 */
int	 import_file(struct store *st, enum import_kind kind, const char *path,
	    const struct import_opts *opts, struct import_stats *stats,
	    char *err, size_t errlen);

const char *import_kind_name(enum import_kind kind);
int	 import_kind_parse(const char *name, enum import_kind *out);

#endif
