/*
 * spool.c - memfd first, an O_TMPFILE file past the limit.
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
#include <sys/sendfile.h>
#include <unistd.h>

#include "spool.h"
#include "xalloc.h"

#define SPOOL_GATHER	(64 * 1024)

struct spool {
	int		 fd;
	int		 on_disk;
	off_t		 size;		/* written to fd */
	size_t		 memory_max;
	char		*dir;
	char		 gather[SPOOL_GATHER];
	size_t		 ngather;
};

struct spool *
spool_new(size_t memory_max, const char *dir, char *err, size_t errlen)
{
	struct spool *sp;
	int fd;

	if ((fd = memfd_create("segmilter-spool", MFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return NULL;
	}
	/* not calloc: zeroing the gather buffer cost more than the copy */
	sp = xmalloc(sizeof(*sp));
	sp->fd = fd;
	sp->on_disk = 0;
	sp->size = 0;
	sp->memory_max = memory_max;
	sp->dir = xstrdup(dir);
	sp->ngather = 0;
	return sp;
}

void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	close(sp->fd);
	free(sp->dir);
	free(sp);
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Moves what the memfd holds into a temporary file in the spool dir. */
static int
spool_to_disk(struct spool *sp, char *err, size_t errlen)
{
	off_t off = 0;
	ssize_t n;
	int fd;

	fd = open(sp->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: temporary file: %s", sp->dir,
		    strerror(errno));
		return -1;
	}
	while (off < sp->size) {
		n = sendfile(fd, sp->fd, &off, (size_t)(sp->size - off));
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", sp->dir,
			    n == 0 ? "short copy" : strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(sp->fd);
	sp->fd = fd;
	sp->on_disk = 1;
	return 0;
}

static int
spool_flush(struct spool *sp, char *err, size_t errlen)
{
	if (sp->ngather == 0)
		return 0;
	if (!sp->on_disk &&
	    (size_t)sp->size + sp->ngather > sp->memory_max &&
	    spool_to_disk(sp, err, errlen) == -1)
		return -1;
	if (write_all(sp->fd, sp->gather, sp->ngather) == -1) {
		snprintf(err, errlen, "spool: %s", strerror(errno));
		return -1;
	}
	sp->size += (off_t)sp->ngather;
	sp->ngather = 0;
	return 0;
}

int
spool_write(struct spool *sp, const void *p, size_t n, char *err,
    size_t errlen)
{
	const char *c = p;
	size_t take;

	while (n > 0) {
		if (sp->ngather == SPOOL_GATHER &&
		    spool_flush(sp, err, errlen) == -1)
			return -1;
		take = SPOOL_GATHER - sp->ngather;
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
spool_each(struct spool *sp, int (*fn)(void *arg, const void *p, size_t n),
    void *arg, char *err, size_t errlen)
{
	char *chunk;
	off_t off = 0;
	ssize_t n;
	int rc = 0;

	if (spool_flush(sp, err, errlen) == -1)
		return -1;
	chunk = xmalloc(SPOOL_GATHER);
	while (rc == 0 && (n = pread(sp->fd, chunk, SPOOL_GATHER, off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "spool: %s", strerror(errno));
			rc = -1;
			break;
		}
		rc = fn(arg, chunk, (size_t)n);
		off += n;
	}
	free(chunk);
	return rc;
}

int
spool_fd(struct spool *sp, char *err, size_t errlen)
{
	if (spool_flush(sp, err, errlen) == -1)
		return -1;
	return sp->fd;
}

