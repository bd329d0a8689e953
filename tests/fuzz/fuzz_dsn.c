/*
 * fuzz_dsn.c - the DSN and ARF reader on whatever lands on the bounce
 * address: dsn_parse with and without an envelope recipient.  It must
 * read a report or refuse it with a reason; every string it returns is
 * terminated, bounded and free of control characters; nothing may
 * crash, leak or read outside the input.
 *
 * libFuzzer entry point; tests/fuzz/replay.c runs a corpus through it
 * without libFuzzer (make check), `make fuzz` explores with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	dsn_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsn_report r;
	size_t i;
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
	return 0;
}
