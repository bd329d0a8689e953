/*
 * fstore.h - the store a fuzz target runs on, and the target's own
 * connection behind the store's back; tests/unit/tstore.c names and
 * opens the unit tests' stores with it too.
 *
 * A store is a file in the target's directory or, when SEGM_TEST_PGSQL
 * holds a PostgreSQL URI, a schema of its own on that server: tests/run.sh
 * replays the corpus of each target that takes its store from here a
 * second time on its private PostgreSQL.  A target makes its store once
 * per process, so a server costs a connection per run, not per input.
 * libFuzzer's runs (tests/fuzz/explore.sh) stay on SQLite.  Every
 * failure here prints why and exits 1: a target that cannot set up has
 * found nothing.
 */
#ifndef SEGM_FSTORE_H
#define SEGM_FSTORE_H

#include <stddef.h>

struct db;

/* A new store's name, for a store in DIR (a file there, or a schema). */
void	 fstore_name(const char *dir, char *out, size_t outlen);
/* A connection of the target's own to the store NAME (src/store/db.h),
 * to set a scene or empty the store between inputs. */
struct db *fstore_open(const char *name);
/* The store NAME gone: its file and those beside it, or its schema. */
void	 fstore_remove(const char *name);

#endif
