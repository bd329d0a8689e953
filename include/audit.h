/*
 * audit - the compliance log: one row per decision (deliver, suppress,
 * SMS sent or not), each chained to the one before by SHA-256.
 *
 * A row's hash covers its sequence number, every field and the previous
 * row's hash, so editing a row breaks its own hash, and deleting or
 * reordering rows breaks the chain at the next one.
 *
 * Whoever can write the store can also rewrite history and recompute
 * every hash after it, or cut rows off the end: the chain alone proves
 * nothing against the store's own user.  So each commit's head is
 * logged where that user cannot unwrite it (syslog, as "audit=SEQ:HASH":
 * an anchor), and audit_verify checks the chain against the anchors an
 * auditor brings back from the log (or a head `segctl audit verify`
 * printed): a rewritten row no longer has the logged hash, and a chain
 * cut short ends before the last anchor.
 *
 * Rows are appended inside the caller's write transaction, the same one
 * that records the ledger, so a decision and its audit row commit
 * together or not at all.
 *
 * A customer can be erased (a shop's customers/redact, a GDPR request)
 * while the chain still verifies: a row about a customer hashes, in
 * place of its recipient, detail and consent (the personal data), their
 * seal, an HMAC under a random key of that customer's own.  Verifying
 * checks the values against the seal where the key is; erasing the
 * customer destroys the key and blanks the values, leaving a seal that
 * nobody can tie to an address any more, and a redaction row.  Rows
 * about an address that is nobody's customer, and rows written before
 * schema version 12 (form 1), hash the values as they are and cannot be
 * erased.
 *
 * The store stays bounded while the log stays verifiable: audit_archive
 * moves the rows of past months into sealed archive files (archive.c
 * says how they are made), recorded in the store with their first and
 * last rows' hashes and their own SHA-256, and deletes the rows.  Verify
 * and export walk the archives in chain order, then the rows left in
 * the store; an archive removed, renamed, cut short or edited is named.
 * The personal data of sealed rows goes into the files encrypted under a
 * key derived from the customer's, so erasing them reaches the archives
 * too; rows of form 1 and nobody's are archived as they are.
 */
#ifndef SEGM_AUDIT_H
#define SEGM_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "store_audit.h"

#define AUDIT_HASH_LEN	64	/* hex SHA-256 */

/* A SHA-256 context reused from row to row (audit.c's). */
struct audit_hasher;

/* The head of the chain while rows are appended. */
struct audit_chain {
	int64_t			 seq;
	char			 hash[AUDIT_HASH_LEN + 1];
	int64_t			 hour;		/* of the head; INT64_MIN: none */
	struct audit_hasher	*hasher;	/* audit_end frees */
};

/*
 * Reads the head; call inside the write transaction.  0 or -1.  After
 * 0, audit_end must follow, whether the transaction commits or not.
 */
int	 audit_begin(struct store *st, struct audit_chain *ch);
void	 audit_end(struct audit_chain *ch);
/* Numbers A, chains it, appends it and moves the head.  0 or -1. */
int	 audit_append(struct store *st, struct audit_chain *ch,
	    struct store_audit *a);
/*
 * The same for the N rows A, in order: their customers' keys read at
 * once and the rows written in as few statements as they take (a
 * message's recipients).  0, or -1 with the head unmoved.
 */
int	 audit_append_many(struct store *st, struct audit_chain *ch,
	    struct store_audit *a, size_t n);

/* A head recorded outside the store. */
struct audit_anchor {
	int64_t	 seq;
	char	 hash[AUDIT_HASH_LEN + 1];
};

/* How a head is logged: "audit=SEQ:HASH" (AUDIT_ANCHOR_MAX bytes). */
#define AUDIT_ANCHOR_MAX	(AUDIT_HASH_LEN + 32)
void	 audit_anchor_format(const struct audit_chain *ch, char *out,
	    size_t len);
/* "SEQ:HASH", and nothing after it, into A: 0, or -1 if S is not one. */
int	 audit_anchor_parse(const char *s, struct audit_anchor *a);
/*
 * Appends the head of every line of segmilter's in the LEN bytes at TEXT
 * (a mail log, journalctl's output) that ends in "audit=SEQ:HASH" to
 * *OUT, which has *N of *CAP used; the caller frees *OUT.  A line is
 * segmilter's when it reads "segmilter[PID]: QID: audit=..." or
 * "segmilter[PID]: outbox: job N: audit=...", or segfeed(8)'s
 * "segfeed[PID]: ID: audit=..." (ID the request's): other programs, and
 * text from outside that they log elsewhere in a line, plant none.
 */
void	 audit_anchors_scan(const char *text, size_t len,
	    struct audit_anchor **out, size_t *n, size_t *cap);

struct audit_report {
	int64_t	 rows;			/* the archives' and the store's */
	int64_t	 archives;		/* archive files read */
	int64_t	 redacted_rows;		/* personal data erased */
	int64_t	 bad_seq;		/* 0: the chain is intact */
	int64_t	 unindexed_seq;		/* 0: the time index is whole */
	char	 why[256];
	struct audit_chain head;	/* the last row verified */
	size_t	 anchors_found;		/* anchors that match their row */
	int64_t	 anchor_last;		/* the latest of them, 0: none */
};

/*
 * Checks the whole chain, the archives in DIR (NULL: none) then the
 * rows in the store, and the N ANCHORS (in any order) against it:
 * each must name a row of the chain with that very hash.  When the chain
 * is intact, also checks that the time index leads `audit export
 * --since` to every row; a row it would skip is UNINDEXED_SEQ (the first
 * row of the earliest hour found so), and store_audit_reindex mends it.
 * 0 when all is intact (every anchor found), 1 when not, -1 on a store
 * error.
 */
int	 audit_verify(struct store *st, const char *dir,
	    const struct audit_anchor *anchors, size_t n,
	    struct audit_report *rep);

/* The decision of the row that records an erasure. */
#define AUDIT_REDACTED	"redacted"

/*
 * Erases customer ID at AT (store_customer_redact) and appends the
 * redaction row, on channel "customer", with SOURCE (what asked for it:
 * "shopify customers/redact 1234", "segctl") as its detail and the
 * configuration's CONFIG_HASH, inside the caller's write transaction and
 * chain.  *R says what changed.  0, or -1.
 */
int	 audit_redact(struct store *st, struct audit_chain *ch, int64_t id,
	    int64_t at, const char *source, const char *config_hash,
	    struct store_redaction *r);

/*
 * Writes rows with at >= SINCE as JSON lines, the archives' in DIR (NULL:
 * none) first: a sealed row whose customer was erased without its
 * values.  Rows written, or -1 with why in WHY (LEN bytes).
 */
int64_t	 audit_export(struct store *st, const char *dir, int64_t since,
	    FILE *out, char *why, size_t len);

struct audit_archive_report {
	int64_t	 files;			/* written */
	int64_t	 rows;			/* moved into them */
	int64_t	 first_seq, last_seq;	/* the first and last of those */
	char	 why[512];
};

/*
 * Moves the rows dated before CUT (up to the first row that is not, and
 * never the head, which the next row chains from) into archive files in
 * DIR, made if missing: a file per month of the rows' times (UTC),
 * named "audit-YYYY-MM-sSEQ.archive" for its first row, recorded in the
 * store at NOW.  The rows must verify (but for the anchors): a broken
 * chain is not archived.  Running it again archives what has aged
 * since; after a crash it writes again the files nothing recorded.  0
 * (REP says what moved), or -1 with why in REP.
 */
int	 audit_archive(struct store *st, const char *dir, int64_t cut,
	    int64_t now, struct audit_archive_report *rep);
/*
 * Customer ID's rows in the archives in DIR, for an access request as
 * store_customer_rows gives the store's: FN is called for each, as table
 * "audit_archived", with the columns of that function's "audit" (their
 * values decrypted).  0, FN's non-zero, or -1 with why in WHY (LEN
 * bytes): an archive missing or damaged, or a store error.
 */
int	 audit_archive_rows(struct store *st, const char *dir, int64_t id,
	    store_row_fn fn, void *arg, char *why, size_t len);
/* The first second of T's month, UTC: where archiving cuts. */
int64_t	 audit_archive_month_start(int64_t t);

#endif
