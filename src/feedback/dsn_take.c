/*
 * dsn_take.c - one report handed to us, read, recorded or kept (dsn.h).
 *
 * The quarantine keeps a message byte for byte in a file of its own,
 * mode 0600, named for the time, the process, a counter and why it is
 * there ("unreadable", "not-ours", "not-customer"), fsynced before the
 * MTA is told it was taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "dsn.h"
#include "store.h"
#include "xalloc.h"

/* Names files kept within one second by one process (LMTP: threads). */
static pthread_mutex_t take_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long take_seq;

/*
 * Keeps MSG in DIR, the path into PATH.  0, or -1 with why in PATH.
 * With no DIR there is nothing to do: PATH says so.
 */
static int
take_keep(const char *dir, int64_t now, const char *why, const void *msg,
    size_t len, char *path, size_t pathlen)
{
	const char *p = msg;
	unsigned long seq;
	size_t off = 0;
	ssize_t w;
	int fd = -1, i, e;

	if (dir == NULL) {
		snprintf(path, pathlen, "not kept: no quarantine directory");
		return 0;
	}
	for (i = 0; i < 100 && fd == -1; i++) {
		pthread_mutex_lock(&take_lock);
		seq = take_seq++;
		pthread_mutex_unlock(&take_lock);
		snprintf(path, pathlen, "%s/%lld.%ld.%lu.%s.eml", dir,
		    (long long)now, (long)getpid(), seq, why);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		snprintf(path, pathlen, "quarantine %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((w = write(fd, p + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	if (off < len || fsync(fd) == -1 || close(fd) == -1) {
		e = errno;
		unlink(path);
		snprintf(path + strlen(path), pathlen - strlen(path), ": %s",
		    strerror(e));
		return -1;
	}
	return 0;
}

enum dsn_verdict
dsn_take(struct store *st, const struct conf *cf, const void *msg,
    size_t len, const char *rcpt, const char *qdir, int64_t now,
    struct dsn_take *out)
{
	struct dsn_report *rep = xmalloc(sizeof(*rep));
	struct dsn_result *res = &out->res;
	char hash[65], path[4096];
	const char *why;

	memset(out, 0, sizeof(*out));
	out->verdict = DSN_TAKEN;
	if (dsn_parse(msg, len, rcpt, cf->milter.campaign_header, rep) ==
	    -1) {
		if (take_keep(qdir, now, "unreadable", msg, len, path,
		    sizeof(path)) == -1) {
			out->verdict = DSN_RETRY;
			snprintf(out->say, sizeof(out->say), "not a report we"
			    " can read (%s), and not kept: %s", rep->reason,
			    path);
		} else {
			out->verdict = DSN_UNREADABLE;
			snprintf(out->say, sizeof(out->say), "not a report we"
			    " can read: %s; %s%s", rep->reason, qdir != NULL ?
			    "kept: " : "", path);
		}
		free(rep);
		return out->verdict;
	}
	if (st == NULL) {
		free(rep);
		out->verdict = DSN_RETRY;
		snprintf(out->say, sizeof(out->say), "the store cannot be"
		    " opened");
		return out->verdict;
	}
	conf_hash_hex(cf, hash);
	if (dsn_apply(st, cf->outbox.key, cf->outbox.keylen, rep, hash, now,
	    res) == -1) {
		free(rep);
		out->verdict = DSN_RETRY;
		snprintf(out->say, sizeof(out->say), "%s", store_error(st));
		return out->verdict;
	}
	free(rep);
	out->applied = 1;
	switch (res->outcome) {
	case DSN_RECORDED:
	case DSN_ALREADY:
		snprintf(out->say, sizeof(out->say), "%s: %s%s%s %s (campaign"
		    " %s)", res->email, dsn_kind_name(res->kind),
		    res->kind == DSN_COMPLAINT ? "" : " bounce ", res->status,
		    res->outcome == DSN_ALREADY ? "already recorded" :
		    "recorded", res->campaign);
		break;
	case DSN_NOTHING:
		snprintf(out->say, sizeof(out->say), "no failure reported:"
		    " nothing recorded");
		break;
	case DSN_NOT_OURS:
	case DSN_NOT_CUSTOMER:
		why = res->outcome == DSN_NOT_OURS ? "not-ours" :
		    "not-customer";
		if (take_keep(qdir, now, why, msg, len, path,
		    sizeof(path)) == -1)
			out->verdict = DSN_RETRY;
		snprintf(out->say, sizeof(out->say), "%s: nothing recorded;"
		    " %s%s", dsn_outcome_name(res->outcome),
		    out->verdict == DSN_RETRY ? "not kept: " : qdir != NULL ?
		    "kept: " : "", path);
		break;
	}
	return out->verdict;
}
