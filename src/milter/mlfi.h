/*
 * mlfi.h - the libmilter side of segmilter, for main.c only.
 */
#ifndef SEGM_MLFI_H
#define SEGM_MLFI_H

#include "milter.h"

/* RT serves every connection; set before smfi_main(). */
void	 mlfi_set_runtime(struct daemon_rt *rt);
/* smfi_register() with segmilter's callbacks.  0, or -1. */
int	 mlfi_register(void);

#endif
