/*
 * csvpipe.c - read-ahead through a ring of batch buffers.
 *
 * The reading thread fills a free batch with up to BATCH_ROWS rows (each
 * copied in whole, its fields' offsets noted, made pointers once the data
 * stops moving), marks it full and moves to the next; the caller empties
 * full batches in order, handed the pointers as they are.  One lock
 * and two condition variables guard the batch states; the contents of a
 * batch belong to whichever side its state says, so they need no lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvpipe.h"
#include "xalloc.h"

#define NBATCHES	4
#define BATCH_ROWS	512

struct pipe_row {
	size_t		 first;		/* index of its first field offset */
	size_t		 nfields, size;
	unsigned long	 line;
	const char	*error;		/* csv.c's errors are literals */
};

struct batch {
	int		 full;		/* 1: the caller's, 0: the reader's */
	int		 end;		/* 0 rows follow: 0 eof, -1 error */
	int		 end_rc;
	char		*data;
	size_t		 len, cap;
	size_t		*offs;		/* field start offsets into data */
	size_t		 noffs, offcap;
	char		**fields;	/* ... as pointers, once data is full */
	struct pipe_row	 rows[BATCH_ROWS];
	size_t		 nrows;
	unsigned long long offset;	/* file offset after the last row */
};

struct csv_pipe {
	struct csv_reader *r;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 filled, emptied;
	int		 stop;
	struct batch	 b[NBATCHES];
	size_t		 cur, pos;	/* the caller's batch and row */
	int		 holding;	/* the caller holds b[cur] */
	char		 err[512];
	unsigned long long offset;
};

static void
batch_reserve(struct batch *b, size_t bytes, size_t offs)
{
	while (b->len + bytes > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64 * 1024;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
	while (b->noffs + offs > b->offcap) {
		b->offcap = b->offcap ? b->offcap * 2 : 4096;
		b->offs = xreallocarray(b->offs, b->offcap, sizeof(*b->offs));
		b->fields = xreallocarray(b->fields, b->offcap,
		    sizeof(*b->fields));
	}
}

/* Copies ROW into B, its fields in one piece (a wide export has many). */
static void
batch_add(struct batch *b, const struct csv_row *row)
{
	struct pipe_row *pr = &b->rows[b->nrows++];
	size_t i;

	pr->first = b->noffs;
	pr->nfields = row->nfields;
	pr->size = row->size;
	pr->line = row->line;
	pr->error = row->error;
	batch_reserve(b, row->size, row->nfields);
	memcpy(b->data + b->len, row->fields[0], row->size);
	for (i = 0; i < row->nfields; i++)
		b->offs[b->noffs++] = b->len +
		    (size_t)(row->fields[i] - row->fields[0]);
	b->len += row->size;
}

static void *
pipe_reader(void *arg)
{
	struct csv_pipe *p = arg;
	struct csv_row row;
	struct batch *b;
	size_t i = 0, j;
	int rc = 1, stop;

	while (rc == 1) {
		b = &p->b[i];
		pthread_mutex_lock(&p->lock);
		while (b->full && !p->stop)
			pthread_cond_wait(&p->emptied, &p->lock);
		stop = p->stop;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		b->len = b->noffs = b->nrows = 0;
		b->end = 0;
		while (b->nrows < BATCH_ROWS && (rc = csv_next(p->r, &row)) == 1)
			batch_add(b, &row);
		if (rc != 1) {
			b->end = 1;
			b->end_rc = rc;
			if (rc == -1)
				snprintf(p->err, sizeof(p->err), "%s",
				    csv_strerror(p->r));
		}
		b->offset = csv_offset(p->r);
		/* here rather than in the caller, whose thread is the busier */
		for (j = 0; j < b->noffs; j++)
			b->fields[j] = b->data + b->offs[j];
		pthread_mutex_lock(&p->lock);
		b->full = 1;
		pthread_cond_signal(&p->filled);
		pthread_mutex_unlock(&p->lock);
		i = (i + 1) % NBATCHES;
	}
	return NULL;
}

struct csv_pipe *
csv_pipe_start(struct csv_reader *r)
{
	struct csv_pipe *p = xcalloc(1, sizeof(*p));
	int e;

	p->r = r;
	p->offset = csv_offset(r);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->emptied, NULL);
	if ((e = pthread_create(&p->thread, NULL, pipe_reader, p)) != 0) {
		pthread_cond_destroy(&p->emptied);
		pthread_cond_destroy(&p->filled);
		pthread_mutex_destroy(&p->lock);
		free(p);
		errno = e;
		return NULL;
	}
	return p;
}

/* Hands b[cur] back to the reader and moves to the next batch. */
static void
pipe_release(struct csv_pipe *p)
{
	pthread_mutex_lock(&p->lock);
	p->b[p->cur].full = 0;
	pthread_cond_signal(&p->emptied);
	pthread_mutex_unlock(&p->lock);
	p->holding = 0;
	p->pos = 0;
	p->cur = (p->cur + 1) % NBATCHES;
}

int
csv_pipe_next(struct csv_pipe *p, struct csv_row *row)
{
	struct batch *b;
	struct pipe_row *pr;

	for (;;) {
		b = &p->b[p->cur];
		if (!p->holding) {
			pthread_mutex_lock(&p->lock);
			while (!b->full)
				pthread_cond_wait(&p->filled, &p->lock);
			pthread_mutex_unlock(&p->lock);
			p->holding = 1;
		}
		if (p->pos < b->nrows)
			break;
		p->offset = b->offset;
		if (b->end)
			return b->end_rc;	/* the batch stays held */
		pipe_release(p);
	}
	pr = &b->rows[p->pos++];
	row->fields = b->fields + pr->first;
	row->nfields = pr->nfields;
	row->size = pr->size;
	row->line = pr->line;
	row->error = pr->error;
	if (p->pos == b->nrows)
		p->offset = b->offset;
	return 1;
}

const char *
csv_pipe_strerror(const struct csv_pipe *p)
{
	return p->err;
}

unsigned long long
csv_pipe_offset(const struct csv_pipe *p)
{
	return p->offset;
}

void
csv_pipe_stop(struct csv_pipe *p)
{
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->emptied);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	for (i = 0; i < NBATCHES; i++) {
		free(p->b[i].data);
		free(p->b[i].offs);
		free(p->b[i].fields);
	}
	pthread_cond_destroy(&p->emptied);
	pthread_cond_destroy(&p->filled);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
