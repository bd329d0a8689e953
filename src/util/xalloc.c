/*
 * xalloc.c - allocation that never returns NULL (see xalloc.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void
xalloc_die(size_t n)
{
	fprintf(stderr, "out of memory (%zu bytes)\n", n);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		xalloc_die(size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		xalloc_die(nmemb * size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (size != 0 && nmemb > (size_t)-1 / size)
		xalloc_die((size_t)-1);
	n = nmemb * size;
	p = realloc(ptr, n != 0 ? n : 1);
	if (p == NULL)
		xalloc_die(n);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		xalloc_die(n);
	return p;
}
