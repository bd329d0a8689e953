/*
 * fuzz_feed.c - what segfeed parses itself: form bodies (urlencoded and
 * multipart, with the Content-Type that says which), query strings,
 * unsubscribe URLs' routes, listen addresses and tokens.  Beyond
 * crashes: a value found is NUL-terminated within its buffer and holds
 * no NUL, and a decoded value read twice reads the same.
 *
 * The input is a Content-Type line, then the body.  libFuzzer entry
 * point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "feedback.h"
#include "unsub.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "fuzz key, not a secret........";

static void
check_value(const char *ctype, const char *body, size_t len,
    const char *name)
{
	char v[64], again[64];
	int u, rc;

	rc = feedback_form_value(ctype, body, len, name, v, sizeof(v), &u);
	if (rc != 1)
		return;
	if (strlen(v) >= sizeof(v))
		abort();
	if (feedback_form_value(ctype, body, len, name, again,
	    sizeof(again), &u) != 1 || strcmp(v, again) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_unsub_route r;
	struct conf_listen l;
	char *in, *nl, *body, c[256], e[320], err[256], v[UNSUB_TOKEN_MAX];
	size_t blen;
	int64_t at;

	if (size > 1 << 16)
		return 0;
	in = malloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	nl = memchr(in, '\n', size);
	body = nl != NULL ? nl + 1 : in + size;
	if (nl != NULL)
		*nl = '\0';
	blen = size - (size_t)(body - in);
	check_value(in, body, blen, "List-Unsubscribe");
	check_value(in, body, blen, "choice");
	if (strlen(body) == blen) {
		if (feedback_query_value(body, "t", v, sizeof(v)) == 1 &&
		    strlen(v) >= sizeof(v))
			abort();
		(void)unsub_token_parse(key, sizeof(key), body, c, sizeof(c),
		    e, sizeof(e), &at);
	}
	if (conf_unsub_route(in, &r, err, sizeof(err)) == 0 &&
	    (strlen(r.path) >= sizeof(r.path) || r.path[0] != '/'))
		abort();
	if (conf_listen_parse(in, &l) == 0 && !l.is_unix &&
	    (l.port < 1 || l.port > 65535))
		abort();
	free(in);
	return 0;
}
