/*
 * store.c - opening the store, statement cache, transactions, errors.
 *
 * A handle is one SQLite connection used by one thread.  Opening sets the
 * pragmas every user relies on (WAL, foreign keys, a busy timeout so that a
 * reader and the rebuild's writer wait for each other instead of failing)
 * and brings the schema to this binary's version or refuses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "buf.h"
#include "pgsql/pgsql.h"
#include "sqlite/sqlite.h"
#include "store_int.h"
#include "xalloc.h"

/*
 * A daemon's map, in bytes: what the pages it touches through it may
 * add to its memory.  No map at all cost segmilter 18% more CPU per
 * message in msgbench (20,000 customers, 50 recipients spread: 2,385
 * against 2,025 us, 5 rounds), its page cache missed and refilled with
 * read(2); under the cap, the same store cost what it did mapped whole
 * (2,212 against 2,246 us).  A store's hot pages past the cap are read
 * as with no map.
 */
#define STORE_DAEMON_MAP	"67108864"
#define STORE_SCAN_CACHE	"8192"	/* KiB */

/*
 * Settings for a handle that reads or writes millions of rows (imports,
 * rebuilds): a 64 MiB page cache instead of 2 MiB, and no memory map.
 * Memory stays bounded by the cache, whatever the store holds: mapped
 * pages counted as the process's own (742 MB importing 1M customers,
 * 80 MB without), and the import was no slower without them.
 */
static int
store_bulk(struct store *st)
{
	return store_exec(st, "PRAGMA cache_size=-65536") == -1 ||
	    store_exec(st, "PRAGMA mmap_size=0") == -1 ? -1 : 0;
}

/*
 * Settings for a handle that reads big tables once through (the rebuild's
 * facts): each page is wanted once, so a cache holds the B-trees' inner
 * pages and little else, and there is no memory map, as with STORE_BULK.
 * A 64 MiB cache filled up with pages never read again: 50 MB of the
 * rebuild's peak at 1M customers.
 */
static int
store_scan(struct store *st)
{
	return store_exec(st, "PRAGMA cache_size=-" STORE_SCAN_CACHE) == -1 ||
	    store_exec(st, "PRAGMA mmap_size=0") == -1 ? -1 : 0;
}

static int
store_limit_wal(struct store *st)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%d",
	    STORE_WAL_KEEP);
	return store_exec(st, sql);
}

/* Which file ST's path names now: its device and inode. */
static int
store_identify(struct store *st, dev_t *dev, ino_t *ino)
{
	struct stat sb;

	if (stat(st->path, &sb) == -1)
		return store_failf(st, "%s: %s", st->path, strerror(errno));
	*dev = sb.st_dev;
	*ino = sb.st_ino;
	return 0;
}

/*
 * A store is created mode 0600: it holds every customer's data, and
 * SQLite would create it 0644 less the umask.  The -wal and -shm files
 * need nothing: SQLite gives them the database's mode.  An empty file is
 * an empty database to SQLite.
 */
static int
store_create_file(struct store *st)
{
	int fd;

	fd = open(st->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno != EEXIST)
		return store_failf(st, "%s: %s", st->path, strerror(errno));
	if (fd != -1)
		close(fd);
	return 0;
}

/*
 * Opens ST->db on the file ST->path with store_open's FLAGS and
 * TIMEOUT_MS: the connection, the pragmas and the schema.  0, or -1 with
 * st->err (ST->db then closed, NULL).
 */
static int
store_connect_sqlite(struct store *st, int flags, int64_t timeout_ms)
{
	char why[sizeof(st->err)];
	int oflags = 0;

	if (st->readonly)
		oflags = SQLITE_DB_READONLY;
	else if (flags & STORE_CREATE)
		oflags = SQLITE_DB_CREATE;
	if ((flags & STORE_CREATE) && store_create_file(st) == -1)
		return -1;
	if (sqlite_db_open(st->path, oflags, timeout_ms, &st->db, st->err,
	    sizeof(st->err)) == -1)
		return -1;

	/*
	 * 8 KiB pages for a new store (no effect on an existing one): a
	 * bulk import fills them as fast as 16 KiB pages (1M customers:
	 * 44.5 s against 46.6 s; 4 KiB: 48.9 s), and the milter's commit
	 * per message writes and checksums half the WAL bytes (four frames
	 * for a 1-recipient message: 40,000 fewer instructions).
	 * Reads through a memory map: a commit by one handle (segctl, the
	 * milter) empties every other handle's page cache, and mapped pages
	 * come back without a read(2) each.  A daemon's (STORE_DAEMON) map
	 * is capped: the mapped pages it has touched count as its own
	 * memory, and in days it touches all of a store that holds outbox
	 * copies (a 30 MB campaign split 10 ways: segmilter at 1.1 GB; make
	 * bench, bigmsg).  Past the cap its reads come from the kernel's
	 * page cache.  segctl's one-shot commands keep the whole map: they
	 * end before it grows.
	 * The WAL file keeps its largest size unless limited: about 8 MiB
	 * at the checkpoint threshold, but up to 64 MiB when checkpoints
	 * fall behind (STORE_WAL_BOUND) or a long reader holds them back;
	 * once the WAL starts over, its first commit cuts it back.
	 */
	if (((flags & STORE_CREATE) &&
	    store_exec(st, "PRAGMA page_size=8192") == -1)
	    || (!st->readonly && store_exec(st, "PRAGMA journal_mode=WAL") == -1)
	    || store_exec(st, "PRAGMA foreign_keys=ON") == -1
	    || store_exec(st, "PRAGMA synchronous=NORMAL") == -1
	    || store_exec(st, (flags & STORE_DAEMON) ? "PRAGMA mmap_size="
	    STORE_DAEMON_MAP : "PRAGMA mmap_size=1073741824") == -1
	    || store_limit_wal(st) == -1
	    || ((flags & STORE_BULK) && store_bulk(st) == -1)
	    || ((flags & STORE_SCAN) && store_scan(st) == -1)
	    || store_schema_migrate(st, (flags & STORE_CREATE) != 0) == -1
	    || store_identify(st, &st->dev, &st->ino) == -1) {
		snprintf(why, sizeof(why), "%s", st->err);
		store_failf(st, "%s: %s", st->path, why);
		goto fail;
	}
	return 0;
fail:
	db_close(st->db);
	st->db = NULL;
	return -1;
}

/*
 * Opens ST->db on the PostgreSQL store ST->path names, as
 * store_connect_sqlite.  A lock held by another relay is waited for up
 * to TIMEOUT_MS, as SQLite's busy timeout.
 */
static int
store_connect_pgsql(struct store *st, int flags, int64_t timeout_ms)
{
	char why[sizeof(st->err)], sql[96];

	if (pgsql_db_open(st->path, timeout_ms, &st->db, st->err,
	    sizeof(st->err)) == -1)
		return -1;
	snprintf(sql, sizeof(sql), "SET lock_timeout = %lld",
	    (long long)(timeout_ms > 0 ? timeout_ms : 0));
	if (store_exec(st, sql) == -1
	    || (st->readonly && store_exec(st, "SET"
	    " default_transaction_read_only = on") == -1)
	    || store_schema_migrate(st, (flags & STORE_CREATE) != 0) == -1) {
		snprintf(why, sizeof(why), "%s", st->err);
		store_failf(st, "%s: %s", st->shown, why);
		db_close(st->db);
		st->db = NULL;
		return -1;
	}
	return 0;
}

static int
store_connect(struct store *st, int flags, int64_t timeout_ms)
{
	if (pgsql_db_is_uri(st->path))
		return store_connect_pgsql(st, flags, timeout_ms);
	return store_connect_sqlite(st, flags, timeout_ms);
}

int
store_open(const char *path, int flags, int64_t timeout_ms,
    struct store **out, char *err, size_t errlen)
{
	struct store *st;

	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->rebuild_fd = -1;
	/* a file's name as it is; a URI's without its password */
	st->shown = xmalloc(strlen(path) + 8);
	if (pgsql_db_is_uri(path))
		pgsql_db_redact(path, st->shown, strlen(path) + 8);
	else
		memcpy(st->shown, path, strlen(path) + 1);
	st->readonly = (flags & STORE_READONLY) != 0;
	if (store_connect(st, flags, timeout_ms) == -1) {
		snprintf(err, errlen, "%s", st->err);
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

int
store_connect_reader(struct store *st, int64_t timeout_ms, struct db **out)
{
	char err[sizeof(st->err)];
	int rc;

	if (db_engine(st->db) == DB_PGSQL)
		rc = pgsql_db_open(st->path, timeout_ms, out, err,
		    sizeof(err));
	else
		rc = sqlite_db_open(st->path, SQLITE_DB_READONLY, timeout_ms,
		    out, err, sizeof(err));
	return rc == -1 ? store_failf(st, "%s", err) : 0;
}

uint64_t
store_round_trips(const struct store *st)
{
	return db_engine(st->db) == DB_PGSQL ?
	    pgsql_db_round_trips(st->db) : 0;
}

int
store_is_server(const char *path)
{
	return pgsql_db_is_uri(path);
}

int
store_check_file(struct store *st)
{
	dev_t dev = 0;
	ino_t ino = 0;

	/* a server's store: no file here to be replaced */
	if (db_engine(st->db) == DB_PGSQL)
		return 0;
	if (store_identify(st, &dev, &ino) == -1)
		return -1;
	if (faccessat(AT_FDCWD, st->path, st->readonly ? R_OK : R_OK | W_OK,
	    AT_EACCESS) == -1)
		return store_failf(st, "%s: %s", st->path, strerror(errno));
	/*
	 * Another file: not reopened.  SQLite would pair it with the -wal
	 * and -shm this and every other open handle still keep, and write
	 * the old store's pages into it; a store can only be put in place
	 * with nobody using it.
	 */
	if (dev != st->dev || ino != st->ino)
		return store_failf(st, "%s was replaced while open: stop"
		    " every user of the store, remove its -wal and -shm if"
		    " they are not the new store's, then start again",
		    st->path);
	return 0;
}

int
store_probe(const char *path, int64_t timeout_ms, char *err, size_t errlen)
{
	struct store *st;
	int rc;

	if (store_open(path, 0, timeout_ms, &st, err, errlen) == -1)
		return -1;
	if ((rc = store_check_file(st)) == -1)
		snprintf(err, errlen, "%s", store_error(st));
	store_close(st);
	return rc;
}

void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < SQ_COUNT; i++)
		db_finalize(st->stmt[i]);
	db_close(st->db);
	if (st->rebuild_fd != -1)
		close(st->rebuild_fd);
	free(st->path);
	free(st->shown);
	free(st);
}

const char *
store_error(const struct store *st)
{
	return st->err;
}

const char *
store_path(const struct store *st)
{
	return st->shown;
}

struct db_stmt *
store_stmt(struct store *st, enum store_stmt_id id, const char *sql)
{
	if (st->stmt[id] == NULL &&
	    (st->stmt[id] = db_prepare(st->db, sql, 1)) == NULL) {
		store_fail(st, "prepare");
		return NULL;
	}
	return st->stmt[id];
}

void
store_done(struct db_stmt *s)
{
	db_reset(s);
	db_clear(s);
}

struct db_stmt *
store_rows_stmt(struct store *st, enum store_stmt_id first, int log2,
    const char *head, const char *row, const char *tail)
{
	enum store_stmt_id id = (enum store_stmt_id)(first + log2);
	struct db_stmt *s;
	struct buf sql;
	size_t i;
	int ok;

	if (st->stmt[id] != NULL)
		return st->stmt[id];
	buf_init(&sql, 256 * 1024);
	ok = buf_puts(&sql, head) == 0;
	for (i = 0; ok && i < (size_t)1 << log2; i++)
		ok = (i == 0 || buf_puts(&sql, ", ") == 0) &&
		    buf_puts(&sql, row) == 0;
	ok = ok && buf_puts(&sql, tail) == 0;
	s = ok ? store_stmt(st, id, buf_str(&sql)) : NULL;
	if (!ok)
		store_failf(st, "a statement of %d rows: too long", 1 << log2);
	buf_free(&sql);
	return s;
}

int
store_rows_chunk(size_t n, int max)
{
	int lg = 0;

	while (lg < max && ((size_t)2 << lg) <= n)
		lg++;
	return lg;
}

int
store_run(struct store *st, struct db_stmt *s, const char *what)
{
	enum db_rc rc = db_step(s);

	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, what);
	return 0;
}

int
store_run_id(struct store *st, struct db_stmt *s, const char *what,
    int64_t *id)
{
	enum db_rc rc = db_step(s);
	int n = 0;

	if (rc == DB_ROW) {
		*id = db_col_int(s, 0);
		n = 1;
		rc = db_step(s);
	}
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, what);
	return n;
}

int
store_fail(struct store *st, const char *what)
{
	snprintf(st->err, sizeof(st->err), "%s: %s", what,
	    db_errmsg(st->db));
	return -1;
}

int
store_failf(struct store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	return -1;
}

int
store_exec(struct store *st, const char *sql)
{
	if (db_exec(st->db, sql) != DB_OK)
		return store_failf(st, "%s", db_errmsg(st->db));
	return 0;
}

int
store_exec_int(struct store *st, const char *sql, int64_t v,
    const char *what)
{
	struct db_stmt *s;
	int rc;

	if ((s = db_prepare(st->db, sql, 0)) == NULL)
		return store_fail(st, what);
	db_bind_int(s, 1, v);
	rc = store_run(st, s, what);
	db_finalize(s);
	return rc;
}

void
store_defer_checkpoints(struct store *st, int pages, void (*wake)(void *),
    void *arg)
{
	if (db_engine(st->db) == DB_SQLITE)
		sqlite_db_defer_checkpoints(st->db, pages, STORE_WAL_BOUND,
		    STORE_WAL_PAGES, wake, arg);
}

int
store_checkpoint(struct store *st, int *wal, int *copied)
{
	enum db_rc rc;

	if (db_engine(st->db) != DB_SQLITE)
		return 0;
	rc = sqlite_db_checkpoint(st->db, wal, copied);
	/* BUSY: another checkpoint is running; the next wake comes soon */
	if (rc != DB_OK && rc != DB_BUSY)
		return store_fail(st, "checkpoint");
	return 0;
}

int
store_checkpoint_truncate(struct store *st)
{
	enum db_rc rc;

	if (db_engine(st->db) != DB_SQLITE)
		return 0;
	rc = sqlite_db_checkpoint_truncate(st->db);
	if (rc == DB_BUSY)
		return 1;
	return rc == DB_OK ? 0 : store_fail(st, "checkpoint");
}

static int
store_simple(struct store *st, enum store_stmt_id id, const char *sql)
{
	struct db_stmt *s = store_stmt(st, id, sql);
	enum db_rc rc;

	if (s == NULL)
		return -1;
	rc = db_step(s);
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, sql);
	return 0;
}

int
store_begin(struct store *st)
{
	/*
	 * Writers take the lock up front: a deferred transaction that reads
	 * first and writes later can fail with SQLITE_BUSY at the write,
	 * where the busy timeout no longer helps.
	 */
	if (st->readonly)
		return store_begin_read(st);
	/*
	 * PostgreSQL: every writer of the fleet takes one lock, as SQLite's
	 * writers do, so that what a transaction reads before it writes
	 * (a recipient's deliveries, a webhook's id, the audit chain's
	 * head) still holds when it commits, whichever relay wrote last.
	 * One round trip for both.  Outbox claims alone go without it
	 * (store_begin_rows): their rows' locks keep them right.
	 */
	if (db_engine(st->db) == DB_PGSQL)
		return store_exec(st, "BEGIN; " STORE_PG_WRITE_LOCK);
	return store_simple(st, SQ_BEGIN_IMMEDIATE, "BEGIN IMMEDIATE");
}

int
store_begin_rows(struct store *st)
{
	if (db_engine(st->db) == DB_PGSQL && !st->readonly)
		return store_simple(st, SQ_BEGIN_ROWS, "BEGIN");
	return store_begin(st);
}

int
store_begin_read(struct store *st)
{
	/* one snapshot for every read, as SQLite's read transaction */
	if (db_engine(st->db) == DB_PGSQL)
		return store_simple(st, SQ_BEGIN, "BEGIN ISOLATION LEVEL"
		    " REPEATABLE READ");
	return store_simple(st, SQ_BEGIN, "BEGIN");
}

int
store_commit(struct store *st)
{
	return store_simple(st, SQ_COMMIT, "COMMIT");
}

int
store_rollback(struct store *st)
{
	/* the source's row goes with the transaction that recorded it */
	st->source_id = 0;
	if (!db_in_transaction(st->db))
		return 0;
	return store_simple(st, SQ_ROLLBACK, "ROLLBACK");
}

const char *
store_channel_name(enum store_channel c)
{
	return c == CHANNEL_SMS ? "sms" : "email";
}

/* S as a JSON string; runs of plain bytes are copied whole. */
static void
json_string(struct buf *b, const char *s)
{
	size_t n;

	buf_putc(b, '"');
	while (*s != '\0') {
		for (n = 0; s[n] != '\0' && s[n] != '"' && s[n] != '\\' &&
		    (unsigned char)s[n] >= 0x20; n++)
			;
		buf_append(b, s, n);
		s += n;
		if (*s == '"' || *s == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, *s++);
		} else if (*s != '\0')
			buf_printf(b, "\\u%04x", (unsigned char)*s++);
	}
	buf_putc(b, '"');
}

/* V in decimal (no printf: it runs for every recipient). */
static void
json_int(struct buf *b, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	buf_append(b, p, (size_t)(num + sizeof(num) - p));
}

void
store_json_strings(struct buf *b, const char *const *v, size_t n)
{
	size_t i;

	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_string(b, v[i]);
	}
	buf_putc(b, ']');
}

void
store_json_ints(struct buf *b, const int64_t *v, size_t n)
{
	size_t i;

	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_int(b, v[i]);
	}
	buf_putc(b, ']');
}
