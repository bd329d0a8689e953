/*
 * conf_int.h - what the files of src/conf/ share; not for other modules.
 */
#ifndef SEGM_CONF_INT_H
#define SEGM_CONF_INT_H

#include <stddef.h>
#include <stdio.h>

/* Frees N strings and the array holding them; NULL is fine. */
void	 conf_free_strlist(char **v, size_t n);

struct conf;
struct conf_sms;

/*
 * Opens PATH, a file holding a secret (outbox.key_file,
 * sms.credentials_file), for reading; the caller closes it.  NULL, with
 * why in ERR (the path first), when it cannot be opened or when its
 * group or others may read or write it: one file mode rule for every
 * secret, checked on the file opened.
 */
FILE	*conf_open_secret(const char *path, char *err, size_t errlen);

/* The sms group's defaults, and freeing what it holds (secrets wiped). */
void	 conf_sms_defaults(struct conf_sms *s);
void	 conf_sms_free(struct conf_sms *s);
/* 1 if WHERE is "FR" or "US-FL" (uppercase country, region). */
int	 conf_where_valid(const char *where);
/*
 * After the file: the settings the driver needs, and its credentials
 * read from credentials_file.  0, or -1 with one problem per line in ERR.
 */
int	 conf_sms_check(struct conf *c, char *err, size_t errlen);

#endif
