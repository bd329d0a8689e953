/*
 * test_store.c - a store handle against the file at its path
 * (store_check_file): the file deleted under it, replaced by a copy or by
 * garbage, made unreadable.  The daemon checks before every message; a handle that
 * went on with a deleted file wrote rows nobody would see and read
 * consent that had since changed.  And how much of its file a handle
 * maps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "store_lookup.h"
#include "store_record.h"

struct sx {
	char		 dir[64];
	char		 db[128];
	char		 copy[128];
};

static void
add_customer(const char *path, const char *email)
{
	struct store_customer c;
	enum store_change ch;
	struct store *st;
	char err[512];
	int64_t id;

	assert_int_equal(store_open(path, STORE_CREATE, 5000, &st, err,
	    sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	c.email = email;
	assert_int_equal(store_customer_upsert(st, &c, &id, &ch), 0);
	store_close(st);
}

/* A handle on X's store, as segmilter opens it. */
static struct store *
open_store(const struct sx *x)
{
	struct store *st;
	char err[512];

	if (store_open(x->db, STORE_DAEMON, 5000, &st, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	return st;
}

static int
setup(void **state)
{
	struct sx *x = calloc(1, sizeof(*x));

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-store.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->db, sizeof(x->db), "%s/store.db", x->dir);
	snprintf(x->copy, sizeof(x->copy), "%s/copy.db", x->dir);
	add_customer(x->db, "ann@example.com");
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct sx *x = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

static void
test_unchanged(void **state)
{
	struct sx *x = *state;
	struct store *st;
	int64_t id;

	st = open_store(x);
	assert_int_equal(store_check_file(st), 0);
	assert_int_equal(store_customer_find(st, "ann@example.com", &id), 0);
	assert_int_equal(store_check_file(st), 0);
	store_close(st);
}

/* Deleted: -1 until a file is back, and never a new empty store. */
static void
test_deleted(void **state)
{
	struct sx *x = *state;
	struct store *st;
	char wal[160];

	st = open_store(x);
	assert_int_equal(unlink(x->db), 0);
	snprintf(wal, sizeof(wal), "%s-wal", x->db);
	unlink(wal);
	assert_int_equal(store_check_file(st), -1);
	assert_non_null(strstr(store_error(st), "No such file or directory"));
	assert_int_equal(store_check_file(st), -1);
	assert_int_equal(access(x->db, F_OK), -1);
	store_close(st);
}

/*
 * Replaced by another store (a restored copy that knows a customer the
 * old one did not) while the handle had written to its WAL: -1, and the
 * handle never uses the new file.  Reopened in place, it read the old
 * WAL over the new file and, on closing, copied the old rows into it.
 */
static void
test_replaced(void **state)
{
	struct sx *x = *state;
	struct store_customer c;
	enum store_change ch;
	struct store *st;
	char email[160];
	int64_t id;
	int i;

	st = open_store(x);
	assert_int_equal(store_begin(st), 0);
	for (i = 0; i < 300; i++) {
		snprintf(email, sizeof(email), "old%d@example.com", i);
		memset(&c, 0, sizeof(c));
		c.email = email;
		assert_int_equal(store_customer_upsert(st, &c, &id, &ch), 0);
	}
	assert_int_equal(store_commit(st), 0);
	add_customer(x->copy, "ann@example.com");
	add_customer(x->copy, "bea@example.com");
	assert_int_equal(rename(x->copy, x->db), 0);
	assert_int_equal(store_check_file(st), -1);
	assert_non_null(strstr(store_error(st), "was replaced while open"));
	store_close(st);

	/* a restart as the error says, without the old -wal and -shm: the
	 * copy, whole, and nothing of the old store */
	snprintf(email, sizeof(email), "%s-wal", x->db);
	unlink(email);
	snprintf(email, sizeof(email), "%s-shm", x->db);
	unlink(email);
	st = open_store(x);
	assert_int_equal(store_customer_find(st, "bea@example.com", &id), 0);
	assert_int_equal(store_customer_find(st, "old5@example.com", &id), 1);
	store_close(st);
}

/* Replaced by something that is not a store: -1, with the reason. */
static void
test_replaced_by_garbage(void **state)
{
	struct sx *x = *state;
	struct store *st;
	FILE *fp;

	st = open_store(x);
	assert_non_null(fp = fopen(x->copy, "w"));
	fputs("not a database, but long enough to look like a header to"
	    " SQLite: 0123456789012345678901234567890123456789\n", fp);
	fclose(fp);
	assert_int_equal(rename(x->copy, x->db), 0);
	assert_int_equal(store_check_file(st), -1);
	assert_non_null(strstr(store_error(st), "was replaced while open"));
	store_close(st);
}

/*
 * Made unreadable (chmod 000) while open: -1.  Root reads any file, so
 * the check runs in a child that is the unprivileged owner of the store,
 * as segmilter is once it drops privileges.
 */
static void
test_unreadable(void **state)
{
	struct sx *x = *state;
	struct store *st;
	char err[512], path[160];
	int status, rc;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/own.db", x->dir);
	assert_int_equal(chmod(x->dir, 0777), 0);
	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) == -1 ||
		    setuid(65534) == -1))
			_exit(10);
		if (store_open(path, STORE_CREATE, 5000, &st, err,
		    sizeof(err)) == -1)
			_exit(11);
		if (store_check_file(st) != 0)
			_exit(12);
		if (chmod(path, 0) == -1)
			_exit(13);
		rc = store_check_file(st);
		if (rc != -1 || strstr(store_error(st),
		    "Permission denied") == NULL)
			_exit(14);
		chmod(path, 0600);
		rc = store_check_file(st);
		store_close(st);
		_exit(rc == 0 ? 0 : 15);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* How many bytes of the file at PATH this process maps. */
static size_t
mapped(const char *path)
{
	unsigned long from, to;
	char line[512], *name;
	size_t n = 0;
	FILE *fp;

	assert_non_null(fp = fopen("/proc/self/maps", "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((name = strchr(line, '/')) == NULL ||
		    strcmp(name, path) != 0)
			continue;
		assert_int_equal(sscanf(line, "%lx-%lx", &from, &to), 2);
		n += to - from;
	}
	fclose(fp);
	return n;
}

/*
 * A daemon's handle maps at most 64 MiB of the store, whatever its size:
 * the pages a process touches through its map count as its memory, and
 * a daemon in days touches all of them.  segctl's handles map up to 1
 * GiB.  Seen on a store whose file is 256 MiB (sparse).
 */
static void
test_daemon_map(void **state)
{
	struct sx *x = *state;
	struct store *st;
	char err[512];
	int64_t id;

	assert_int_equal(truncate(x->db, 256 << 20), 0);
	st = open_store(x);
	assert_int_equal(store_customer_find(st, "ann@example.com", &id), 0);
	assert_int_equal(mapped(x->db), 64 << 20);
	store_close(st);
	assert_int_equal(store_open(x->db, 0, 5000, &st, err, sizeof(err)),
	    0);
	assert_int_equal(store_customer_find(st, "ann@example.com", &id), 0);
	assert_int_equal(mapped(x->db), 256 << 20);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unchanged, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replaced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replaced_by_garbage,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_daemon_map, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
