/*
 * sqlite.h - the SQLite engine: a store in one file, beside its -wal and
 * -shm.  What only this engine has (a file, write-ahead log checkpoints,
 * waits on another process's lock) is here; everything else is db.h.
 */
#ifndef SEGM_STORE_SQLITE_H
#define SEGM_STORE_SQLITE_H

#include <stdint.h>

#include "../db.h"

#define SQLITE_DB_CREATE	0x1	/* make the file if it is missing */
#define SQLITE_DB_READONLY	0x2

/*
 * Opens PATH.  Waits for another connection's lock up to BUSY_MS (0: no
 * wait) in short sleeps.  0, or -1 with ERR.
 */
int	 sqlite_db_open(const char *path, int flags, int64_t busy_ms,
	    struct db **out, char *err, size_t errlen);

/* As store_defer_checkpoints(); WAKE NULL gives SQLite's own back. */
void	 sqlite_db_defer_checkpoints(struct db *db, int pages, int bound,
	    int autopages, void (*wake)(void *), void *arg);
/* A passive checkpoint; DB_BUSY when another runs. */
enum db_rc sqlite_db_checkpoint(struct db *db, int *wal, int *copied);
/* A truncating checkpoint; DB_BUSY when a reader holds it back. */
enum db_rc sqlite_db_checkpoint_truncate(struct db *db);

#endif
