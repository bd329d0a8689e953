/*
 * usage.c - what a store holds, table by table (segctl info): rows, and
 * the bytes of the table with its indexes where SQLite's dbstat table is
 * compiled in (Debian's is); -1 where it is not.
 */
#include <sqlite3.h>

#include "store_int.h"

int
store_usage(struct store *st, store_usage_fn fn, void *arg)
{
	sqlite3_stmt *s, *c;
	char sql[160];
	int64_t rows;
	int rc, stop = 0, sized;

	/* the sizes, when dbstat is there; the tables alone, when not */
	sized = sqlite3_prepare_v2(st->db, "SELECT m.tbl_name, sum(d.pgsize)"
	    " FROM dbstat d JOIN sqlite_schema m ON m.name = d.name"
	    " WHERE m.tbl_name NOT LIKE 'sqlite_%'"
	    " GROUP BY m.tbl_name ORDER BY 2 DESC, 1", -1, &s, NULL) ==
	    SQLITE_OK;
	if (!sized && sqlite3_prepare_v2(st->db, "SELECT name, -1 FROM"
	    " sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	    " ORDER BY name", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "usage");
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		/* a name from our own schema, quoted and escaped all the same */
		sqlite3_snprintf(sizeof(sql), sql, "SELECT count(*) FROM"
		    " \"%w\"", (const char *)sqlite3_column_text(s, 0));
		rows = -1;
		if (sqlite3_prepare_v2(st->db, sql, -1, &c, NULL) ==
		    SQLITE_OK) {
			if (sqlite3_step(c) == SQLITE_ROW)
				rows = sqlite3_column_int64(c, 0);
			sqlite3_finalize(c);
		}
		stop = fn((const char *)sqlite3_column_text(s, 0), rows,
		    sqlite3_column_int64(s, 1), arg);
	}
	sqlite3_finalize(s);
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, "usage");
	return stop;
}
