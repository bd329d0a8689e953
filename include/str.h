/*
 * str - bounded string copies for fixed-size fields.
 *
 * str_copy() is what strlcpy is elsewhere (glibc 2.36 lacks it): it never
 * writes past LEN, always terminates, and takes NULL as "".  It exists
 * because snprintf(dst, len, "%s", src) costs a format parse per field,
 * and the milter copies a dozen fields per recipient.  What it cuts, it
 * cuts where a UTF-8 character starts: half a character in a customer's
 * name would make the Subject, the text parts and the SMS invalid UTF-8.
 */
#ifndef SEGM_STR_H
#define SEGM_STR_H

#include <stddef.h>

/* Copies SRC (NULL: "") into DST of LEN bytes, cut if needed (so up to
 * three bytes short of LEN when a character would straddle the end). */
void	 str_copy(char *dst, size_t len, const char *src);
/* N bytes as lowercase hex into OUT, which holds 2 * N + 1. */
void	 str_hex(const unsigned char *p, size_t n, char *out);
/*
 * Replaces each control character of S (below 0x20, and DEL) with '?',
 * in place, so that a value from outside cannot forge a log line;
 * returns how many there were.
 */
size_t	 str_mask_controls(char *s);
/*
 * How many single-byte edits (insert, delete, substitute, swap two
 * neighbours) make A into B, for "did you mean" suggestions; strings
 * longer than STR_DISTANCE_MAX bytes count as far apart.
 */
#define STR_DISTANCE_MAX	64
size_t	 str_distance(const char *a, const char *b);

#endif
