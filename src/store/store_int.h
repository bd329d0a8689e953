/*
 * store_int.h - what the files of src/store/ share; not for other modules.
 *
 * Each statement has a slot in struct store, prepared on first use by
 * store_stmt() and reset after every use by the caller (store_done()), so
 * the SQL text sits beside the code that runs it.
 */
#ifndef SEGM_STORE_INT_H
#define SEGM_STORE_INT_H

#include <sys/types.h>
#include <time.h>

#include "db.h"
#include "store.h"
#include "store_audit.h"
#include "store_feedback.h"
#include "store_lookup.h"
#include "store_outbox.h"
#include "store_record.h"
#include "store_report.h"
#include "store_retention.h"
#include "store_segment.h"

enum store_stmt_id {
	SQ_BEGIN, SQ_BEGIN_IMMEDIATE, SQ_BEGIN_ROWS, SQ_COMMIT, SQ_ROLLBACK,
	SQ_CUST_FIND, SQ_CUST_INSERT, SQ_CUST_UPDATE, SQ_CUST_ENSURE,
	SQ_CUST_GET, SQ_CUST_EMAILS,
	SQ_PROD_FIND, SQ_PROD_INSERT, SQ_PROD_UPDATE,
	SQ_ORDER_FIND, SQ_ORDER_INSERT, SQ_ORDER_UPDATE,
	SQ_LINE_UPSERT, SQ_LINE_TRIM,
	/* statements of 1, 2, 4 ... rows: slot + log2 of the row count */
	SQ_MAX_ORDER,
	SQ_ORDER_ADD, SQ_LINE_ADD = SQ_ORDER_ADD + STORE_ORDERS_MANY_LOG2 + 1,
	SQ_LINE_ADD_END = SQ_LINE_ADD + STORE_LINES_MANY_LOG2,
	SQ_CONSENT_ADD,
	SQ_CONSENT_HISTORY_ADD = SQ_CONSENT_ADD + STORE_CONSENT_MANY_LOG2 + 1,
	SQ_CONSENT_HISTORY_ADD_END = SQ_CONSENT_HISTORY_ADD +
	    STORE_CONSENT_MANY_LOG2,
	SQ_EVENT_INSERT, SQ_EVENT_ADD,
	SQ_EVENT_ADD_END = SQ_EVENT_ADD + STORE_EVENTS_MANY_LOG2,
	SQ_CONSENT_GET, SQ_CONSENT_SET, SQ_CONSENT_HISTORY,
	SQ_ENG_INSERT, SQ_ENG_INSERT_MANY,
	SQ_ENG_SUMMARY = SQ_ENG_INSERT_MANY + STORE_ENGAGEMENT_MANY_LOG2 + 1,
	SQ_SEG_META, SQ_SEG_GET, SQ_SEG_INTERESTS, SQ_SEG_INTERESTS_MANY,
	SQ_RCPT_ENGAGEMENT, SQ_RCPT_DELIVERIES, SQ_RCPT_PROFILE,
	SQ_CUST_CAMPAIGNS, SQ_LEDGER_PUT,
	SQ_DELIVERIES_TRIM = SQ_LEDGER_PUT + STORE_LEDGER_MANY_LOG2 + 1,
	SQ_DELIVERY_WITHDRAW, SQ_DELIVERY_FORGET, SQ_DELIVERY_RECOUNT,
	SQ_DELIVERIES_WINDOW,
	SQ_CADENCE_SET,
	SQ_CADENCE_DEL,
	SQ_AUDIT_LAST, SQ_AUDIT_APPEND,
	SQ_AUDIT_SCAN = SQ_AUDIT_APPEND + STORE_AUDIT_MANY_LOG2 + 1,
	SQ_AUDIT_MARK,
	SQ_AUDIT_MARK_GET, SQ_AUDIT_FROM, SQ_AUDIT_KEY_GET, SQ_AUDIT_KEY_PUT, SQ_SOURCE_ADD, SQ_FACT_SOURCES,
	SQ_FACT_ORDERS, SQ_OUTCOMES, SQ_RECENT_CAMPAIGNS, SQ_REPORT, SQ_REPORT_BOUNCES,
	SQ_SEG_GENERATIONS, SQ_SEG_PUT, SQ_SEG_INTERESTS_DEL, SQ_SEG_INTERESTS_PUT,
	SQ_WEBHOOK_ORDER_CUSTOMER,
	SQ_OUTBOX_ADD, SQ_OUTBOX_BODY_ADD, SQ_OUTBOX_BODY_DROP,
	SQ_OUTBOX_RECOVER_BODIES, SQ_OUTBOX_CLAIM, SQ_OUTBOX_NEXT,
	SQ_OUTBOX_UPDATE,
	SQ_OUTBOX_SCAN, SQ_OUTBOX_GET, SQ_OUTBOX_GET_LOCKED, SQ_OUTBOX_RECOVER,
	SQ_OUTBOX_RECOVER_SENT, SQ_COPY_SEEN, SQ_COPY_WAS_SEEN, SQ_COPY_FORGET,
	SQ_OUTBOX_REF, SQ_OUTBOX_HOLD, SQ_SMS_FACTS, SQ_SMS_JOBS,
	SQ_PHONE_MARK, SQ_PHONE_CUSTOMERS,
	SQ_PHONE_OPTED_OUT, SQ_OUTBOX_LAST, SQ_OUTBOX_SMS_AFTER,
	/* webhook.c */
	SQ_WEBHOOK_SEEN, SQ_WEBHOOK_MARK, SQ_WEBHOOK_PRUNE, SQ_WEBHOOK_OBJ_GET,
	SQ_WEBHOOK_OBJ_SET, SQ_WEBHOOK_REFUND_ADD, SQ_WEBHOOK_REFUNDED_ADD,
	SQ_WEBHOOK_ORDER_REF,
	/* feedback.c */
	SQ_FEEDBACK_CUSTOMERS, SQ_FEEDBACK_QUEUED, SQ_FEEDBACK_REGRANT,
	SQ_FEEDBACK_JOB_ID, SQ_FEEDBACK_JOB_REF,
	/* retention.c */
	SQ_CAMPAIGN_CLOSED,
	SQ_COUNT
};

/*
 * Fills audit_hours from the audit rows (the hour rounded down, also
 * before 1970, as store_audit_hour): migration 7 and
 * store_audit_reindex.
 */
/*
 * Each campaign of the ledger, by a seek per campaign, as the table
 * "ledger_campaigns(id)": the ledger is keyed by campaign, so a
 * customer's rows are "campaign_id IN (SELECT id FROM ledger_campaigns)
 * AND customer_id = ?", a seek per campaign rather than a scan.
 */
#define STORE_LEDGER_CAMPAIGNS						\
	"WITH RECURSIVE ledger_campaigns(id) AS ("			\
	" SELECT min(campaign_id) FROM ledger UNION ALL"		\
	" SELECT (SELECT min(campaign_id) FROM ledger"			\
	"  WHERE campaign_id > ledger_campaigns.id)"			\
	" FROM ledger_campaigns WHERE id IS NOT NULL) "

/* The store's window (store_deliveries_window). */
int	 store_deliveries_secs(struct store *st, int64_t *secs);

#define STORE_AUDIT_HOURS_FILL	"INSERT INTO audit_hours"		\
	" SELECT (at - ((at % 3600) + 3600) % 3600) / 3600, min(seq)"	\
	" FROM audit GROUP BY 1;"

/*
 * PostgreSQL's advisory locks, fleet-wide: the writers' (store_begin),
 * the schema's (one relay migrates), the segment rebuild's (one at a
 * time).  The numbers are any, fixed.
 */
#define STORE_PG_WRITE_LOCK	"SELECT pg_advisory_xact_lock(1936025431)"

#define STORE_PG_SCHEMA_LOCK	"SELECT pg_advisory_xact_lock(1936025453)"
#define STORE_PG_REBUILD_KEY	"1936025442"	/* segments.c's, a session's */

/*
 * A write transaction without the writers' lock on PostgreSQL, for a
 * write whose rows' own locks keep it right (an outbox claim: FOR UPDATE
 * SKIP LOCKED), so that it does not wait for a message being recorded;
 * store_begin() on SQLite, whose writers have only the file's lock.
 */
int	 store_begin_rows(struct store *st);

struct store {
	struct db	*db;
	char		*path;		/* a file, or a PostgreSQL URI */
	char		*shown;		/* path as it may be shown */
	int		 readonly;
	dev_t		 dev;		/* the file opened */
	ino_t		 ino;
	char		 err[512];
	struct db_stmt	*stmt[SQ_COUNT];
	int64_t		 source_id;	/* store_source_begin; 0: none */
	char		 relay[STORE_RELAY_MAX]; /* store_set_relay */
	int		 rebuild_fd;	/* SQLite's rebuild lock, -1: none */
};

/* The statement for ID, prepared from SQL on first use; NULL on error. */
struct db_stmt *store_stmt(struct store *st, enum store_stmt_id id,
	    const char *sql);
/*
 * Another connection to ST's store, for reading while ST writes: its
 * own snapshot, waiting up to TIMEOUT_MS for locks.  0, or -1 with
 * store_error().
 */
int	 store_connect_reader(struct store *st, int64_t timeout_ms,
	    struct db **out);
/*
 * The statement for 2^LOG2 rows, in slot FIRST + LOG2: HEAD, then ROW
 * that many times, then TAIL.  Each size is prepared on its first use.
 * NULL with the error.
 */
struct db_stmt *store_rows_stmt(struct store *st, enum store_stmt_id first,
	    int log2, const char *head, const char *row, const char *tail);
/*
 * Log2 of the largest power of two not above N (N > 0) nor 2^MAX: N rows
 * are written in as many statements as N has bits set, past the largest.
 */
int	 store_rows_chunk(size_t n, int max);
/* Resets S (and clears its bindings) for the next use. */
void	 store_done(struct db_stmt *s);
/* Runs S to completion (no rows expected) and resets it; 0, or -1 with
 * the error prefixed with WHAT. */
int	 store_run(struct store *st, struct db_stmt *s, const char *what);
/*
 * Runs S, an INSERT ... RETURNING of one integer key, to completion and
 * resets it: 1 with *ID when a row went in, 0 when none did (ON CONFLICT
 * DO NOTHING), -1 with the error prefixed with WHAT.
 */
int	 store_run_id(struct store *st, struct db_stmt *s, const char *what,
	    int64_t *id);
/* Sets the error from the connection, prefixed with WHAT; returns -1. */
int	 store_fail(struct store *st, const char *what);
/* Sets a formatted error; returns -1. */
int	 store_failf(struct store *st, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Runs SQL that returns no rows (pragmas, DDL). */
int	 store_exec(struct store *st, const char *sql);
/* Runs SQL that returns no rows with ?1 = V; 0, or -1 with the error
 * prefixed with WHAT. */
int	 store_exec_int(struct store *st, const char *sql, int64_t v,
	    const char *what);

int	 store_schema_migrate(struct store *st, int create);

/* An audit key from columns COL (audit_key) and COL + 1 (redacted_at). */
void	 store_audit_key_read(struct db_stmt *s, int col,
	    struct store_audit_key *k);

/*
 * Batch statements take their keys as one JSON array (json_each), up to
 * STORE_BATCH at a time: one statement per batch of recipients instead
 * of one per recipient halves what SQLite spends on each.
 */
#define STORE_BATCH		64
#define STORE_BATCH_JSON_MAX	(STORE_BATCH * 6 * 320)	/* all escaped */
struct buf;
/* V[0..N-1] as a JSON array, appended to B. */
void	 store_json_strings(struct buf *b, const char *const *v, size_t n);
void	 store_json_ints(struct buf *b, const int64_t *v, size_t n);

const char *store_channel_name(enum store_channel c);

/* Fills R's category interests from the current generation.  0 or -1. */
int	 store_segment_interests(struct store *st, int64_t customer_id,
	    struct segment_result *r);

#endif
