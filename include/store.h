/*
 * store - the handle on the customer store, the conventions of every
 * contract on it, and the types they all share.  The only code that
 * speaks SQL is behind it, in src/store/.
 *
 * One SQLite file per relay, in WAL mode with foreign keys on.  The schema
 * is built by numbered migrations (src/store/schema.c) recorded in a version
 * table: store_open() with STORE_CREATE creates (mode 0600: customers'
 * data) or upgrades; without it a store that is older than this binary
 * must first be upgraded with `segctl init`, and one that is newer is
 * refused.
 *
 * This header is the handle: opening and probing it, errors,
 * transactions, checkpoints and the schema version.  What a client does
 * with it is in the contract of its kind; each includes this header and
 * no other store_*.h, and a client includes the contracts it uses:
 *
 *   store_lookup.h     what segmilter reads about a message's recipients
 *                      (profile, consent, segment, deliveries for the
 *                      caps and fatigue, SMS facts) and the ledger rows it
 *                      writes of its decisions
 *   store_record.h     customers, products, orders, behaviour, consent,
 *                      cadence, engagement, numbers' status, provenance:
 *                      what imports, webhooks and replies write
 *   store_outbox.h     queued copies and SMS: queueing, claiming with a
 *                      lease, recovery, the notes of copies seen
 *   store_audit.h      the audit chain's rows, keys and archives; what the
 *                      store holds about a customer, and its erasure
 *   store_feedback.h   what segfeed writes at once: a shop's webhook
 *                      deliveries, SMS replies and delivery reports
 *   store_segment.h    facts for segmentation, rebuilds and generations
 *   store_report.h     campaign reports, lift outcomes, what the store holds
 *   store_retention.h  closing idle campaigns and trimming what they left
 *
 * Every statement is prepared once per handle and reused.  A handle is
 * used by one thread at a time (segmilter's threads share one under a
 * lock).  Functions return 0 on success and -1 on failure, leaving a
 * message for store_error(); lookups return 1 for "not found".  Strings in
 * returned structs belong to the handle and stay valid until the next call
 * on it, unless said otherwise.
 *
 * Upserts are by natural key (email, order reference, SKU, ...) and report
 * through *changed (enum store_change) whether anything was written, so
 * that importing the same file twice changes nothing and can say so.
 */
#ifndef SEGM_STORE_H
#define SEGM_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION	22

#define STORE_CREATE	0x1	/* create or upgrade the schema */
#define STORE_READONLY	0x2
#define STORE_BULK	0x4	/* big cache: imports and rebuilds */
#define STORE_DAEMON	0x8	/* a daemon's lasting handle: map capped */
#define STORE_SCAN	0x10	/* one pass over big tables: small cache */

struct store;

/*
 * PATH is a file (SQLite), or a PostgreSQL URI (postgresql://...) for a
 * store that a fleet of relays shares; store_path() shows the URI
 * without its password.
 */
int	 store_open(const char *path, int flags, int64_t timeout_ms,
	    struct store **out, char *err, size_t errlen);
/* Whether PATH names a server's store: no file to make, stat, checkpoint
 * or archive beside. */
int	 store_is_server(const char *path);
/* Statements sent to the store's server so far (PostgreSQL's round
 * trips); 0 for SQLite, which has none.  For benchmarks. */
uint64_t store_round_trips(const struct store *st);
/*
 * Copies FROM whole into TO, a new store with no customers, ledger,
 * audit or outbox yet, either engine into either: every row and key,
 * the audit chain as it stands.  Read in one snapshot, written in one
 * transaction.  FN (may be NULL) hears of each table copied and its
 * rows.  0, or -1 with store_error(TO).
 */
typedef void (*store_copy_fn)(const char *table, int64_t rows, void *arg);
int	 store_copy(struct store *from, struct store *to, store_copy_fn fn,
	    void *arg);
void	 store_close(struct store *st);
/*
 * Whether ST still uses the file at its path.  A store deleted, or
 * replaced by another file (a restored copy, a rename over it), under an
 * open handle would otherwise go on being read and written in a file
 * nobody else sees.  0 when the path names the handle's file and the
 * process may read and write it (read it, for a read-only handle); -1
 * with store_error() when the path has no file, one this process may not
 * use, or another file: the caller tempfails.  A replaced store is not
 * reopened: SQLite would pair the new file with the -wal and -shm that
 * open handles keep of the old one, and copy the old pages into it.  A
 * stat(2) and an access(2) when nothing changed; call it under the lock
 * that serialises the handle's uses.
 */
int	 store_check_file(struct store *st);
/*
 * Whether the store at PATH opens for writing, at this binary's schema,
 * as a file this process may read and write (SQLite alone would open a
 * file it may not write read-only, and say so at the first write): what
 * a daemon checks before it serves.  0, or -1 with ERR.
 */
int	 store_probe(const char *path, int64_t timeout_ms, char *err,
	    size_t errlen);
const char *store_error(const struct store *st);
const char *store_path(const struct store *st);
int	 store_schema_version(struct store *st, int64_t *version);

int	 store_begin(struct store *st);
/* A read transaction: one snapshot and one lock for many lookups; end it
 * with store_commit() (or store_rollback()). */
int	 store_begin_read(struct store *st);
int	 store_commit(struct store *st);
int	 store_rollback(struct store *st);

/*
 * Checkpoints off the commit path.  SQLite copies the WAL back into the
 * database inside the commit that takes it past STORE_WAL_PAGES, and the
 * committer waits for the copy and two fsyncs (segmilter: with every
 * other thread waiting for the store, and the MTA for an answer).  After
 * store_defer_checkpoints, a commit that leaves PAGES pages or more in
 * the WAL calls WAKE(ARG) instead (then again every PAGES / 16 pages
 * until the WAL starts over), and whoever it wakes runs store_checkpoint
 * on a handle of its own.  A commit that finds STORE_WAL_BOUND * PAGES
 * still checkpoints itself, so that the WAL stays bounded if nobody does.
 * WAKE runs in the committing thread: it must only signal.  WAKE NULL
 * turns SQLite's automatic checkpoint back on.
 */
#define STORE_WAL_PAGES	1000	/* SQLite's automatic checkpoint */
#define STORE_WAL_BOUND	8	/* times PAGES: commits checkpoint */
/* Bytes a WAL file is cut back to when it starts over: 16 MiB, twice
 * its usual peak of STORE_WAL_PAGES pages of 8 KiB (a new store's). */
#define STORE_WAL_KEEP	16777216
void	 store_defer_checkpoints(struct store *st, int pages,
	    void (*wake)(void *), void *arg);
/* A passive checkpoint: copies what it can without waiting for readers or
 * writers.  *wal: pages in the WAL; *copied: pages now in the database
 * (either may be NULL; both -1 when another checkpoint was running). */
int	 store_checkpoint(struct store *st, int *wal, int *copied);
/*
 * A checkpoint that waits (up to the busy timeout) for readers and then
 * empties the WAL, so that what was erased is in no file any more: 0, 1
 * when a reader held on, or -1.
 */
int	 store_checkpoint_truncate(struct store *st);

/* What an upsert did: the *changed of every contract's writes. */
enum store_change {
	STORE_UNCHANGED,
	STORE_INSERTED,
	STORE_UPDATED
};

/*
 * The longest name a lookup copies (a first or last name, a company, a
 * Message-ID), with its NUL: store_lookup.h's recipients and the milter
 * hold them in arrays of this size, and writers cut names to fit.
 */
#define STORE_NAME_MAX	128

#endif
