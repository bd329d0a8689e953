/*
 * test_checkpoint.c - checkpoints off the commit path: a commit wakes
 * the checkpointer instead of copying the WAL back itself, unless the
 * WAL is eight times over; the checkpoint thread does the copy through
 * its own handle, and one last when stopped; a WAL grown large is cut
 * back when it starts over.
 *
 * What reached the database file is read from a copy of that file
 * alone, without its WAL: a row is there only once a checkpoint copied
 * it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "daemon.h"
#include "store.h"
#include "store_outbox.h"

struct fixture {
	char		 dir[64];
	char		 path[128];
	struct store	*st;
	int		 wakes;
};

static int
setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));
	char err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-ckpt-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/store.db", x->dir);
	assert_int_equal(store_open(x->path, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	/*
	 * The schema in the database file and the WAL file gone: closing
	 * the only handle checkpoints and deletes it.  A checkpoint alone
	 * leaves the file at the size the migrations made it, which the
	 * bound below would then measure (8 migrations passed 48 pages).
	 */
	assert_int_equal(store_checkpoint(x->st, NULL, NULL), 0);
	store_close(x->st);
	assert_int_equal(store_open(x->path, 0, 5000, &x->st, err,
	    sizeof(err)), 0);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *x = *state;
	char cmd[128];

	store_close(x->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

static void
count_wake(void *arg)
{
	((struct fixture *)arg)->wakes++;
}

/* A committed row: the copy with NONCE noted as passed. */
static void
note(struct fixture *x, int i)
{
	char nonce[32];

	snprintf(nonce, sizeof(nonce), "nonce-%d", i);
	assert_int_equal(store_copy_seen(x->st, nonce, "Q1", 1000 + i), 0);
}

/* Whether row I is in the database file itself, its WAL left aside. */
static int
in_db_file(struct fixture *x, int i)
{
	char alone[160], nonce[32], err[512], buf[65536];
	struct store *st;
	FILE *in, *out;
	size_t n;
	int rc;

	snprintf(alone, sizeof(alone), "%s/alone/store.db", x->dir);
	snprintf(buf, sizeof(buf), "rm -rf %s/alone && mkdir %s/alone",
	    x->dir, x->dir);
	assert_int_equal(system(buf), 0);
	assert_non_null(in = fopen(x->path, "rb"));
	assert_non_null(out = fopen(alone, "wb"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(store_open(alone, 0, 5000, &st, err, sizeof(err)),
	    0);
	snprintf(nonce, sizeof(nonce), "nonce-%d", i);
	rc = store_copy_was_seen(st, nonce);
	assert_int_not_equal(rc, -1);
	store_close(st);
	return rc;
}

static off_t
wal_size(struct fixture *x)
{
	char wal[160];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", x->path);
	assert_int_equal(stat(wal, &sb), 0);
	return sb.st_size;
}

/* Over the threshold a commit wakes the checkpointer and copies nothing;
 * a checkpoint through another handle copies all of it. */
static void
test_commit_wakes(void **state)
{
	struct fixture *x = *state;
	struct store *other;
	char err[512];
	int i, wal = -1, copied = -1;

	store_defer_checkpoints(x->st, 4, count_wake, x);
	for (i = 0; x->wakes == 0; i++) {
		assert_true(i < 100);
		note(x, i);
	}
	assert_int_equal(in_db_file(x, 0), 0);
	assert_int_equal(store_open(x->path, 0, 5000, &other, err,
	    sizeof(err)), 0);
	assert_int_equal(store_checkpoint(other, &wal, &copied), 0);
	assert_true(wal >= 4);
	assert_int_equal(copied, wal);
	store_close(other);
	assert_int_equal(in_db_file(x, 0), 1);
	assert_int_equal(in_db_file(x, i - 1), 1);
}

/* Nobody checkpoints: at eight times the threshold a commit does, and the
 * WAL stays bounded (200 commits would be 200 pages or more). */
static void
test_bounded_without_checkpointer(void **state)
{
	struct fixture *x = *state;
	int i;

	store_defer_checkpoints(x->st, 4, count_wake, x);
	for (i = 0; i < 200; i++)
		note(x, i);
	assert_true(x->wakes > 0);
	assert_int_equal(in_db_file(x, 0), 1);
	assert_true(wal_size(x) < 48 * (8192 + 24));
}

/* WAKE NULL: the commits are SQLite's again, nobody is woken, and the
 * automatic checkpoint copies the WAL once it is past 1000 pages. */
static void
test_restore(void **state)
{
	struct fixture *x = *state;
	int i, wakes;

	store_defer_checkpoints(x->st, 4, count_wake, x);
	for (i = 0; x->wakes == 0; i++) {
		assert_true(i < 100);
		note(x, i);
	}
	wakes = x->wakes;
	store_defer_checkpoints(x->st, 0, NULL, NULL);
	for (; i < 40; i++)
		note(x, i);
	assert_int_equal(x->wakes, wakes);
	assert_int_equal(in_db_file(x, 39), 0);	/* under SQLite's 1000 */
	for (; i < 1200; i++)
		note(x, i);			/* a page or more each */
	assert_int_equal(in_db_file(x, 39), 1);
}

/* The checkpoint thread: woken by the commits, it runs; stopped, it
 * copies what came since.  A second thread for the second part, one that
 * is never woken, so that its only checkpoint is the one at its stop. */
static void
test_checkpoint_thread(void **state)
{
	struct fixture *x = *state;
	struct daemon_ckpt *ck;
	int i;

	assert_non_null(ck = daemon_ckpt_start(x->path, 5000));
	store_defer_checkpoints(x->st, 16, daemon_ckpt_wake, ck);
	for (i = 0; i < 40; i++)
		note(x, i);		/* past 16 pages, under 8 * 16 */
	for (i = 0; daemon_ckpt_runs(ck) == 0; i++) {
		assert_true(i < 10000);
		usleep(1000);
	}
	store_defer_checkpoints(x->st, 0, NULL, NULL);
	daemon_ckpt_stop(ck);
	assert_int_equal(in_db_file(x, 39), 1);

	assert_non_null(ck = daemon_ckpt_start(x->path, 5000));
	note(x, 1000);
	assert_int_equal(in_db_file(x, 1000), 0);
	daemon_ckpt_stop(ck);
	assert_int_equal(in_db_file(x, 1000), 1);
}

/* A WAL that grew past STORE_WAL_KEEP (its checkpoints held back) is
 * cut back to it by the first commit after it starts over. */
static void
test_wal_cut_back(void **state)
{
	struct fixture *x = *state;
	int i, wal = -1, copied = -1;

	/* a threshold never reached: nobody checkpoints meanwhile */
	store_defer_checkpoints(x->st, 1000000, count_wake, x);
	for (i = 0; wal_size(x) <= STORE_WAL_KEEP + STORE_WAL_KEEP / 4; i++) {
		assert_true(i < 20000);
		note(x, i);
	}
	assert_int_equal(x->wakes, 0);
	assert_int_equal(store_checkpoint(x->st, &wal, &copied), 0);
	assert_int_equal(copied, wal);
	assert_true(wal_size(x) > STORE_WAL_KEEP);	/* not yet */
	note(x, i);
	assert_true(wal_size(x) <= STORE_WAL_KEEP);
	assert_int_equal(in_db_file(x, i - 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_wakes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_bounded_without_checkpointer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_thread, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wal_cut_back, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
