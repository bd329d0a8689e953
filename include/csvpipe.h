/*
 * csvpipe - a CSV reader that reads ahead in a thread of its own.
 *
 * Tokenising a wide export costs a fifth of an import; with a second core
 * it can happen while the caller writes the records before.  The pipe
 * takes over a struct csv_reader that is positioned where reading should
 * continue (after the header, say) and hands out the same rows, in the
 * same order, with the same errors, as csv_next() would have.
 *
 * Rows travel in batches through a fixed number of buffers, so memory is
 * bounded whatever the file.  The fields of a row stay valid until the
 * next csv_pipe_next() or csv_pipe_stop().  The reader must not be used
 * by the caller until csv_pipe_stop() has returned.
 */
#ifndef SEGM_CSVPIPE_H
#define SEGM_CSVPIPE_H

#include "csv.h"

struct csv_pipe;

/* Starts reading ahead from R.  NULL with errno set if no thread. */
struct csv_pipe *csv_pipe_start(struct csv_reader *r);
/* As csv_next(): 1 with a row, 0 at end of file, -1 on a fatal error. */
int	 csv_pipe_next(struct csv_pipe *p, struct csv_row *row);
/* The fatal error, as csv_strerror() gave it. */
const char *csv_pipe_strerror(const struct csv_pipe *p);
/* Bytes of the file read up to the rows handed out, for progress. */
unsigned long long csv_pipe_offset(const struct csv_pipe *p);
/* Stops the thread (at any point) and frees the pipe. */
void	 csv_pipe_stop(struct csv_pipe *p);

#endif
