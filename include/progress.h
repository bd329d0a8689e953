/*
 * progress - one line on a terminal that says how far a long job is.
 *
 * For segctl's imports and segment rebuild, drawn on stderr only when it
 * is a terminal: the line is redrawn in place (\r), at most five times a
 * second, and cleared before anything else is printed and at the end.
 */
#ifndef SEGM_PROGRESS_H
#define SEGM_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

/* What a long job calls now and then: DONE of about TOTAL units. */
typedef void (*progress_fn)(int64_t done, int64_t total, void *arg);

struct progress {
	FILE		*out;
	const char	*label;		/* a file name, "segments rebuild" */
	const char	*unit;		/* "records", "customers" */
	double		 next_draw;
};

void	 progress_start(struct progress *p, FILE *out, const char *label,
	    const char *unit);
/* Draws AT of OF (OF 0: no bar) and COUNT units, unless drawn just now. */
void	 progress_draw(struct progress *p, unsigned long long at,
	    unsigned long long of, int64_t count);
/* A progress_fn drawing on the struct progress ARG: DONE of TOTAL. */
void	 progress_step(int64_t done, int64_t total, void *arg);
/* Clears the line, so that a message or the summary starts clean. */
void	 progress_clear(const struct progress *p);

#endif
