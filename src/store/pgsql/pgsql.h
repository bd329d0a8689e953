/*
 * pgsql.h - the PostgreSQL engine: a store shared by a fleet of relays.
 *
 * The store is named by a libpq URI (postgresql://...); credentials come
 * from the URI, the PG* environment or a password file, as libpq reads
 * them, and never appear in a message: pgsql_db_redact() is what may be
 * shown.  A connection lost is opened again at the next use, with
 * backoff; a transaction under way when it went is lost with it, and the
 * caller sees an error.
 */
#ifndef SEGM_STORE_PGSQL_H
#define SEGM_STORE_PGSQL_H

#include <stddef.h>
#include <stdint.h>

#include "../db.h"

/* Whether NAME is a PostgreSQL store's URI rather than a file. */
int	 pgsql_db_is_uri(const char *name);
/* URI with any password replaced by "***", into OUT. */
void	 pgsql_db_redact(const char *uri, char *out, size_t outlen);

/*
 * Connects to URI, waiting up to TIMEOUT_MS (0: libpq's own) for the
 * server.  0, or -1 with ERR (redacted).
 */
int	 pgsql_db_open(const char *uri, int64_t timeout_ms, struct db **out,
	    char *err, size_t errlen);

/* Statement round trips to the server since the connection opened. */
uint64_t pgsql_db_round_trips(const struct db *db);

#endif
