/*
 * conf_int.h - what the files of src/conf/ share; not for other modules.
 */
#ifndef SEGM_CONF_INT_H
#define SEGM_CONF_INT_H

#include <stddef.h>

/* Frees N strings and the array holding them; NULL is fine. */
void	 conf_free_strlist(char **v, size_t n);

#endif
