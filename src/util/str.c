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
