/*
 * spool.c - memory first, an O_TMPFILE file past the limit.
 *
 * An unlinked file disappears with the process, so a crash leaves no
 * customer mail behind in the spool directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "spool.h"
#include "xalloc.h"

#define SPOOL_CHUNK	(64 * 1024)	/* gathered writes; spool_each */
#define SPOOL_FIRST	(32 * 1024)	/* first memory, most messages */

struct spool {
	char		*mem;		/* the bytes, while in memory */
	size_t		 len;
	size_t		 cap;
	size_t		 memory_max;
	int		 fd;		/* -1 while in memory */
	off_t		 size;		/* written to fd */
	char		*gather;	/* writes on their way to fd */
	size_t		 ngather;
	void		*map;		/* spool_data's mapping of fd */
	size_t		 maplen;
	char		*dir;
	char		 err[256];
};

struct spool *
spool_new(size_t memory_max, const char *dir)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));

	sp->memory_max = memory_max;
	sp->fd = -1;
	sp->dir = xstrdup(dir);
	return sp;
}

static void
spool_unmap(struct spool *sp)
{
	if (sp->map != NULL)
		munmap(sp->map, sp->maplen);
	sp->map = NULL;
	sp->maplen = 0;
}

void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	spool_unmap(sp);
	if (sp->fd != -1)
		close(sp->fd);
	free(sp->mem);
	free(sp->gather);
	free(sp->dir);
	free(sp);
}

const char *
spool_error(const struct spool *sp)
{
	return sp->err;
}

static int
write_all(struct spool *sp, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(sp->fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(sp->err, sizeof(sp->err), "%s: %s", sp->dir,
			    strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
		sp->size += w;
	}
	return 0;
}

/* Moves what memory holds into a temporary file in the spool dir. */
static int
spool_to_disk(struct spool *sp)
{
	sp->fd = open(sp->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sp->fd == -1) {
		snprintf(sp->err, sizeof(sp->err), "%s: temporary file: %s",
		    sp->dir, strerror(errno));
		return -1;
	}
	if (write_all(sp, sp->mem, sp->len) == -1)
		return -1;
	free(sp->mem);
	sp->mem = NULL;
	sp->len = sp->cap = 0;
	sp->gather = xmalloc(SPOOL_CHUNK);
	return 0;
}

static int
spool_flush(struct spool *sp)
{
	if (sp->ngather == 0)
		return 0;
	if (write_all(sp, sp->gather, sp->ngather) == -1)
		return -1;
	sp->ngather = 0;
	return 0;
}

static void
spool_remember(struct spool *sp, const void *p, size_t n)
{
	size_t cap = sp->cap > 0 ? sp->cap : SPOOL_FIRST;

	while (cap < sp->len + n)
		cap *= 2;
	if (cap > sp->memory_max)
		cap = sp->memory_max;
	if (cap != sp->cap) {
		sp->mem = xreallocarray(sp->mem, cap, 1);
		sp->cap = cap;
	}
	memcpy(sp->mem + sp->len, p, n);
	sp->len += n;
}

int
spool_write(struct spool *sp, const void *p, size_t n)
{
	const char *c = p;
	size_t take;

	spool_unmap(sp);
	if (sp->fd == -1) {
		if (n <= sp->memory_max - sp->len) {
			spool_remember(sp, p, n);
			return 0;
		}
		if (spool_to_disk(sp) == -1)
			return -1;
	}
	while (n > 0) {
		if (sp->ngather == SPOOL_CHUNK && spool_flush(sp) == -1)
			return -1;
		take = SPOOL_CHUNK - sp->ngather;
		if (take > n)
			take = n;
		memcpy(sp->gather + sp->ngather, c, take);
		sp->ngather += take;
		c += take;
		n -= take;
	}
	return 0;
}

int
spool_put(void *sp, const void *p, size_t n)
{
	return spool_write(sp, p, n);
}

const char *
spool_data(struct spool *sp, size_t *len)
{
	if (sp->fd == -1) {
		*len = sp->len;
		return sp->len > 0 ? sp->mem : "";
	}
	if (spool_flush(sp) == -1)
		return NULL;
	if (sp->size == 0) {
		*len = 0;
		return "";
	}
	if (sp->map == NULL) {
		sp->map = mmap(NULL, (size_t)sp->size, PROT_READ, MAP_SHARED,
		    sp->fd, 0);
		if (sp->map == MAP_FAILED) {
			sp->map = NULL;
			snprintf(sp->err, sizeof(sp->err), "%s: map: %s",
			    sp->dir, strerror(errno));
			return NULL;
		}
		sp->maplen = (size_t)sp->size;
	}
	*len = sp->maplen;
	return sp->map;
}

size_t
spool_size(const struct spool *sp)
{
	return sp->fd == -1 ? sp->len : (size_t)sp->size + sp->ngather;
}

int
spool_truncate(struct spool *sp, size_t len)
{
	if (len >= spool_size(sp))
		return 0;
	spool_unmap(sp);
	if (sp->fd == -1) {
		sp->len = len;
		return 0;
	}
	if (spool_flush(sp) == -1)
		return -1;
	if (ftruncate(sp->fd, (off_t)len) == -1 ||
	    lseek(sp->fd, (off_t)len, SEEK_SET) == -1) {
		snprintf(sp->err, sizeof(sp->err), "%s: truncate: %s",
		    sp->dir, strerror(errno));
		return -1;
	}
	sp->size = (off_t)len;
	return 0;
}

int
spool_range(struct spool *sp, size_t at, size_t len, spool_fn fn, void *arg)
{
	char *chunk;
	size_t n;
	ssize_t r;
	int rc = 0;

	if (at > spool_size(sp) || len > spool_size(sp) - at) {
		snprintf(sp->err, sizeof(sp->err), "%s: past the end",
		    sp->dir);
		return -1;
	}
	for (; sp->fd == -1 && rc == 0 && len > 0; at += n, len -= n) {
		n = len < SPOOL_CHUNK ? len : SPOOL_CHUNK;
		rc = fn(arg, sp->mem + at, n);
	}
	if (sp->fd == -1 || rc != 0)
		return rc;
	if (spool_flush(sp) == -1)
		return -1;
	chunk = xmalloc(SPOOL_CHUNK);
	while (rc == 0 && len > 0) {
		n = len < SPOOL_CHUNK ? len : SPOOL_CHUNK;
		if ((r = pread(sp->fd, chunk, n, (off_t)at)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			snprintf(sp->err, sizeof(sp->err), "%s: read: %s",
			    sp->dir, r == 0 ? "short file" : strerror(errno));
			rc = -1;
			break;
		}
		rc = fn(arg, chunk, (size_t)r);
		at += (size_t)r;
		len -= (size_t)r;
	}
	free(chunk);
	return rc;
}

int
spool_each(struct spool *sp, spool_fn fn, void *arg)
{
	return spool_range(sp, 0, spool_size(sp), fn, arg);
}
