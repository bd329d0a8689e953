/*
 * conf_int.h - what the files of src/conf/ share; not for other modules.
 */
#ifndef SEGM_CONF_INT_H
#define SEGM_CONF_INT_H

#include <stddef.h>
#include <stdio.h>

#include <libconfig.h>

#include "buf.h"

/* Frees N strings and the array holding them; NULL is fine. */
void	 conf_free_strlist(char **v, size_t n);

/*
 * 1 when a line of PATH starts an @include, with its number in *LINE;
 * 0 otherwise, also when PATH cannot be read (libconfig says why next).
 * segmilter's files are read one at a time, never with @include:
 * libconfig 1.5 opens whatever path it names, and a directory there
 * makes its scanner call exit(2) ("input in flex scanner failed"), which
 * stopped the running milter at a reload (found by fuzz_conf); and what
 * an included file said would be missing from the hash of segmilter.conf
 * that audit rows carry.  A line in a string or comment that spans lines
 * counts too.
 */
int	 conf_has_include(const char *path, int *line);

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
/*
 * Reads PATH, a credentials file in libconfig's syntax, into CFG as
 * conf_open_secret opens it, without @include.  0 with CFG to
 * config_destroy(); -1 with a "credentials_file: ..." line in ERRS.
 */
int	 conf_read_credentials(const char *path, config_t *cfg,
	    struct buf *errs);

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

/* The feedback group's defaults, and freeing what it holds. */
void	 conf_feedback_defaults(struct conf_feedback *f);
void	 conf_feedback_free(struct conf_feedback *f);
/*
 * After the file, with a feedback group in it: what segfeed needs of the
 * rest (milter.unsubscribe_url's shape, outbox.key_file), and the
 * gateways' secrets read from feedback.credentials_file.  0, or -1 with
 * one problem per line in ERR.
 */
struct conf_feedback;
int	 conf_feedback_check(struct conf *c, char *err, size_t errlen);

#endif
