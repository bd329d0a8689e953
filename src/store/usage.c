/*
 * usage.c - what a store holds, table by table (segctl info): rows, and
 * the bytes of the table with its indexes where SQLite's dbstat table is
 * compiled in (Debian's is); -1 where it is not.  On PostgreSQL, the
 * tables of the store's schema (current_schema()) and their total size,
 * indexes and TOAST with them: the catalogs have no form in common.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

#define USAGE_PGSQL							\
	"SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"\
	" JOIN pg_namespace n ON n.oid = c.relnamespace"		\
	" WHERE n.nspname = current_schema() AND c.relkind = 'r'"	\
	" ORDER BY 2 DESC, 1"

int
store_usage(struct store *st, store_usage_fn fn, void *arg)
{
	struct db_stmt *s, *c;
	char sql[160];
	int64_t rows;
	int rc, stop = 0, sized;

	/* the sizes, when dbstat is there; the tables alone, when not */
	if (db_engine(st->db) == DB_PGSQL)
		sized = (s = db_prepare(st->db, USAGE_PGSQL, 0)) != NULL;
	else
		sized = (s = db_prepare(st->db, "SELECT m.tbl_name,"
		    " sum(d.pgsize) FROM dbstat d JOIN sqlite_schema m"
		    " ON m.name = d.name WHERE m.tbl_name NOT LIKE 'sqlite_%'"
		    " GROUP BY m.tbl_name ORDER BY 2 DESC, 1", 0)) != NULL;
	if (!sized && (s = db_prepare(st->db, "SELECT name, -1 FROM"
	    " sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	    " ORDER BY name", 0)) == NULL)
		return store_fail(st, "usage");
	while (!stop && (rc = db_step(s)) == DB_ROW) {
		/* a name from our own schema, quoted all the same */
		rows = -1;
		if (strchr(db_col_text(s, 0), '"') == NULL &&
		    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"",
		    db_col_text(s, 0)) < (int)sizeof(sql) &&
		    (c = db_prepare(st->db, sql, 0)) != NULL) {
			if (db_step(c) == DB_ROW)
				rows = db_col_int(c, 0);
			db_finalize(c);
		}
		stop = fn(db_col_text(s, 0), rows,
		    db_col_int(s, 1), arg);
	}
	db_finalize(s);
	if (!stop && rc != DB_DONE)
		return store_fail(st, "usage");
	return stop;
}
