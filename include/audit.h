/*
 * audit - the compliance log: one row per decision (deliver, suppress,
 * SMS sent or not), each chained to the one before by SHA-256.
 *
 * A row's hash covers its sequence number, every field and the previous
 * row's hash, so editing a row breaks its own hash, and deleting or
 * reordering rows breaks the chain at the next one.  Cutting rows off the
 * end leaves a shorter valid chain; to catch that, an auditor keeps the
 * head (sequence and hash) that `segctl audit verify` prints and later
 * checks that it is still in the chain (audit_verify's EXPECT).
 *
 * Rows are appended inside the caller's write transaction, the same one
 * that records the ledger, so a decision and its audit row commit
 * together or not at all.
 */
#ifndef SEGM_AUDIT_H
#define SEGM_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

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

struct audit_report {
	int64_t	 rows;
	int64_t	 bad_seq;		/* 0: the chain is intact */
	int64_t	 unindexed_seq;		/* 0: the time index is whole */
	char	 why[256];
	struct audit_chain head;	/* the last row verified */
	int	 expect_found;		/* EXPECT was seen in the chain */
};

/*
 * Checks the whole chain; EXPECT ("SEQ:HASH", may be NULL) is a head
 * recorded earlier.  When the chain is intact, also checks that the
 * time index leads `audit export --since` to every row; a row it would
 * skip is UNINDEXED_SEQ (the first row of the earliest hour found so),
 * and store_audit_reindex mends it.  0 when all is intact (and EXPECT
 * found), 1 when not, -1 on a store error.
 */
int	 audit_verify(struct store *st, const char *expect,
	    struct audit_report *rep);

/* Writes rows with at >= SINCE as JSON lines.  Rows written, or -1. */
int64_t	 audit_export(struct store *st, int64_t since, FILE *out);

#endif
