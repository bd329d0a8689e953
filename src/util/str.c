/*
 * str.c - bounded string copies.
 */
#include <string.h>

#include "str.h"

void
str_copy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (len == 0)
		return;
	if (src == NULL)
		src = "";
	n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}
