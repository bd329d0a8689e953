/*
 * feedback.c - segmilter.conf's feedback group (segfeed(8)): its
 * defaults, the listen address, and the route of the unsubscribe link
 * segmilter writes, which segfeed must serve exactly; and the gateways'
 * secrets.
 *
 * Those live in feedback.credentials_file (libconfig syntax), as the
 * sms group's do, so that segmilter.conf can stay world-readable: the
 * file must be the owner's alone (conf_open_secret) and may not
 * @include.  Each secret is optional; a gateway whose secret is absent
 * is not served.  Their values are held in struct conf_feedback and
 * never logged.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "buf.h"
#include "conf.h"
#include "conf_int.h"
#include "str.h"
#include "xalloc.h"

/* feedback.credentials_file's settings, and where each goes. */
static const struct {
	const char	*name;
	size_t		 off;
} cred_keys[] = {
	{ "twilio_auth_token",
	    offsetof(struct conf_feedback, twilio_auth_token) },
	{ "kannel_secret", offsetof(struct conf_feedback, kannel_secret) },
	{ "shopify_secret", offsetof(struct conf_feedback, shopify_secret) },
};
#define NCRED_KEYS	(sizeof(cred_keys) / sizeof(cred_keys[0]))

void
conf_feedback_defaults(struct conf_feedback *f)
{
	f->listen = xstrdup("127.0.0.1:12580");
	f->public_url = xstrdup("");
	f->page_template = xstrdup(SEGM_SYSCONFDIR
	    "/segmilter/unsubscribe.html");
	f->max_body_kb = 64;
	f->fewer_days = 30;
	f->threads = 4;
	f->credentials_file = xstrdup("");
	f->sms_help_text = xstrdup("");
	f->lmtp_listen = xstrdup("");
	f->quarantine_dir = xstrdup("");
	f->configured = 0;
}

void
conf_feedback_free(struct conf_feedback *f)
{
	free(f->listen);
	free(f->public_url);
	free(f->page_template);
	free(f->credentials_file);
	free(f->sms_help_text);
	free(f->lmtp_listen);
	free(f->quarantine_dir);
	explicit_bzero(f->twilio_auth_token, sizeof(f->twilio_auth_token));
	explicit_bzero(f->kannel_secret, sizeof(f->kannel_secret));
	explicit_bzero(f->shopify_secret, sizeof(f->shopify_secret));
}

/* "1..65535" in full into *PORT; 0, or -1. */
static int
parse_port(const char *s, int *port)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
conf_listen_parse(const char *s, struct conf_listen *l)
{
	unsigned char addr[16];
	const char *colon;
	size_t n;

	memset(l, 0, sizeof(*l));
	if (strncmp(s, "unix:", 5) == 0) {
		s += 5;
		if (*s != '/' || strlen(s) >= sizeof(l->path))
			return -1;
		l->is_unix = 1;
		memcpy(l->path, s, strlen(s) + 1);
		return 0;
	}
	if (*s == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -1;
		n = (size_t)(colon - s - 1);
		if (n >= sizeof(l->host))
			return -1;
		memcpy(l->host, s + 1, n);
		l->host[n] = '\0';
		if (inet_pton(AF_INET6, l->host, addr) != 1)
			return -1;
		return parse_port(colon + 2, &l->port);
	}
	if ((colon = strrchr(s, ':')) == NULL ||
	    (n = (size_t)(colon - s)) >= sizeof(l->host))
		return -1;
	memcpy(l->host, s, n);
	l->host[n] = '\0';
	if (inet_pton(AF_INET, l->host, addr) != 1)
		return -1;
	return parse_port(colon + 1, &l->port);
}

int
conf_unsub_route(const char *url, struct conf_unsub_route *r, char *err,
    size_t errlen)
{
	const char *p, *q;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else {
		snprintf(err, errlen, "milter.unsubscribe_url: '%s' is not an"
		    " https:// URL", url);
		return -1;
	}
	if ((p = strchr(p, '/')) == NULL) {
		snprintf(err, errlen, "milter.unsubscribe_url: '%s' has no"
		    " path for the token (e.g. https://shop.example/u/)", url);
		return -1;
	}
	if (strchr(p, '#') != NULL || strchr(p, '%') != NULL) {
		snprintf(err, errlen, "milter.unsubscribe_url: '%s': no"
		    " fragment or escapes, please", url);
		return -1;
	}
	q = strchr(p, '?');
	n = q != NULL ? (size_t)(q - p) : strlen(p);
	if (n >= sizeof(r->path)) {
		snprintf(err, errlen, "milter.unsubscribe_url: path too long");
		return -1;
	}
	memcpy(r->path, p, n);
	r->path[n] = '\0';
	if (q == NULL)
		return 0;
	/* the token is the value of the query's last name: "?t=" */
	q++;
	n = strlen(q);
	if (n < 2 || n - 1 >= sizeof(r->query) || q[n - 1] != '=' ||
	    strcspn(q, "=&;") != n - 1) {
		snprintf(err, errlen, "milter.unsubscribe_url: '%s' must end"
		    " in the path, or in ?NAME= alone", url);
		return -1;
	}
	memcpy(r->query, q, n - 1);
	r->query[n - 1] = '\0';
	return 0;
}

/* feedback.credentials_file into F's secrets: 0, or -1 with ERRS. */
static int
read_credentials(struct conf_feedback *f, struct buf *errs)
{
	const char *file = f->credentials_file, *v;
	config_setting_t *root, *e;
	config_t cfg;
	size_t k;
	int i, rc = 0;

	if (conf_read_credentials(file, &cfg, errs) == -1)
		return -1;
	root = config_root_setting(&cfg);
	for (i = 0; i < config_setting_length(root); i++) {
		e = config_setting_get_elem(root, (unsigned)i);
		for (k = 0; k < NCRED_KEYS; k++)
			if (strcmp(config_setting_name(e),
			    cred_keys[k].name) == 0)
				break;
		if (k == NCRED_KEYS) {
			buf_printf(errs, "credentials_file: %s:%d: %s: unknown"
			    " setting\n", file, config_setting_source_line(e),
			    config_setting_name(e));
			rc = -1;
			continue;
		}
		/* the value is never quoted back: it is a secret */
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    (v = config_setting_get_string(e)) == NULL ||
		    *v == '\0' || strlen(v) >= CONF_SECRET_MAX) {
			buf_printf(errs, "credentials_file: %s:%d: %s: not a"
			    " string of 1 to %d bytes\n", file,
			    config_setting_source_line(e),
			    config_setting_name(e), CONF_SECRET_MAX - 1);
			rc = -1;
			continue;
		}
		str_copy((char *)f + cred_keys[k].off, CONF_SECRET_MAX, v);
	}
	config_destroy(&cfg);
	return rc;
}

int
conf_feedback_check(struct conf *c, char *err, size_t errlen)
{
	const struct conf_feedback *f = &c->feedback;
	struct conf_unsub_route r;
	struct conf_listen l;
	struct buf errs;
	size_t n;

	if (f->lmtp_listen[0] != '\0') {
		if (conf_listen_parse(f->lmtp_listen, &l) == -1) {
			snprintf(err, errlen, "lmtp_listen: '%s' is not"
			    " unix:/PATH, IPV4:PORT or [IPV6]:PORT\n",
			    f->lmtp_listen);
			return -1;
		}
		if (strcmp(f->lmtp_listen, f->listen) == 0) {
			snprintf(err, errlen, "lmtp_listen: '%s' is"
			    " feedback.listen's too\n", f->lmtp_listen);
			return -1;
		}
		if (c->outbox.keylen == 0) {
			snprintf(err, errlen, "lmtp_listen: outbox.key_file is"
			    " required: bounce tokens are checked with it\n");
			return -1;
		}
	}

	if (c->feedback.credentials_file[0] != '\0') {
		buf_init(&errs, errlen > 0 ? errlen - 1 : 0);
		if (read_credentials(&c->feedback, &errs) == -1) {
			snprintf(err, errlen, "%s", buf_str(&errs));
			buf_free(&errs);
			return -1;
		}
		buf_free(&errs);
	}
	/* Twilio signs the URL it was given: segfeed must know it too */
	if (c->feedback.twilio_auth_token[0] != '\0' &&
	    c->feedback.public_url[0] == '\0') {
		snprintf(err, errlen, "public_url: required with a"
		    " twilio_auth_token (Twilio signs the public URL)\n");
		return -1;
	}

	if (c->milter.unsubscribe_url[0] == '\0') {
		snprintf(err, errlen, "milter.unsubscribe_url is empty:"
		    " segfeed serves the link it names\n");
		return -1;
	}
	if (conf_unsub_route(c->milter.unsubscribe_url, &r, err,
	    errlen) == -1) {
		if ((n = strlen(err)) + 1 < errlen) {
			err[n] = '\n';
			err[n + 1] = '\0';
		}
		return -1;
	}
	return 0;
}
