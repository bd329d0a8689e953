/*
 * cmd_bounce.c - segctl bounce [--recipient ADDR] [--quarantine DIR]: one
 * bounce or complaint on stdin, as Postfix's pipe(8) hands it (see
 * contrib/postfix/master.cf), read with dsn_parse and recorded with
 * dsn_apply.
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
#include <fcntl.h>
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
#include "xalloc.h"

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

/*
 * Keeps MSG in DIR as a file of its own, named for the time and WHY.
 * 0, or -1 after saying why.  With no DIR there is nothing to do.
 */
static int
bounce_quarantine(const char *dir, int64_t now, const char *why,
    const char *msg, size_t len)
{
	char path[4096];
	size_t off = 0;
	ssize_t w;
	int fd = -1, i;

	if (dir == NULL)
		return 0;
	for (i = 0; i < 100 && fd == -1; i++) {
		snprintf(path, sizeof(path), "%s/%lld.%ld.%d.%s.eml", dir,
		    (long long)now, (long)getpid(), i, why);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		cli_warnx("quarantine %s: %s", dir, strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((w = write(fd, msg + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	if (off < len || fsync(fd) == -1 || close(fd) == -1) {
		cli_warnx("%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	cli_warnx("kept in %s", path);
	return 0;
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
	struct dsn_report *rep;
	struct dsn_result res;
	struct store *st;
	struct conf *cf;
	char hash[65], *msg;
	size_t len;
	int ch, rc;

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
	rep = xmalloc(sizeof(*rep));
	if (dsn_parse(msg, len, rcpt, cf->milter.campaign_header, rep) ==
	    -1) {
		cli_warnx("not a report we can read: %s", rep->reason);
		rc = bounce_quarantine(qdir, cli->now, "unreadable", msg,
		    len) == -1 ? EX_TEMPFAIL : EX_DATAERR;
		goto out;
	}
	if ((st = cli_store(cli, 0)) == NULL) {
		rc = EX_TEMPFAIL;
		goto out;
	}
	conf_hash_hex(cf, hash);
	if (dsn_apply(st, cf->outbox.key, cf->outbox.keylen, rep, hash,
	    cli->now, &res) == -1) {
		cli_warnx("%s", store_error(st));
		store_close(st);
		rc = EX_TEMPFAIL;
		goto out;
	}
	store_close(st);
	rc = EX_OK;
	switch (res.outcome) {
	case DSN_RECORDED:
	case DSN_ALREADY:
		if (!cli->quiet)
			printf("%s: %s%s%s %s (campaign %s)\n", res.email,
			    dsn_kind_name(res.kind),
			    res.kind == DSN_COMPLAINT ? "" : " bounce ",
			    res.status, res.outcome == DSN_ALREADY ?
			    "already recorded" : "recorded", res.campaign);
		break;
	case DSN_NOTHING:
		if (!cli->quiet)
			printf("no failure reported: nothing recorded\n");
		break;
	case DSN_NOT_OURS:
	case DSN_NOT_CUSTOMER:
		cli_warnx("%s: nothing recorded", dsn_outcome_name(res.outcome));
		if (bounce_quarantine(qdir, cli->now, res.outcome ==
		    DSN_NOT_OURS ? "not-ours" : "not-customer", msg, len) == -1)
			rc = EX_TEMPFAIL;
		break;
	}
out:
	free(rep);
	free(msg);
	return rc;
}
