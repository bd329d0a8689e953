/*
 * fuzz_dsn.c - the DSN and ARF reader on whatever lands on the bounce
 * address: dsn_parse with and without an envelope recipient, then the
 * bounce tokens it found (and the input's first line, as an envelope
 * recipient) through bounce_token_of and bounce_token_parse, which only
 * a token made with the key may pass.  It must read a report or refuse
 * it with a reason; every string it returns is terminated, bounded and
 * free of control characters; nothing may crash, leak or read outside
 * the input.
 *
 * libFuzzer entry point; tests/fuzz/replay.c runs a corpus through it
 * without libFuzzer (make check), `make fuzz` explores with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "dsn.h"
#include "render.h"

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "fuzz key, not a secret........";

/* TOKEN came from outside: genuine only if made with the key. */
static void
check_token(const char *token)
{
	struct bounce_token bt;

	if (*token == '\0' || bounce_token_parse(key, sizeof(key), token,
	    &bt) == -1)
		return;
	if (bt.customer_id <= 0 || bt.customer_id >= BOUNCE_CUSTOMER_MAX)
		abort();
	(void)bounce_token_names_email(&bt, "ann@example.com");
	(void)bounce_token_names_campaign(&bt, "spring");
}

/* Aborts unless S, of SIZE bytes, is terminated and printable. */
static void
check_text(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		abort();
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	render_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512] = "", tok[BOUNCE_TOKEN_MAX];
	struct dsn_report r;
	size_t i, n;
	int rc;

	rc = dsn_parse(data, size, size % 2 ? "bounces+x@shop.example" : NULL,
	    "X-Campaign-ID", &r);
	if (rc == -1 && (r.error == DSN_OK || r.reason[0] == '\0'))
		abort();
	if (r.nrcpts > DSN_RCPTS_MAX)
		abort();
	for (i = 0; i < r.nrcpts; i++) {
		check_text(r.rcpts[i].recipient, sizeof(r.rcpts[i].recipient));
		check_text(r.rcpts[i].status, sizeof(r.rcpts[i].status));
		check_text(r.rcpts[i].diagnostic,
		    sizeof(r.rcpts[i].diagnostic));
	}
	check_text(r.env_token, sizeof(r.env_token));
	check_text(r.orig_token, sizeof(r.orig_token));
	check_text(r.campaign, sizeof(r.campaign));
	check_token(r.env_token);
	check_token(r.orig_token);

	/* the first line as the envelope recipient pipe(8) passes */
	if (size > 0) {
		n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
		memcpy(line, data, n);
		line[n] = '\0';
		line[strcspn(line, "\n")] = '\0';
		if (bounce_token_of(line, tok, sizeof(tok)) == 0) {
			check_text(tok, sizeof(tok));
			check_token(tok);
		}
	}
	return 0;
}
