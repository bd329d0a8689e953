/*
 * sms.c - segmilter.conf's sms group beyond its table: the driver's
 * requirements, the credentials file, and the quiet-hours windows.
 *
 * Credentials live in their own file (libconfig syntax, one pair per
 * driver) so that segmilter.conf can stay world-readable and be quoted
 * in a ticket; that file must be the owner's alone (conf_open_secret).
 * Its contents are held in struct conf_sms and never logged.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "buf.h"
#include "conf.h"
#include "conf_int.h"
#include "str.h"
#include "xalloc.h"

static const char *const driver_names[] = {
	[SMS_OFF] = "",
	[SMS_TWILIO] = "twilio",
	[SMS_KANNEL] = "kannel",
	[SMS_WEBHOOK] = "webhook",
};

/* The credentials file's two settings, per driver. */
static const char *const cred_keys[][2] = {
	[SMS_OFF] = { NULL, NULL },
	[SMS_TWILIO] = { "account_sid", "auth_token" },
	[SMS_KANNEL] = { "username", "password" },
	[SMS_WEBHOOK] = { NULL, "secret" },
};

const char *
conf_sms_driver_name(enum conf_sms_driver d)
{
	return d <= SMS_WEBHOOK ? driver_names[d] : "?";
}

void
conf_sms_defaults(struct conf_sms *s)
{
	memset(s, 0, sizeof(*s));
	s->driver = SMS_OFF;
	s->url = xstrdup("");
	s->credentials_file = xstrdup("");
	s->from = xstrdup("");
	s->messaging_service_sid = xstrdup("");
	s->status_callback = xstrdup("");
	s->dlr_url = xstrdup("");
	s->ca_file = xstrdup("");
	s->connect_timeout_s = 10;
	s->timeout_s = 30;
	s->max_parts = 3;
	s->cap_day = 1;
	s->cap_month = 4;
	s->max_age_hours = 24;
	s->zoneinfo = xstrdup("/usr/share/zoneinfo");
	s->window.start = 8 * 60;
	s->window.end = 21 * 60;
	s->windows = xcalloc(1, sizeof(*s->windows));
}

void
conf_sms_free(struct conf_sms *s)
{
	free(s->url);
	free(s->credentials_file);
	free(s->from);
	free(s->messaging_service_sid);
	free(s->status_callback);
	free(s->dlr_url);
	free(s->ca_file);
	free(s->zoneinfo);
	free(s->windows);
	explicit_bzero(s->user, sizeof(s->user));
	explicit_bzero(s->secret, sizeof(s->secret));
	explicit_bzero(s->dlr_secret, sizeof(s->dlr_secret));
}

int
conf_where_valid(const char *w)
{
	size_t i, n = strlen(w);

	if (n != 2 && (n < 4 || n > 8 || w[2] != '-'))
		return 0;
	for (i = 0; i < n; i++)
		if (i != 2 && !(isupper((unsigned char)w[i]) ||
		    (i > 2 && isdigit((unsigned char)w[i]))))
			return 0;
	return 1;
}

/* "HH:MM" into minutes of the day; 24:00 allowed. */
static int
parse_hhmm(const char *s, int *out)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	*out = ((s[0] - '0') * 10 + s[1] - '0') * 60 + (s[3] - '0') * 10 +
	    s[4] - '0';
	if ((s[3] - '0') > 5 || *out > 24 * 60)
		return -1;
	return 0;
}

int
conf_window_parse(const char *s, struct conf_window *w)
{
	struct conf_window v;

	if (strlen(s) != 11 || s[5] != '-' || parse_hhmm(s, &v.start) == -1 ||
	    parse_hhmm(s + 6, &v.end) == -1 || v.start >= v.end)
		return -1;
	*w = v;
	return 0;
}

struct conf_window
conf_sms_window(const struct conf_sms *s, const char *country,
    const char *region)
{
	struct conf_window w = s->window;
	char where[16];
	size_t i, clen = strlen(country);

	if (clen == 0)
		return w;
	snprintf(where, sizeof(where), "%s-%s", country, region);
	for (i = 0; *region != '\0' && i < s->nwindows; i++)
		if (strcasecmp(s->windows[i].where, where) == 0)
			return s->windows[i].w;
	for (i = 0; i < s->nwindows; i++)
		if (strcasecmp(s->windows[i].where, country) == 0)
			w = s->windows[i].w;
	if (*region != '\0')
		return w;
	/*
	 * Region unknown: any of the country's regional rules may be the
	 * one that applies.  Rules that share no minute leave an empty
	 * window (start == end): never allowed, rather than a guess.
	 */
	for (i = 0; i < s->nwindows; i++)
		if (strncasecmp(s->windows[i].where, country, clen) == 0 &&
		    s->windows[i].where[clen] == '-') {
			if (s->windows[i].w.start > w.start)
				w.start = s->windows[i].w.start;
			if (s->windows[i].w.end < w.end)
				w.end = s->windows[i].w.end;
		}
	if (w.end < w.start)
		w.end = w.start;
	return w;
}

/* 1 if URL's host is 127.0.0.0/8, localhost or [::1], exactly. */
static int
is_loopback_url(const char *url)
{
	const char *host = strstr(url, "://");
	size_t n, digits;

	if (host == NULL)
		return 0;
	host += 3;
	if (strchr(host, '@') != NULL)
		return 0;	/* userinfo: not worth telling apart */
	n = strcspn(host, ":/?#");
	if ((n == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(host, "[::1]", 5) == 0))
		return 1;
	if (n < 7 || strncmp(host, "127.", 4) != 0)
		return 0;
	digits = strspn(host, "0123456789.");
	return digits == n;
}

static int
read_credentials(struct conf_sms *s, struct buf *errs)
{
	const char *const *keys = cred_keys[s->driver];
	const char *file = s->credentials_file, *v;
	config_setting_t *root, *e;
	config_t cfg;
	int i, rc = 0;

	if (conf_read_credentials(file, &cfg, errs) == -1)
		return -1;
	root = config_root_setting(&cfg);
	for (i = 0; i < config_setting_length(root); i++) {
		e = config_setting_get_elem(root, (unsigned)i);
		if ((keys[0] == NULL || strcmp(config_setting_name(e),
		    keys[0]) != 0) && strcmp(config_setting_name(e),
		    keys[1]) != 0) {
			buf_printf(errs, "credentials_file: %s:%d: %s: not a"
			    " %s setting\n", file,
			    config_setting_source_line(e),
			    config_setting_name(e), driver_names[s->driver]);
			rc = -1;
		}
	}
	for (i = 0; i < 2; i++) {
		if (keys[i] == NULL)
			continue;
		if (config_lookup_string(&cfg, keys[i], &v) != CONFIG_TRUE ||
		    *v == '\0' || strlen(v) >= CONF_SECRET_MAX) {
			buf_printf(errs, "credentials_file: %s: %s missing,"
			    " empty or too long\n", file, keys[i]);
			rc = -1;
			continue;
		}
		str_copy(i == 0 ? s->user : s->secret, CONF_SECRET_MAX, v);
	}
	config_destroy(&cfg);
	return rc;
}

int
conf_sms_check(struct conf *c, char *err, size_t errlen)
{
	struct conf_sms *s = &c->sms;
	struct buf errs;
	int https;

	if (s->driver == SMS_OFF)
		return 0;
	buf_init(&errs, errlen > 0 ? errlen - 1 : 0);
	https = strncmp(s->url, "https://", 8) == 0;
	if (!https && strncmp(s->url, "http://", 7) != 0)
		buf_printf(&errs, "url: '%s' is not http:// or https://\n",
		    s->url);
	else if (!https && !is_loopback_url(s->url))
		buf_printf(&errs, "url: credentials would travel in clear to"
		    " '%s': use https:// (plain http only on loopback)\n",
		    s->url);
	if (s->driver == SMS_TWILIO &&
	    (s->from[0] == '\0') == (s->messaging_service_sid[0] == '\0'))
		buf_puts(&errs, "twilio needs exactly one of from and"
		    " messaging_service_sid\n");
	if (s->credentials_file[0] == '\0')
		buf_printf(&errs, "credentials_file: required with driver"
		    " \"%s\"\n", driver_names[s->driver]);
	else
		read_credentials(s, &errs);
	if (s->cap_day > s->cap_month && s->cap_month > 0)
		buf_puts(&errs, "cap_day is over cap_month\n");
	snprintf(err, errlen, "%s", buf_str(&errs));
	buf_free(&errs);
	return err[0] != '\0' ? -1 : 0;
}
