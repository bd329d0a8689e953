/*
 * store_audit - the audit chain as the store keeps it (src/store/
 * delivery.c, archive.c, redact.c, disclose.c): its rows and their time
 * index, each customer's audit key, the records of sealed archives; and
 * what the store holds about one customer, for an access request, and
 * its erasure.  audit.h builds the chain, seals, verifies and archives
 * on top of it.
 *
 * The row (struct store_audit) is what every writer of an audit row
 * fills for audit_append(), so audit.h includes this header for its
 * clients (the milter, the outbox, segfeed); the functions are for
 * src/audit/ and segctl (audit, customer, store).  Conventions: store.h.
 */
#ifndef SEGM_STORE_AUDIT_H
#define SEGM_STORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store_audit {
	int64_t		 seq;		/* 1, 2, 3... in append order */
	int64_t		 at;
	const char	*channel;	/* "email", "sms" */
	const char	*queue_id;
	const char	*message_id;
	const char	*campaign_id;
	const char	*recipient;
	int64_t		 customer_id;	/* 0: unknown */
	const char	*decision;
	const char	*detail;
	const char	*segment;
	const char	*variant;
	const char	*consent;
	const char	*config_hash;
	const char	*prev_hash;	/* hex SHA-256 */
	const char	*hash;
	/*
	 * FORM 2: hashed with SEAL in place of the recipient, detail and
	 * consent (audit.h); 1: with them, as rows written before schema
	 * version 12.  KEY: the customer's audit key, read by
	 * store_audit_scan only.
	 */
	int		 form;
	const char	*seal;
	const struct store_audit_key *key;
};

/*
 * A customer's audit key: 32 random bytes that seal their personal data
 * in the audit chain, made with the customer.  ERASED once they were
 * redacted: the key is gone for good and their later rows carry no
 * personal data.
 */
#define STORE_AUDIT_KEY_LEN	32
enum store_audit_key_state {
	AUDIT_KEY_NONE,			/* never needed yet */
	AUDIT_KEY_LIVE,
	AUDIT_KEY_ERASED
};
struct store_audit_key {
	enum store_audit_key_state state;
	unsigned char	 bytes[STORE_AUDIT_KEY_LEN];
};
/* CUSTOMER_ID's key into *K (state NONE for customer 0, or for one
 * without a key).  0, or -1. */
int	 store_audit_key_get(struct store *st, int64_t customer_id,
	    struct store_audit_key *k);
/* The same for the N customers IDS[i] into K[i], a statement for up to
 * STORE_BATCH of them. */
int	 store_audit_keys_get(struct store *st, const int64_t *ids, size_t n,
	    struct store_audit_key *k);
/* Gives CUSTOMER_ID the key K unless they have one or were erased,
 * inside the caller's transaction. */
int	 store_audit_key_put(struct store *st, int64_t customer_id,
	    const unsigned char *key);

/*
 * The last audit row's sequence number, hash and time; 0, "" and 0 when
 * none.
 */
int	 store_audit_last(struct store *st, int64_t *seq, char *hash,
	    size_t len, int64_t *at);
/* Appends the N rows A (numbered, chained and sealed by audit.c), up to
 * 2^STORE_AUDIT_MANY_LOG2 a statement.  0, or -1. */
#define STORE_AUDIT_MANY_LOG2	5
int	 store_audit_append(struct store *st, const struct store_audit *a,
	    size_t n);
/*
 * The audit rows' time index, which `audit export --since` starts from:
 * for every hour that has rows (store_audit_hour: a time's hour, rounded
 * down), a sequence number no later than the hour's first row.  It
 * stands in for an index on the time, which cost every audit row a
 * B-tree insert.  Times need not rise with the sequence (a clock can
 * step back), so a row at or after T may come before the first row of
 * T's own hour, but never before that of its own: the rows since T all
 * come at or after the least mark of T's hour and the hours after it.
 * (A row dated far ahead by a clock glitch thus makes exports since any
 * earlier time read from that row on.)
 *
 * store_audit_mark records SEQ for HOUR unless the hour has a mark;
 * audit_append calls it only when a row's hour differs from the row
 * before's, so that most rows cost nothing.  store_audit_reindex
 * rebuilds the index from the rows, in its own transaction.
 */
int64_t	 store_audit_hour(int64_t at);
int	 store_audit_mark(struct store *st, int64_t hour, int64_t seq);
/* HOUR's mark; 0 when it has none. */
int	 store_audit_mark_get(struct store *st, int64_t hour, int64_t *seq);
int	 store_audit_reindex(struct store *st);
/* Calls FN for every row with at >= SINCE in sequence order. */
typedef int (*store_audit_fn)(const struct store_audit *a, void *arg);
int	 store_audit_scan(struct store *st, int64_t since, store_audit_fn fn,
	    void *arg);

/*
 * The audit archives (audit.h, audit_archive; src/store/archive.c): one
 * record per sealed file the rows FIRST_SEQ..LAST_SEQ went into, in
 * chain order.  PREV_HASH is the hash of the row before FIRST_SEQ ("" for
 * the first row of all), LAST_HASH that of LAST_SEQ, SHA256 the file's
 * own digest, MIN_AT and MAX_AT its rows' earliest and latest times.
 */
#define STORE_ARCHIVE_NAME_MAX	64
struct store_audit_archive {
	char		 name[STORE_ARCHIVE_NAME_MAX];
	int64_t		 first_seq, last_seq, rows;
	char		 prev_hash[65], last_hash[65], sha256[65];
	int64_t		 min_at, max_at;
	int64_t		 made_at;
};
/* Every record, in chain order, into *OUT (the caller frees it), *N of
 * them.  0, or -1. */
int	 store_audit_archives(struct store *st, struct store_audit_archive **out,
	    size_t *n);
/*
 * Records the N archives V, just written, and deletes their rows from
 * the store, in one transaction of its own: the rows must still be there
 * as archived (LAST_SEQ with LAST_HASH, none missing), else nothing
 * changes.  The time index loses the hours no row is left in.  0, or -1.
 */
int	 store_audit_prune(struct store *st, const struct store_audit_archive *v,
	    size_t n);

/*
 * Everything the store holds about customer ID, in one read transaction
 * (so not inside one): FN is called with each row of each table
 * ("customer", "consent", "orders", ..., "audit"), its N columns' NAMES
 * and VALUES as text (NULL for SQL NULL), valid during the call.  The
 * audit key and copies' bodies are left out.  0, FN's non-zero, or -1.
 */
typedef int (*store_row_fn)(const char *table, int n,
	    const char *const *names, const char *const *values, void *arg);
int	 store_customer_rows(struct store *st, int64_t id, store_row_fn fn,
	    void *arg);

/*
 * Erases customer ID's personal data at AT, inside the caller's write
 * transaction, with SQLite's secure_delete on so that the bytes are
 * overwritten rather than left in free pages (they leave the WAL at the
 * next complete checkpoint).  The profile becomes a tombstone (email
 * "redacted:ID", every other personal field empty); consent, consent
 * history, behaviour, cadence, segments and the shop's id for it go;
 * ledger rows keep their counts under a random address; the recipient,
 * detail and consent of its sealed audit rows are blanked and its audit
 * key erased; queued SMS jobs are cancelled, and its address or number
 * leaves every outbox job (a copy for it alone loses its body too).
 * Orders, engagement counts and a number's opt-out stay: they name
 * nobody once the profile is gone, and an opt-out must outlive it.
 * *R says what changed.  0, or -1.
 */
struct store_redaction {
	int64_t		 audit_rows;	/* blanked */
	int64_t		 audit_unsealed; /* form 1: cannot be blanked */
	int64_t		 ledger_rows;
	int64_t		 jobs;
	int64_t		 consent_rows;
	int64_t		 events;
};
int	 store_customer_redact(struct store *st, int64_t id, int64_t at,
	    struct store_redaction *r);

#endif
