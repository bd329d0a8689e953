/*
 * fuzz_uri.c - the store URI as it may be shown (pgsql_db_redact): an
 * operator's configuration or segctl -s gives it, and every message
 * naming the store shows it.  Beyond crashes and reads past the input
 * or the output, into buffers of each size from 0 to 40 and one that
 * fits, the output ends
 * inside the buffer, no password survives it (each password= parameter
 * is followed by *** or the buffer's end, and what stood between user:
 * and @ is *** there), and a name without one comes back as it was.
 *
 * The input is the store's name (a C string), a postgresql:// or
 * postgres:// URI.  libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/pgsql/pgsql.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the password between "scheme://user:" and "@" starts, as
 * pgsql.c finds it; 0 when there is none. */
static size_t
password_at(const char *uri)
{
	const char *auth, *at, *q, *colon;

	auth = strstr(uri, "://");
	auth = auth != NULL ? auth + 3 : uri;
	at = strchr(auth, '@');
	q = strchr(auth, '?');
	if (at == NULL || (q != NULL && at > q) ||
	    (colon = memchr(auth, ':', (size_t)(at - auth))) == NULL)
		return 0;
	return (size_t)(colon + 1 - uri);
}

static void
check(const char *uri, size_t len)
{
	char *out = malloc(len), *p, *params;
	size_t n, pw = password_at(uri), k;

	pgsql_db_redact(uri, out, len);
	if (len == 0) {
		free(out);
		return;
	}
	if ((n = strnlen(out, len)) == len)
		abort();	/* no end inside the buffer */
	/* the parameters: past the user's part, whose *** is checked below */
	params = pw > 0 && n > pw + 3 ? out + pw + 3 : pw > 0 ? out + n : out;
	for (p = params; (p = strstr(p, "password=")) != NULL; p += 9) {
		k = strlen(p + 9) < 3 ? strlen(p + 9) : 3;
		if (p > params && (p[-1] == '?' || p[-1] == '&') &&
		    strncmp(p + 9, "***", k) != 0)
			abort();
	}
	/* the user's part as it was, then *** (as much as fits) */
	if (pw > 0 && (strncmp(out, uri, pw < n ? pw : n) != 0 ||
	    (n > pw && strncmp(out + pw, "***", n - pw < 3 ? n - pw : 3) !=
	    0)))
		abort();
	if (pw == 0 && strstr(uri, "password=") == NULL &&
	    strncmp(out, uri, n) != 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *uri = strndup((const char *)data, size);
	size_t len;

	/* only a URI is shown redacted: a file's name is shown as it is;
	 * buffers too short by each of a few bytes, then one that fits */
	for (len = 0; pgsql_db_is_uri(uri) && len <= 40; len++)
		check(uri, len);
	if (pgsql_db_is_uri(uri))
		check(uri, strlen(uri) + 8);
	free(uri);
	return 0;
}
