/*
 * backoff.c - when to try a copy again.
 */
#include "outbox.h"

int64_t
outbox_backoff(int64_t base, int64_t max, int64_t attempts, double u)
{
	int64_t d = base;
	int64_t i;

	for (i = 1; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	d = (int64_t)((double)d * (0.5 + u));
	return d < 1 ? 1 : d;
}
