/*
 * cmd_bounce.c - segctl bounce [--recipient ADDR] [--quarantine DIR]: one
 * bounce or complaint on stdin, as Postfix's pipe(8) hands it (see
 * contrib/postfix/master.cf), taken with dsn_take (dsn.h) as segfeed's
 * LMTP listener takes one.
 *
 * The exit status is what pipe(8) acts on (sysexits.h):
 *
 * - 0: recorded, or nothing to record (a report of no failure, a token
 *   that is forged, from another key or missing, or about an address the
 *   customer no longer has); a report that is not ours is kept in the
 *   quarantine directory and named on stderr, never answered with a
 *   bounce of our own (a forger would learn which tokens pass);
 * - EX_DATAERR: no report could be read; kept in the quarantine
 *   directory first, so nothing is dropped silently (without one, Postfix
 *   returns it to the report's sender: usually the postmaster);
 * - EX_TEMPFAIL: the store could not be written, or the quarantine
 *   directory could not take the message: Postfix keeps it and retries;
 * - EX_CONFIG, EX_USAGE: a configuration without outbox.key_file, bad
 *   arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "dsn.h"
#include "render.h"
#include "store.h"

#define BOUNCE_USAGE	"usage: segctl bounce [--recipient ADDR]" \
			" [--quarantine DIR]"

/*
 * Stdin whole, at most DSN_INPUT_MAX + 1 bytes kept (dsn_parse refuses
 * more, and the quarantine keeps what it read); NULL if unreadable.
 */
static char *
bounce_read(size_t *len)
{
	struct buf b;
	char chunk[65536];
	ssize_t r;
	size_t room;

	buf_init(&b, DSN_INPUT_MAX + 1);
	while ((r = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cli_warnx("stdin: %s", strerror(errno));
			buf_free(&b);
			return NULL;
		}
		/* past the cap the rest is read and dropped: pipe(8) waits */
		room = b.max - b.len;
		if (buf_append(&b, chunk, (size_t)r < room ? (size_t)r :
		    room) == -1) {
			buf_free(&b);
			return NULL;
		}
	}
	*len = b.len;
	return buf_take(&b);
}

int
cmd_bounce(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "recipient", required_argument, NULL, 'r' },
		{ "quarantine", required_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 }
	};
	const char *rcpt = NULL, *qdir = NULL;
	struct dsn_take t;
	struct store *st;
	struct conf *cf;
	char *msg;
	size_t len;
	int ch, rc = EX_TEMPFAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			rcpt = optarg;
			break;
		case 'Q':
			qdir = optarg;
			break;
		default:
			cli_warnx("%s", BOUNCE_USAGE);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		cli_warnx("%s", BOUNCE_USAGE);
		return EX_USAGE;
	}
	if ((cf = cli_conf(cli)) == NULL)
		return EX_CONFIG;
	if (cf->outbox.keylen == 0) {
		cli_warnx("no outbox.key_file in the configuration: bounce"
		    " tokens cannot be checked");
		return EX_CONFIG;
	}
	if ((msg = bounce_read(&len)) == NULL)
		return EX_TEMPFAIL;
	render_init();
	/* opened first, as pipe(8) runs us: a failure counts only for a
	 * report that could be read */
	st = cli_store(cli, 0);
	switch (dsn_take(st, cf, msg, len, rcpt, qdir, cli->now, &t)) {
	case DSN_TAKEN:
		rc = EX_OK;
		break;
	case DSN_UNREADABLE:
		rc = EX_DATAERR;
		break;
	case DSN_RETRY:
		rc = EX_TEMPFAIL;
		break;
	}
	if (t.verdict == DSN_TAKEN && t.applied &&
	    t.res.outcome != DSN_NOT_OURS &&
	    t.res.outcome != DSN_NOT_CUSTOMER) {
		if (!cli->quiet)
			printf("%s\n", t.say);
	} else
		cli_warnx("%s", t.say);
	if (st != NULL)
		store_close(st);
	free(msg);
	return rc;
}
