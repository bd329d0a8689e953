/*
 * csv.c - a streaming RFC 4180 reader.
 *
 * Input is read in blocks and scanned byte by byte by a small state
 * machine.  The fields of one record are kept NUL-separated in a single
 * growing buffer (capped at CSV_MAX_RECORD), and the field pointers are
 * set only once the record is complete, since the buffer may move while
 * it grows.
 *
 * A record that breaks the rules (a stray quote, too long, too many
 * fields, invalid UTF-8) is read to its end all the same, so that the
 * next record starts in the right place, and is returned with an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "parse.h"
#include "xalloc.h"

#define CSV_BLOCK	(64 * 1024)

enum csv_state {
	ST_FIELD_START,		/* nothing of this field read yet */
	ST_UNQUOTED,
	ST_QUOTED,
	ST_QUOTE_IN_QUOTED	/* a '"' inside quotes: "" or the end */
};

struct csv_reader {
	FILE		*fp;
	int		 own;		/* we fclose() fp */
	char		*name;
	unsigned char	 in[CSV_BLOCK];
	size_t		 ipos, ilen;
	int		 eof;
	int		 started;	/* the BOM check was done */
	unsigned long	 line;		/* physical line of the next byte */
	unsigned long long offset, size;

	char		*rec;		/* NUL-separated fields */
	size_t		 reclen, reccap;
	size_t		*starts;	/* offset of each field in rec */
	char		**fields;
	size_t		 nfields;
	char		 err[512];
};

/*
 * Bytes that end a run: in a plain field, and inside quotes.  A NUL ends
 * one too, so that csv_put refuses it: it would end the field unseen.
 */
static const unsigned char stop_plain[256] = {
	['\0'] = 1, [','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1
};
static const unsigned char stop_quoted[256] = {
	['\0'] = 1, ['"'] = 1, ['\n'] = 1
};

struct csv_reader *
csv_open_fp(FILE *fp, const char *name)
{
	struct csv_reader *r;
	struct stat sb;

	r = xcalloc(1, sizeof(*r));
	r->fp = fp;
	r->name = xstrdup(name);
	r->line = 1;
	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode))
		r->size = (unsigned long long)sb.st_size;
	r->reccap = 4096;
	r->rec = xmalloc(r->reccap);
	r->starts = xreallocarray(NULL, CSV_MAX_FIELDS, sizeof(*r->starts));
	r->fields = xreallocarray(NULL, CSV_MAX_FIELDS, sizeof(*r->fields));
	return r;
}

struct csv_reader *
csv_open(const char *path, char *err, size_t errlen)
{
	struct csv_reader *r;
	FILE *fp;

	if (strcmp(path, "-") == 0)
		return csv_open_fp(stdin, "(stdin)");
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	r = csv_open_fp(fp, path);
	r->own = 1;
	return r;
}

void
csv_close(struct csv_reader *r)
{
	if (r == NULL)
		return;
	if (r->own)
		fclose(r->fp);
	free(r->name);
	free(r->rec);
	free(r->starts);
	free(r->fields);
	free(r);
}

const char *
csv_strerror(const struct csv_reader *r)
{
	return r->err;
}

const char *
csv_name(const struct csv_reader *r)
{
	return r->name;
}

unsigned long long
csv_offset(const struct csv_reader *r)
{
	return r->offset;
}

unsigned long long
csv_size(const struct csv_reader *r)
{
	return r->size;
}

/* Next input byte, EOF at the end, -2 on a read error (err set). */
static int
csv_getc(struct csv_reader *r)
{
	if (r->ipos == r->ilen) {
		if (r->eof)
			return EOF;
		r->ilen = fread(r->in, 1, sizeof(r->in), r->fp);
		r->ipos = 0;
		if (r->ilen < sizeof(r->in)) {
			if (ferror(r->fp)) {
				snprintf(r->err, sizeof(r->err), "%s:%lu: %s",
				    r->name, r->line, strerror(errno));
				return -2;
			}
			r->eof = 1;
		}
		if (!r->started) {
			r->started = 1;
			if (r->ilen >= 3 && memcmp(r->in, "\xef\xbb\xbf",
			    3) == 0)
				r->ipos = 3;
		}
		if (r->ipos == r->ilen)
			return EOF;
	}
	r->offset++;
	return r->in[r->ipos++];
}

/* Peeks at the next byte without consuming it. */
static int
csv_peek(struct csv_reader *r)
{
	int c;

	if (r->ipos < r->ilen)
		return r->in[r->ipos];
	if ((c = csv_getc(r)) < 0)
		return c;
	r->ipos--;
	r->offset--;
	return c;
}

/* Makes room for one more byte and the record's final NUL. */
static void
csv_room(struct csv_reader *r)
{
	if (r->reclen + 2 > r->reccap) {
		r->reccap *= 2;
		r->rec = xreallocarray(r->rec, r->reccap, 1);
	}
}

/* Appends one byte to the record; sets *error for a NUL, or once the cap
 * is passed. */
static void
csv_put(struct csv_reader *r, int c, const char **error)
{
	/* a field would silently end there: UTF-16, or a damaged file */
	if (c == '\0') {
		if (*error == NULL)
			*error = "NUL byte";
		return;
	}
	if (r->reclen + 1 >= CSV_MAX_RECORD) {
		if (*error == NULL)
			*error = "record longer than 1 MiB";
		return;
	}
	csv_room(r);
	r->rec[r->reclen++] = (char)c;
}

/*
 * Copies the run of ordinary bytes at the read position into the record,
 * up to the next byte that STOP marks: most of a file is such runs, and
 * copying them whole is what keeps the reader fast on wide exports.
 */
static size_t
csv_run(struct csv_reader *r, const unsigned char *stop, const char **error)
{
	const unsigned char *p = r->in + r->ipos, *end = r->in + r->ilen, *q;
	size_t n, room;

	for (q = p; q < end && !stop[*q]; q++)
		;
	n = (size_t)(q - p);
	if (n == 0)
		return 0;
	r->ipos += n;
	r->offset += n;
	room = CSV_MAX_RECORD - 1 - r->reclen;
	if (n > room) {
		if (*error == NULL)
			*error = "record longer than 1 MiB";
		n = room;
	}
	while (r->reclen + n + 2 > r->reccap) {
		r->reccap *= 2;
		r->rec = xreallocarray(r->rec, r->reccap, 1);
	}
	memcpy(r->rec + r->reclen, p, n);
	r->reclen += n;
	return (size_t)(q - p);
}

/* Ends the current field and starts the next one. */
static void
csv_end_field(struct csv_reader *r, const char **error)
{
	csv_room(r);
	r->rec[r->reclen++] = '\0';
	if (r->nfields + 1 >= CSV_MAX_FIELDS) {
		if (*error == NULL)
			*error = "more than 512 fields";
		/* fold the rest into the last field slot */
		r->reclen = r->starts[r->nfields];
		return;
	}
	r->starts[++r->nfields] = r->reclen;
}

int
csv_next(struct csv_reader *r, struct csv_row *row)
{
	enum csv_state st = ST_FIELD_START;
	const char *error = NULL;
	unsigned long start = r->line;
	int c, any = 0;
	size_t i;

	r->reclen = 0;
	r->nfields = 0;
	r->starts[0] = 0;
	for (;;) {
		if (st == ST_QUOTED)
			csv_run(r, stop_quoted, &error);
		else if (st != ST_QUOTE_IN_QUOTED &&
		    csv_run(r, stop_plain, &error) > 0) {
			st = ST_UNQUOTED;
			any = 1;
		}
		if ((c = csv_getc(r)) == -2)
			return -1;
		if (c == EOF) {
			if (st == ST_QUOTED) {
				snprintf(r->err, sizeof(r->err),
				    "%s:%lu: unterminated quoted field",
				    r->name, start);
				return -1;
			}
			if (!any)
				return 0;
			break;
		}
		any = 1;
		if (st == ST_QUOTED) {
			if (c == '"')
				st = ST_QUOTE_IN_QUOTED;
			else {
				if (c == '\n')
					r->line++;
				csv_put(r, c, &error);
			}
			continue;
		}
		if (st == ST_QUOTE_IN_QUOTED) {
			if (c == '"') {
				csv_put(r, c, &error);
				st = ST_QUOTED;
				continue;
			}
			if (c != ',' && c != '\r' && c != '\n') {
				if (error == NULL)
					error = "text after a closing quote";
				csv_put(r, c, &error);
				st = ST_UNQUOTED;
				continue;
			}
		}
		if (c == ',') {
			csv_end_field(r, &error);
			st = ST_FIELD_START;
		} else if (c == '\n') {
			r->line++;
			break;
		} else if (c == '\r') {
			/* CRLF, or a lone CR as old Mac exports end lines */
			if (csv_peek(r) == '\n')
				csv_getc(r);
			r->line++;
			break;
		} else if (c == '"' && st == ST_FIELD_START) {
			st = ST_QUOTED;
		} else {
			if (c == '"' && error == NULL)
				error = "quote inside an unquoted field";
			csv_put(r, c, &error);
			st = ST_UNQUOTED;
		}
	}
	r->rec[r->reclen] = '\0';
	r->nfields++;
	for (i = 0; i < r->nfields; i++)
		r->fields[i] = r->rec + r->starts[i];
	/* the NULs between fields are valid UTF-8: one pass for all */
	if (error == NULL && !parse_utf8_valid(r->rec, r->reclen))
		error = "invalid UTF-8";
	row->fields = r->fields;
	row->nfields = r->nfields;
	row->size = r->reclen + 1;
	row->line = start;
	row->error = error;
	return 1;
}

void
csv_write_field(FILE *fp, const char *s)
{
	const char *p;

	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', fp);
		fputc(*p, fp);
	}
	fputc('"', fp);
}
