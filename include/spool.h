/*
 * spool - one message's bytes while the milter holds them.
 *
 * Small messages stay in process memory, so that holding, parsing and
 * rewriting a campaign message of a few kilobytes costs no system call;
 * once a message passes the memory limit its bytes move to an unlinked
 * temporary file in the spool directory, so a 50 MB message costs disk,
 * not RAM.  Writes to the file are gathered in a buffer: the milter hands
 * over headers one by one and these must not cost a system call each.
 *
 * Errors are kept in the spool, like a stdio stream's: a function that
 * fails returns -1 (or NULL) and spool_error() says why.
 *
 * Ownership: spool_new() returns a spool the caller frees with
 * spool_free(), which also closes its file and drops its mapping.
 */
#ifndef SEGM_SPOOL_H
#define SEGM_SPOOL_H

#include <stddef.h>

struct spool;

/* MEMORY_MAX bytes in memory, the rest in a file in DIR. */
struct spool *spool_new(size_t memory_max, const char *dir);
void	 spool_free(struct spool *sp);

/* Appends.  0, or -1 (a full disk, say). */
int	 spool_write(struct spool *sp, const void *p, size_t n);

/* spool_write() for a writer that takes a void * (render_apply's). */
int	 spool_put(void *sp, const void *p, size_t n);

/* How many bytes were written. */
size_t	 spool_size(const struct spool *sp);

/* Drops what was written past LEN (a rendering that failed midway). */
int	 spool_truncate(struct spool *sp, size_t len);

/*
 * Calls FN with everything written, in chunks of at most 64 KB, from the
 * start; spool_range() with LEN bytes from AT.  A file is read, not
 * mapped: walking copies of a 30 MB message one after another must not
 * keep each one's pages in the process.  0; FN's non-zero return, which
 * stops the walk; or -1 when the spool cannot be read (or holds less).
 */
typedef int (*spool_fn)(void *arg, const void *p, size_t n);
int	 spool_each(struct spool *sp, spool_fn fn, void *arg);
int	 spool_range(struct spool *sp, size_t at, size_t len, spool_fn fn,
	    void *arg);

/*
 * Everything written, as one piece of memory of *LEN bytes (a file is
 * mapped), valid until the next spool_write() or spool_free(); NULL when
 * the file cannot be mapped.
 */
const char *spool_data(struct spool *sp, size_t *len);

/* Why the last call failed. */
const char *spool_error(const struct spool *sp);

#endif
