/*
 * segments.c - materialised segments, by generation.
 *
 * A rebuild writes generation N+1 beside the published generation N in
 * batches of REBUILD_BATCH rows, each its own short transaction, so that the
 * milter's ledger writes never wait behind a multi-second rebuild.  Readers
 * join segment_state, whose single row names the published generation;
 * store_rebuild_commit() changes that row in one small transaction, so a
 * reader sees the old generation or the new one, never a mix.  The old
 * generation is deleted afterwards, again in batches.
 *
 * A customer's segment row is inserted alone, its interests (two in
 * three customers have one or more) wait and go in by up to 64 a
 * statement: a statement per interest row cost as much again as the row
 * (its run, reset and halt), the writer's largest single cost.  They are
 * written before the transaction commits, which also holds their segment
 * rows.
 *
 * Rows are written with a provisional lifecycle, decided as if nobody
 * were VIP; once the VIP cut is known, the second pass
 * (store_rebuild_assign) revisits only the rows at or above it.  It reads
 * them through a second connection: its read snapshot is unaffected by
 * the batches the first connection commits while updating the same rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

#include "buf.h"
#include "store_int.h"
#include "str.h"
#include "xalloc.h"

#define REBUILD_BATCH	20000
#define DELETE_STEP	50000	/* customer ids per delete transaction */
#define INTERESTS_LOG2	6	/* interest rows a statement writes: 2^6 */

struct store_rebuild {
	struct store	*st;
	int64_t		 generation;
	int64_t		 pending;	/* rows in the open transaction */
	struct db_stmt	*ins_seg, *upd;
	struct db_stmt	*ins_int[INTERESTS_LOG2 + 1];	/* 2^i rows each */
	struct {
		int64_t			 customer_id;
		struct segment_interest	 in;
	}		 interests[1 << INTERESTS_LOG2];	/* waiting */
	size_t		 ninterests;
};

static int	 rebuild_write_interests(struct store_rebuild *);

static int
rebuild_flush(struct store_rebuild *rb)
{
	if (rebuild_write_interests(rb) == -1)
		return -1;
	if (rb->pending == 0)
		return 0;
	rb->pending = 0;
	return store_commit(rb->st);
}

/* Counts a row about to be written: its batch's transaction is committed
 * once full, before the row, and opened for it if need be. */
static int
rebuild_count(struct store_rebuild *rb)
{
	if (rb->pending >= REBUILD_BATCH && rebuild_flush(rb) == -1)
		return -1;
	if (rb->pending == 0 && store_begin(rb->st) == -1)
		return -1;
	rb->pending++;
	return 0;
}

/* Deletes generation GEN of both tables in batches. */
static int
rebuild_delete_generation(struct store *st, int64_t gen)
{
	static const char *const tables[] = {
		"customer_segments", "customer_interests"
	};
	struct db_stmt *s;
	int64_t maxid = 0, lo;
	size_t i;
	char sql[160];

	if ((s = db_prepare(st->db, "SELECT coalesce(max(id), 0)"
	    " FROM customers", 0)) == NULL)
		return store_fail(st, "segments");
	if (db_step(s) == DB_ROW)
		maxid = db_col_int(s, 0);
	db_finalize(s);

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE generation"
		    " = ?1 AND customer_id BETWEEN ?2 AND ?3", tables[i]);
		if ((s = db_prepare(st->db, sql, 0)) == NULL)
			return store_fail(st, "segments");
		/* Rows of customers deleted since are caught by the last. */
		for (lo = 0; lo <= maxid; lo += DELETE_STEP) {
			int rc;

			db_bind_int(s, 1, gen);
			db_bind_int(s, 2, lo);
			db_bind_int(s, 3, lo + DELETE_STEP - 1 >= maxid
			    ? INT64_MAX : lo + DELETE_STEP - 1);
			if (store_begin(st) == -1) {
				db_finalize(s);
				return -1;
			}
			rc = db_step(s);
			db_reset(s);
			if (rc != DB_DONE) {
				db_finalize(s);
				store_fail(st, "segments");
				store_rollback(st);
				return -1;
			}
			if (store_commit(st) == -1) {
				db_finalize(s);
				return -1;
			}
		}
		db_finalize(s);
	}
	return 0;
}

static int
segments_current_generation(struct store *st, int64_t *gen)
{
	struct db_stmt *s;
	int rc;

	*gen = 0;
	if ((s = db_prepare(st->db, "SELECT generation FROM segment_state",
	    0)) == NULL)
		return store_fail(st, "segments");
	rc = db_step(s);
	if (rc == DB_ROW)
		*gen = db_col_int(s, 0);
	db_finalize(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_fail(st, "segments");
	return 0;
}

/* Generations other than the published one left by an interrupted build. */
static int
rebuild_drop_leftovers(struct store *st, int64_t current, int64_t *maxgen)
{
	struct db_stmt *s;
	int64_t gen;
	int rc;

	*maxgen = current;
	if ((s = db_prepare(st->db, "SELECT DISTINCT generation FROM"
	    " customer_segments WHERE generation <> ?1 UNION SELECT DISTINCT"
	    " generation FROM customer_interests WHERE generation <> ?1",
	    0)) == NULL)
		return store_fail(st, "segments");
	db_bind_int(s, 1, current);
	while ((rc = db_step(s)) == DB_ROW) {
		gen = db_col_int(s, 0);
		if (gen > *maxgen)
			*maxgen = gen;
	}
	db_finalize(s);
	if (rc != DB_DONE)
		return store_fail(st, "segments");
	for (gen = current + 1; gen <= *maxgen; gen++)
		if (rebuild_delete_generation(st, gen) == -1)
			return -1;
	return 0;
}

/*
 * A segment row's columns and their parameters: ?1 the generation, ?2
 * the customer, the rest bound by segment_bind.
 */
#define SEGMENT_COLUMNS	" (generation, customer_id, lifecycle, flags, orders," \
	" net_spend, margin, uncosted_lines, first_order_at, last_order_at," \
	" vip_value, vip_eligible, cycle_days, cycle_source," \
	" mean_interval_days, b2b_reason, b2b_detail, cart_abandoner," \
	" cart_at, cart_value, country, currency, language, time_zone)" \
	" VALUES (?1, ?2, ?24, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11," \
	" ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
/* A row put again: every column but the key from the new one. */
#define SEGMENT_REPLACE	" ON CONFLICT (generation, customer_id) DO UPDATE" \
	" SET lifecycle = excluded.lifecycle, flags = excluded.flags," \
	" orders = excluded.orders, net_spend = excluded.net_spend," \
	" margin = excluded.margin," \
	" uncosted_lines = excluded.uncosted_lines," \
	" first_order_at = excluded.first_order_at," \
	" last_order_at = excluded.last_order_at," \
	" vip_value = excluded.vip_value," \
	" vip_eligible = excluded.vip_eligible," \
	" cycle_days = excluded.cycle_days," \
	" cycle_source = excluded.cycle_source," \
	" mean_interval_days = excluded.mean_interval_days," \
	" b2b_reason = excluded.b2b_reason, b2b_detail = excluded.b2b_detail," \
	" cart_abandoner = excluded.cart_abandoner," \
	" cart_at = excluded.cart_at, cart_value = excluded.cart_value," \
	" country = excluded.country, currency = excluded.currency," \
	" language = excluded.language, time_zone = excluded.time_zone"
#define INTEREST_INSERT	"INSERT INTO customer_interests" \
	" (generation, customer_id, category, sources, last_at)" \
	" VALUES (?1, ?2, ?3, ?4, ?5)"
#define INTEREST_ROWS	"INSERT INTO customer_interests" \
	" (generation, customer_id, category, sources, last_at) VALUES "
#define INTEREST_ROW	"(?, ?, ?, ?, ?)"

static void
segment_bind(struct db_stmt *s, int64_t gen, int64_t customer_id,
    const struct segment_result *r)
{
	db_bind_int(s, 1, gen);
	db_bind_int(s, 2, customer_id);
	db_bind_int(s, 3, r->flags);
	db_bind_int(s, 4, r->orders);
	db_bind_int(s, 5, r->net_spend);
	db_bind_int(s, 6, r->margin);
	db_bind_int(s, 7, r->uncosted_lines);
	db_bind_int(s, 8, r->first_order_at);
	db_bind_int(s, 9, r->last_order_at);
	db_bind_int(s, 10, r->vip_value);
	db_bind_int(s, 11, r->vip_eligible);
	db_bind_int(s, 12, r->cycle_days);
	db_bind_text(s, 13, r->cycle_source);
	db_bind_int(s, 14, r->mean_interval_days);
	db_bind_text(s, 15, segment_b2b_reason_name(r->b2b_reason));
	db_bind_text(s, 16, r->b2b_detail);
	db_bind_int(s, 17, r->cart_abandoner);
	db_bind_int(s, 18, r->cart_at);
	db_bind_int(s, 19, r->cart_value);
	db_bind_text(s, 20, r->country);
	db_bind_text(s, 21, r->currency);
	db_bind_text(s, 22, r->language);
	db_bind_text(s, 23, r->time_zone);
	db_bind_text(s, 24, conf_lifecycle_name(r->lifecycle));
}

/* R's interests for CUSTOMER_ID in generation GEN, through S. */
static int
interests_insert(struct store *st, struct db_stmt *s, int64_t gen,
    int64_t customer_id, const struct segment_result *r)
{
	size_t i;
	int rc;

	for (i = 0; i < r->ninterests; i++) {
		db_bind_int(s, 1, gen);
		db_bind_int(s, 2, customer_id);
		db_bind_text(s, 3, r->interests[i].category);
		db_bind_int(s, 4, r->interests[i].sources);
		db_bind_int(s, 5, r->interests[i].last_at);
		rc = db_step(s);
		db_reset(s);
		if (rc != DB_DONE)
			return store_fail(st, "interest row");
	}
	return 0;
}

/* The statement writing 2^LOG2 interest rows, prepared on first use. */
static struct db_stmt *
rebuild_interests_stmt(struct store_rebuild *rb, int log2)
{
	struct buf sql;
	size_t i;

	if (rb->ins_int[log2] != NULL)
		return rb->ins_int[log2];
	buf_init(&sql, 4096);
	buf_puts(&sql, INTEREST_ROWS);
	for (i = 0; i < (size_t)1 << log2; i++)
		buf_puts(&sql, i > 0 ? ", " INTEREST_ROW : INTEREST_ROW);
	if ((rb->ins_int[log2] = db_prepare(rb->st->db, buf_str(&sql),
	    1)) == NULL)
		store_fail(rb->st, "interest rows");
	buf_free(&sql);
	return rb->ins_int[log2];
}

/* The interest rows waiting, in as few statements as their count has
 * bits set. */
static int
rebuild_write_interests(struct store_rebuild *rb)
{
	struct db_stmt *s;
	size_t i, k, done;
	int lg, at, rc;

	for (done = 0; done < rb->ninterests; done += k) {
		for (lg = INTERESTS_LOG2; ((size_t)1 << lg) >
		    rb->ninterests - done; lg--)
			;
		k = (size_t)1 << lg;
		if ((s = rebuild_interests_stmt(rb, lg)) == NULL)
			return -1;
		for (i = 0; i < k; i++) {
			at = 5 * (int)i;
			db_bind_int(s, at + 1, rb->generation);
			db_bind_int(s, at + 2,
			    rb->interests[done + i].customer_id);
			db_bind_text(s, at + 3,
			    rb->interests[done + i].in.category);
			db_bind_int(s, at + 4,
			    rb->interests[done + i].in.sources);
			db_bind_int(s, at + 5,
			    rb->interests[done + i].in.last_at);
		}
		rc = db_step(s);
		db_reset(s);
		if (rc != DB_DONE)
			return store_fail(rb->st, "interest rows");
	}
	rb->ninterests = 0;
	return 0;
}

/* Names GEN as the generation being built (0: none), committed. */
static int
segments_building(struct store *st, int64_t gen)
{
	struct db_stmt *s;
	int rc;

	if ((s = db_prepare(st->db, gen > 0 ? "INSERT INTO"
	    " segment_building (id, generation) VALUES (1, ?1)"
	    " ON CONFLICT (id) DO UPDATE SET generation = excluded.generation" :
	    "DELETE FROM segment_building", 0)) == NULL)
		return store_fail(st, "segments");
	if (gen > 0)
		db_bind_int(s, 1, gen);
	rc = db_step(s);
	db_finalize(s);
	return rc == DB_DONE ? 0 : store_fail(st, "segments");
}

/*
 * SQLite's rebuild lock: a file beside the store, locked for the build
 * (flock: it goes with the process).  0, 1 when another process holds
 * it, or -1.
 */
static int
rebuild_lock_file(struct store *st)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s-rebuild", st->path) >=
	    sizeof(path))
		return store_failf(st, "%s-rebuild: path too long", st->path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return store_failf(st, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		if (errno != EWOULDBLOCK)
			return store_failf(st, "%s: %s", path,
			    strerror(errno));
		store_failf(st, "another process is rebuilding this store's"
		    " segments");
		return 1;
	}
	st->rebuild_fd = fd;
	return 0;
}

/*
 * One build at a time: 0 when this one may go, 1 when another holds the
 * lock (another relay of the fleet, another process here), or -1.
 * PostgreSQL's is a session's advisory lock, not a transaction's (a
 * build commits many times); both go with the process if it dies.
 */
static int
rebuild_lock(struct store *st)
{
	struct db_stmt *s;
	enum db_rc rc;
	int64_t got = 0;

	if (db_engine(st->db) != DB_PGSQL)
		return rebuild_lock_file(st);
	if ((s = db_prepare(st->db, "SELECT pg_try_advisory_lock("
	    STORE_PG_REBUILD_KEY ")", 0)) == NULL)
		return store_fail(st, "segments");
	if ((rc = db_step(s)) == DB_ROW)
		got = db_col_int(s, 0);
	db_finalize(s);
	if (rc != DB_ROW)
		return store_fail(st, "segments");
	if (!got) {
		store_failf(st, "another relay is rebuilding this store's"
		    " segments");
		return 1;
	}
	return 0;
}

static void
rebuild_unlock(struct store *st)
{
	if (db_engine(st->db) == DB_PGSQL)
		(void)db_exec(st->db, "SELECT pg_advisory_unlock("
		    STORE_PG_REBUILD_KEY ")");
	else if (st->rebuild_fd != -1) {
		close(st->rebuild_fd);
		st->rebuild_fd = -1;
	}
}

int
store_rebuild_begin(struct store *st, struct store_rebuild **out)
{
	struct store_rebuild *rb;
	int64_t current, maxgen;
	int rc;

	/* one build at a time in a fleet: a second would take the first's
	 * for a crashed one's, and drop it */
	if ((rc = rebuild_lock(st)) != 0)
		return rc;
	/* a crashed build's name first: no change is written into what is
	 * about to be dropped */
	if (segments_building(st, 0) == -1 ||
	    segments_current_generation(st, &current) == -1 ||
	    rebuild_drop_leftovers(st, current, &maxgen) == -1) {
		rebuild_unlock(st);
		return -1;
	}
	rb = xcalloc(1, sizeof(*rb));
	rb->st = st;
	rb->generation = maxgen + 1;
	if (segments_building(st, rb->generation) == -1) {
		rebuild_unlock(st);
		free(rb);
		return -1;
	}
	/* OR IGNORE: a change that arrived meanwhile wrote the row already
	 * (store_segment_put), from facts newer than this build's snapshot */
	if ((rb->ins_seg = db_prepare(st->db, "INSERT INTO"
	    " customer_segments" SEGMENT_COLUMNS " ON CONFLICT DO NOTHING",
	    1)) == NULL) {
		store_fail(st, "segments");
		store_rebuild_abort(rb);
		return -1;
	}
	*out = rb;
	return 0;
}

int
store_rebuild_add(struct store_rebuild *rb, int64_t customer_id,
    const struct segment_result *r)
{
	struct db_stmt *s = rb->ins_seg;
	size_t i;
	int rc;

	if (rebuild_count(rb) == -1)
		return -1;
	segment_bind(s, rb->generation, customer_id, r);
	rc = db_step(s);
	db_reset(s);
	if (rc != DB_DONE)
		return store_fail(rb->st, "segment row");
	/* ignored: the newer row keeps its own interests */
	if (db_changes(rb->st->db) == 0)
		return 0;
	for (i = 0; i < r->ninterests; i++) {
		if (rb->ninterests == sizeof(rb->interests) /
		    sizeof(rb->interests[0]) &&
		    rebuild_write_interests(rb) == -1)
			return -1;
		rb->interests[rb->ninterests].customer_id = customer_id;
		rb->interests[rb->ninterests++].in = r->interests[i];
	}
	return 0;
}

int
store_segment_put(struct store *st, int64_t customer_id,
    const struct segment_result *r, const struct segment_result *building)
{
	struct db_stmt *s;
	int64_t gen[2];
	int i, n = 0, rc;

	/* the published generation, and the one a rebuild may be writing */
	s = store_stmt(st, SQ_SEG_GENERATIONS, "SELECT g.generation,"
	    " (SELECT generation FROM segment_building)"
	    " FROM segment_state g");
	if (s == NULL)
		return -1;
	if ((rc = db_step(s)) == DB_ROW) {
		gen[n++] = db_col_int(s, 0);
		if (db_col_int(s, 1) > gen[0])
			gen[n++] = db_col_int(s, 1);
	}
	store_done(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_fail(st, "segment state");
	for (i = 0; i < n; i++) {
		if ((s = store_stmt(st, SQ_SEG_PUT, "INSERT INTO"
		    " customer_segments" SEGMENT_COLUMNS SEGMENT_REPLACE)) ==
		    NULL)
			return -1;
		segment_bind(s, gen[i], customer_id, i == 0 ? r : building);
		if (store_run(st, s, "segment row") == -1)
			return -1;
		if ((s = store_stmt(st, SQ_SEG_INTERESTS_DEL, "DELETE FROM"
		    " customer_interests WHERE generation = ?1 AND"
		    " customer_id = ?2")) == NULL)
			return -1;
		db_bind_int(s, 1, gen[i]);
		db_bind_int(s, 2, customer_id);
		if (store_run(st, s, "interest rows") == -1)
			return -1;
		if ((s = store_stmt(st, SQ_SEG_INTERESTS_PUT,
		    INTEREST_INSERT)) == NULL ||
		    interests_insert(st, s, gen[i], customer_id, r) == -1)
			return -1;
		store_done(s);
	}
	return 0;
}

int
store_rebuild_kth_value(struct store_rebuild *rb, int64_t k, int64_t *value,
    int64_t *eligible)
{
	struct store *st = rb->st;
	struct db_stmt *s;
	int rc;

	*value = 0;
	*eligible = 0;
	if (rebuild_flush(rb) == -1)
		return -1;
	if ((s = db_prepare(st->db, "SELECT count(*) FROM"
	    " customer_segments WHERE generation = ?1 AND vip_eligible <> 0",
	    0)) == NULL)
		return store_fail(st, "vip");
	db_bind_int(s, 1, rb->generation);
	if (db_step(s) == DB_ROW)
		*eligible = db_col_int(s, 0);
	db_finalize(s);
	if (k < 1 || *eligible == 0)
		return 0;
	if ((s = db_prepare(st->db, "SELECT vip_value FROM"
	    " customer_segments WHERE generation = ?1 AND vip_eligible <> 0"
	    " ORDER BY vip_value DESC LIMIT 1 OFFSET ?2", 0)) == NULL)
		return store_fail(st, "vip");
	db_bind_int(s, 1, rb->generation);
	db_bind_int(s, 2, (k > *eligible ? *eligible : k) - 1);
	rc = db_step(s);
	if (rc == DB_ROW)
		*value = db_col_int(s, 0);
	db_finalize(s);
	if (rc != DB_ROW)
		return store_fail(st, "vip");
	return 0;
}

int
store_rebuild_assign(struct store_rebuild *rb, int64_t threshold,
    store_pick_fn pick, void *arg)
{
	struct store *st = rb->st;
	struct db *reader = NULL;
	struct db_stmt *sel = NULL;
	enum conf_lifecycle lc, old;
	unsigned flags;
	int rc, ret = -1;

	if (rebuild_flush(rb) == -1)
		return -1;
	if (store_connect_reader(st, 10000, &reader) == -1)
		goto out;
	/* only rows at or above the cut can change: the rest are not VIP */
	if ((sel = db_prepare(reader, "SELECT customer_id, flags,"
	    " vip_eligible, vip_value, lifecycle FROM customer_segments"
	    " WHERE generation = ?1 AND vip_eligible <> 0 AND vip_value >= ?2"
	    " ORDER BY customer_id", 0)) == NULL ||
	    (rb->upd == NULL && (rb->upd = db_prepare(st->db,
	    "UPDATE customer_segments SET lifecycle = ?3, flags = ?4"
	    " WHERE generation = ?1 AND customer_id = ?2 AND flags = ?5",
	    1)) == NULL)) {
		store_failf(st, "assign: %s", db_errmsg(sel ? st->db :
		    reader));
		goto out;
	}
	db_bind_int(sel, 1, rb->generation);
	db_bind_int(sel, 2, threshold);
	while ((rc = db_step(sel)) == DB_ROW) {
		if (conf_lifecycle_parse(db_col_text(sel,
		    4), &old) == -1)
			old = LC_SUBSCRIBER;
		lc = pick((unsigned)db_col_int(sel, 1),
		    db_col_int(sel, 2), db_col_int(sel, 3),
		    old, &flags, arg);
		if (lc == old && flags == (unsigned)db_col_int(sel,
		    1))
			continue;
		if (rebuild_count(rb) == -1)
			goto out;
		db_bind_int(rb->upd, 1, rb->generation);
		db_bind_int(rb->upd, 2, db_col_int(sel, 0));
		db_bind_text(rb->upd, 3, conf_lifecycle_name(lc));
		db_bind_int(rb->upd, 4, flags);
		/* a change that arrived since the read (store_segment_put)
		 * wrote a newer row: this one's flags are not to be set */
		db_bind_int(rb->upd, 5, db_col_int(sel, 1));
		rc = db_step(rb->upd);
		db_reset(rb->upd);
		if (rc != DB_DONE) {
			store_fail(st, "assign");
			goto out;
		}
	}
	if (rc != DB_DONE) {
		store_failf(st, "assign: %s", db_errmsg(reader));
		goto out;
	}
	ret = rebuild_flush(rb);
out:
	db_finalize(sel);
	db_close(reader);
	return ret;
}

int
store_rebuild_commit(struct store_rebuild *rb,
    const struct store_segment_meta *m)
{
	struct store *st = rb->st;
	struct db_stmt *s;
	int64_t old;
	int rc;

	if (rebuild_flush(rb) == -1 ||
	    segments_current_generation(st, &old) == -1)
		goto fail;
	if ((s = db_prepare(st->db, "INSERT INTO segment_state"
	    " (id, generation, built_at, customers, vip_threshold,"
	    " vip_eligible, vip_metric, vip_top_percent, config_hash)"
	    " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	    " ON CONFLICT (id) DO UPDATE SET generation = excluded.generation,"
	    " built_at = excluded.built_at, customers = excluded.customers,"
	    " vip_threshold = excluded.vip_threshold,"
	    " vip_eligible = excluded.vip_eligible,"
	    " vip_metric = excluded.vip_metric,"
	    " vip_top_percent = excluded.vip_top_percent,"
	    " config_hash = excluded.config_hash", 0)) == NULL) {
		store_fail(st, "publish");
		goto fail;
	}
	db_bind_int(s, 1, rb->generation);
	db_bind_int(s, 2, m->built_at);
	db_bind_int(s, 3, m->customers);
	db_bind_int(s, 4, m->vip_threshold);
	db_bind_int(s, 5, m->vip_eligible);
	db_bind_text(s, 6, m->vip_metric);
	db_bind_double(s, 7, m->vip_top_percent);
	db_bind_text(s, 8, m->config_hash);
	rc = db_step(s);
	db_finalize(s);
	if (rc != DB_DONE) {
		store_fail(st, "publish");
		goto fail;
	}
	/* Published: a failure below only leaves old rows for next time. */
	rc = old > 0 ? rebuild_delete_generation(st, old) : 0;
	rb->generation = 0;
	store_rebuild_abort(rb);
	return rc;
fail:
	store_rebuild_abort(rb);
	return -1;
}

void
store_rebuild_abort(struct store_rebuild *rb)
{
	int i;

	if (rb == NULL)
		return;
	if (rb->pending > 0)
		store_rollback(rb->st);
	db_finalize(rb->ins_seg);
	for (i = 0; i <= INTERESTS_LOG2; i++)
		db_finalize(rb->ins_int[i]);
	db_finalize(rb->upd);
	/* published or dropped: nothing is being built (errors: the next
	 * rebuild names its own) */
	segments_building(rb->st, 0);
	if (rb->generation > 0)
		rebuild_delete_generation(rb->st, rb->generation);
	rebuild_unlock(rb->st);
	free(rb);
}

int
store_segment_meta(struct store *st, struct store_segment_meta *m)
{
	struct db_stmt *s;
	int rc;

	memset(m, 0, sizeof(*m));
	s = store_stmt(st, SQ_SEG_META, "SELECT generation, built_at,"
	    " customers, vip_threshold, vip_eligible, vip_metric,"
	    " vip_top_percent, config_hash FROM segment_state");
	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		m->generation = db_col_int(s, 0);
		m->built_at = db_col_int(s, 1);
		m->customers = db_col_int(s, 2);
		m->vip_threshold = db_col_int(s, 3);
		m->vip_eligible = db_col_int(s, 4);
		snprintf(m->vip_metric, sizeof(m->vip_metric), "%s",
		    db_col_text(s, 5));
		m->vip_top_percent = db_col_double(s, 6);
		snprintf(m->config_hash, sizeof(m->config_hash), "%s",
		    db_col_text(s, 7));
	}
	store_done(s);
	if (rc == DB_DONE)
		return 1;
	return rc == DB_ROW ? 0 : store_fail(st, "segment state");
}

int
store_segment_get(struct store *st, int64_t customer_id,
    struct segment_result *r)
{
	struct db_stmt *s;
	enum conf_lifecycle lc;
	const char *name;
	int rc;
	size_t i;

	memset(r, 0, sizeof(*r));
	s = store_stmt(st, SQ_SEG_GET, "SELECT s.lifecycle, s.flags, s.orders,"
	    " s.net_spend, s.margin, s.uncosted_lines, s.first_order_at,"
	    " s.last_order_at, s.vip_value, s.vip_eligible, s.cycle_days,"
	    " s.cycle_source, s.mean_interval_days, s.b2b_reason,"
	    " s.b2b_detail, s.cart_abandoner, s.cart_at, s.cart_value,"
	    " s.country, s.currency, s.language, s.time_zone"
	    " FROM customer_segments s"
	    " JOIN segment_state g ON g.generation = s.generation"
	    " WHERE s.customer_id = ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, customer_id);
	rc = db_step(s);
	if (rc != DB_ROW) {
		store_done(s);
		return rc == DB_DONE ? 1 : store_fail(st, "segment");
	}
	name = db_col_text(s, 0);
	r->lifecycle = name && conf_lifecycle_parse(name, &lc) == 0 ? lc :
	    LC_SUBSCRIBER;
	r->flags = (unsigned)db_col_int(s, 1);
	r->orders = db_col_int(s, 2);
	r->net_spend = db_col_int(s, 3);
	r->margin = db_col_int(s, 4);
	r->uncosted_lines = db_col_int(s, 5);
	r->first_order_at = db_col_int(s, 6);
	r->last_order_at = db_col_int(s, 7);
	r->vip_value = db_col_int(s, 8);
	r->vip_eligible = db_col_int(s, 9);
	r->cycle_days = db_col_int(s, 10);
	str_copy(r->cycle_source, sizeof(r->cycle_source),
	    db_col_text(s, 11));
	r->mean_interval_days = db_col_int(s, 12);
	name = db_col_text(s, 13);
	for (i = B2B_NONE; i <= B2B_BULK; i++)
		if (name && strcmp(name, segment_b2b_reason_name(i)) == 0)
			r->b2b_reason = i;
	str_copy(r->b2b_detail, sizeof(r->b2b_detail),
	    db_col_text(s, 14));
	r->cart_abandoner = db_col_int(s, 15);
	r->cart_at = db_col_int(s, 16);
	r->cart_value = db_col_int(s, 17);
	str_copy(r->country, sizeof(r->country), db_col_text(s, 18));
	str_copy(r->currency, sizeof(r->currency), db_col_text(s, 19));
	str_copy(r->language, sizeof(r->language), db_col_text(s, 20));
	str_copy(r->time_zone, sizeof(r->time_zone),
	    db_col_text(s, 21));
	store_done(s);

	return store_segment_interests(st, customer_id, r);
}

int
store_segment_interests(struct store *st, int64_t customer_id,
    struct segment_result *r)
{
	struct db_stmt *s;
	int rc;

	r->ninterests = 0;
	s = store_stmt(st, SQ_SEG_INTERESTS, "SELECT category, sources,"
	    " last_at FROM customer_interests i JOIN segment_state g"
	    " ON g.generation = i.generation WHERE i.customer_id = ?1"
	    " ORDER BY last_at DESC, category");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, customer_id);
	while ((rc = db_step(s)) == DB_ROW &&
	    r->ninterests < SEGMENT_MAX_INTERESTS) {
		struct segment_interest *in = &r->interests[r->ninterests++];

		str_copy(in->category, sizeof(in->category),
		    db_col_text(s, 0));
		in->sources = (unsigned)db_col_int(s, 1);
		in->last_at = db_col_int(s, 2);
	}
	store_done(s);
	if (rc != DB_DONE && rc != DB_ROW)
		return store_fail(st, "interests");
	return 0;
}

_Static_assert(SEG_INTEREST_SEEN == 7 && SEG_INTEREST_DUE == 8 &&
    SEG_INTEREST_LAPSED == 16, "store_segment_counts spells the bits");

int
store_segment_counts(struct store *st, store_count_fn fn, void *arg)
{
	static const struct {
		const char *facet;
		const char *sql;
	} q[] = {
		{ "lifecycle", "SELECT lifecycle, count(*) FROM"
		  " customer_segments s JOIN segment_state USING (generation)"
		  " GROUP BY 1 ORDER BY 2 DESC, 1" },
		{ "cart_abandoner", "SELECT 'yes', count(*) FROM"
		  " customer_segments s JOIN segment_state USING (generation)"
		  " WHERE cart_abandoner <> 0" },
		{ "b2b_reason", "SELECT b2b_reason, count(*) FROM"
		  " customer_segments s JOIN segment_state USING (generation)"
		  " WHERE b2b_reason <> 'none' GROUP BY 1 ORDER BY 2 DESC, 1" },
		/* segment.h's SEG_INTEREST_ bits, asserted above */
		{ "interest", "SELECT category, count(*) FROM"
		  " customer_interests i JOIN segment_state USING (generation)"
		  " WHERE (sources & 7) <> 0 GROUP BY 1 ORDER BY 2 DESC, 1" },
		{ "due", "SELECT category, count(*) FROM"
		  " customer_interests i JOIN segment_state USING (generation)"
		  " WHERE (sources & 8) <> 0 GROUP BY 1 ORDER BY 2 DESC, 1" },
		{ "lapsed_from", "SELECT category, count(*) FROM"
		  " customer_interests i JOIN segment_state USING (generation)"
		  " WHERE (sources & 16) <> 0 GROUP BY 1 ORDER BY 2 DESC, 1" },
		{ "country", "SELECT country, count(*) FROM"
		  " customer_segments s JOIN segment_state USING (generation)"
		  " GROUP BY 1 ORDER BY 2 DESC, 1" },
		{ "currency", "SELECT currency, count(*) FROM"
		  " customer_segments s JOIN segment_state USING (generation)"
		  " GROUP BY 1 ORDER BY 2 DESC, 1" },
		{ "language", "SELECT language, count(*) FROM"
		  " customer_segments s JOIN segment_state USING (generation)"
		  " GROUP BY 1 ORDER BY 2 DESC, 1" },
		{ "time_zone", "SELECT time_zone, count(*) FROM"
		  " customer_segments s JOIN segment_state USING (generation)"
		  " GROUP BY 1 ORDER BY 2 DESC, 1" },
	};
	struct db_stmt *s;
	size_t i;
	int rc, ret = 0, own_txn;

	/* One snapshot for every count (PostgreSQL's BEGIN would give
	 * each statement its own). */
	own_txn = !db_in_transaction(st->db);
	if (own_txn && store_begin_read(st) == -1)
		return -1;
	for (i = 0; i < sizeof(q) / sizeof(q[0]) && ret == 0; i++) {
		if ((s = db_prepare(st->db, q[i].sql, 0)) == NULL) {
			ret = store_fail(st, "counts");
			break;
		}
		while ((rc = db_step(s)) == DB_ROW && ret == 0) {
			const char *v = db_col_text(s, 0);

			ret = fn(q[i].facet, v && *v ? v : "(unknown)",
			    db_col_int(s, 1), arg);
		}
		if (ret == 0 && rc != DB_DONE)
			ret = store_fail(st, "counts");
		db_finalize(s);
	}
	if (own_txn)
		db_exec(st->db, "COMMIT");
	return ret;
}
