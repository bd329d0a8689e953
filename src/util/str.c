/*
 * str.c - bounded string copies.
 */
#include <string.h>

#include "str.h"
#include "utf8.h"

void
str_copy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (len == 0)
		return;
	if (src == NULL)
		src = "";
	n = strnlen(src, len - 1);
	if (src[n] != '\0')
		n = utf8_cut(src, n + 1, n);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
str_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

size_t
str_mask_controls(char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			*s = '?';
			n++;
		}
	return n;
}

/* The optimal string alignment distance, over two rows and the one
 * before them. */
size_t
str_distance(const char *a, const char *b)
{
	size_t rows[3][STR_DISTANCE_MAX + 1], *pp, *prev, *cur, *t, i, j;
	size_t la = strlen(a), lb = strlen(b), best, cost;

	if (la > STR_DISTANCE_MAX || lb > STR_DISTANCE_MAX)
		return la > lb ? la : lb;
	pp = rows[0];
	prev = rows[1];
	cur = rows[2];
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] != b[j - 1];
			best = prev[j - 1] + cost;
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < best)
				best = pp[j - 2] + 1;
			cur[j] = best;
		}
		/* rotate: the row before the last, the last, the next */
		t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}
