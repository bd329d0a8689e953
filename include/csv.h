/*
 * csv - a streaming RFC 4180 reader that knows where every record started,
 * and the one rule for writing a field.
 *
 * Records are read one at a time in bounded memory: quoted fields may hold
 * commas, doubled quotes and line breaks (Shopify's Notes column does), CRLF
 * and LF line ends are both accepted, and a UTF-8 byte order mark at the very
 * start of the file is skipped.
 *
 * A record that cannot be used is still returned, with row->error set to the
 * reason (invalid UTF-8, a NUL byte, a stray quote, a record over
 * CSV_MAX_RECORD bytes), so that the caller reports it as FILE:LINE and goes
 * on with the next one.
 * Only an I/O error or an unterminated quote at end of file ends the stream.
 *
 * Ownership: the fields of a row belong to the reader and stay valid until the
 * next csv_next() or csv_close().
 */
#ifndef SEGM_CSV_H
#define SEGM_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CSV_MAX_RECORD	(1024 * 1024)	/* bytes in one record */
#define CSV_MAX_FIELDS	512

struct csv_reader;

struct csv_row {
	char		**fields;
	size_t		  nfields;
	/* the fields lie one after another from fields[0], each ended by
	 * its NUL: this many bytes in all, for copying a row whole */
	size_t		  size;
	unsigned long	  line;		/* physical line where it started */
	const char	 *error;	/* NULL, or why the record is unusable */
};

/* Writes S (NULL: nothing) as one field, quoted when it needs to be. */
void	 csv_write_field(FILE *fp, const char *s);

/* Opens PATH ("-" is standard input).  NULL with err filled on failure. */
struct csv_reader *csv_open(const char *path, char *err, size_t errlen);
/* Reads from FP, which the reader does not close; NAME is for messages. */
struct csv_reader *csv_open_fp(FILE *fp, const char *name);
void	 csv_close(struct csv_reader *r);

/*
 * Returns 1 with a row, 0 at end of file, -1 on a fatal error (then
 * csv_strerror() says why, prefixed with NAME:LINE).
 */
int	 csv_next(struct csv_reader *r, struct csv_row *row);
const char *csv_strerror(const struct csv_reader *r);
const char *csv_name(const struct csv_reader *r);

/* Bytes consumed so far and the file size (0 if unknown), for progress. */
unsigned long long csv_offset(const struct csv_reader *r);
unsigned long long csv_size(const struct csv_reader *r);

#endif
