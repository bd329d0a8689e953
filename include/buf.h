/*
 * buf - a growable byte buffer with a hard size cap.
 *
 * Every string that is built up piece by piece (SQL-free text, CSV fields,
 * rendered output) goes through a buf so that no code needs strcat or an
 * unbounded sprintf.  A buf refuses to grow past the maximum given to
 * buf_init(): appends then return -1 and leave the contents as they were.
 *
 * The data is always NUL-terminated (the terminator is not counted in len),
 * so b->data can be passed to string functions once anything was appended;
 * before the first append data is NULL.
 *
 * Ownership: the buf owns data until buf_take() hands it to the caller, who
 * then frees it with free().  buf_free() releases it and leaves an empty buf.
 */
#ifndef SEGM_BUF_H
#define SEGM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;	/* largest len allowed */
};

void	 buf_init(struct buf *b, size_t max);
int	 buf_append(struct buf *b, const void *p, size_t n);
/* Room for N more bytes and the terminator, for a writer that fills
 * data + len itself and then adds to len; -1 past the maximum. */
int	 buf_reserve(struct buf *b, size_t n);
int	 buf_puts(struct buf *b, const char *s);
int	 buf_putc(struct buf *b, int c);
int	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void	 buf_reset(struct buf *b);		/* len = 0, memory kept */
char	*buf_take(struct buf *b);		/* caller frees; never NULL */
void	 buf_free(struct buf *b);

/* The contents as a C string: "" when nothing was appended. */
const char *buf_str(const struct buf *b);

#endif
