/*
 * progress.c - the progress line of segctl's long jobs.
 */
#include <time.h>

#include "progress.h"

#define PROGRESS_WIDTH	30	/* the bar's cells */

static double
progress_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
progress_start(struct progress *p, FILE *out, const char *label,
    const char *unit)
{
	p->out = out;
	p->label = label;
	p->unit = unit;
	p->next_draw = 0;
}

void
progress_draw(struct progress *p, unsigned long long at,
    unsigned long long of, int64_t count)
{
	int i, pct, fill;
	double now = progress_clock();

	if (now < p->next_draw)
		return;
	p->next_draw = now + 0.2;
	/* a count taken before the job may be passed by what it finds */
	if (at > of)
		at = of;
	pct = of > 0 ? (int)(at * 100 / of) : 0;
	fill = pct * PROGRESS_WIDTH / 100;
	fprintf(p->out, "\r%s [", p->label);
	for (i = 0; i < PROGRESS_WIDTH; i++)
		fputc(i < fill ? '#' : ' ', p->out);
	fprintf(p->out, "] %3d%% %lld %s", pct, (long long)count, p->unit);
	fflush(p->out);
}

void
progress_clear(const struct progress *p)
{
	fputs("\r\033[K", p->out);
	fflush(p->out);
}

void
progress_step(int64_t done, int64_t total, void *arg)
{
	progress_draw(arg, (unsigned long long)done,
	    (unsigned long long)total, done);
}
