/*
 * spool - one message's bytes while the milter holds them.
 *
 * Small messages stay in memory (a memfd, so that the renderer and the
 * body replacement read them through a file descriptor like any other);
 * once a message passes the memory limit its bytes move to an unlinked
 * temporary file in the spool directory, so a 50 MB message costs disk,
 * not RAM.  Writes are gathered in a small buffer: the milter hands over
 * headers one by one and these must not cost a system call each.
 *
 * Ownership: spool_new() returns a spool the caller frees with
 * spool_free(), which also closes its descriptor.
 */
#ifndef SEGM_SPOOL_H
#define SEGM_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

struct spool;

/* MEMORY_MAX bytes in memory, the rest in DIR.  NULL with ERR. */
struct spool *spool_new(size_t memory_max, const char *dir, char *err,
	    size_t errlen);
void	 spool_free(struct spool *sp);

/* Appends.  0, or -1 with ERR (a full disk, say). */
int	 spool_write(struct spool *sp, const void *p, size_t n, char *err,
	    size_t errlen);
/*
 * Calls FN with everything written, in chunks of at most 64 KB, from the
 * start.  0; FN's non-zero return, which stops the walk; or -1 with ERR
 * when the spool cannot be read.
 */
int	 spool_each(struct spool *sp, int (*fn)(void *arg, const void *p,
	    size_t n), void *arg, char *err, size_t errlen);
/* Everything written is in the descriptor; returns it, or -1 with ERR. */
int	 spool_fd(struct spool *sp, char *err, size_t errlen);

#endif
