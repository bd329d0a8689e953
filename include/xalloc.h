/*
 * xalloc - allocation that never returns NULL.
 *
 * The x prefix means "dies on failure": out of memory is not a condition
 * segmilter or segctl can recover from meaningfully, so these print one line
 * to stderr and abort.  Everything else in the tree returns errors as values.
 */
#ifndef SEGM_XALLOC_H
#define SEGM_XALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);

#endif
