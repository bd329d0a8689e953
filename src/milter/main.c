/*
 * main.c - segmilter(8): options, start-up, signals.
 *
 * Start-up order: load and check everything (-n stops there, having
 * checked the store as the user the daemon would be), open the milter
 * socket while still root, drop privileges, check the store again as
 * that user, leave the terminal, and only then start threads (fork and
 * threads do not mix).
 *
 * libmilter runs its own signal thread that treats SIGHUP as "stop".  To
 * make SIGHUP a reload, smfi_main() runs in a thread of its own and this
 * main thread waits for HUP, TERM and INT with sigwait(): for a signal sent
 * to the process, Linux prefers the main thread when it is waiting for
 * it, so libmilter's thread never sees one.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milter.h"
#include "gateway.h"
#include "mlfi.h"
#include "outbox.h"
#include "render.h"
#include "xalloc.h"

#define EX_OK		0
#define EX_USAGE	64
#define EX_SOFTWARE	70
#define EX_OSERR	71
#define EX_CONFIG	78

#define DRAIN_SECONDS	30

/* Asked for (-h, --help): to stdout, and success; else a usage error. */
static void
usage(int asked)
{
	fprintf(asked ? stdout : stderr, "usage: segmilter [-fnV] [-c FILE] [-p SOCKET]\n"
	    "  -c FILE    configuration (default %s/segmilter/segmilter.conf)\n"
	    "  -p SOCKET  listen here instead of milter.socket\n"
	    "  -n         check the configuration and campaigns, then exit\n"
	    "  -f         stay in the foreground, log to stderr as well\n"
	    "  -V         print the version\n", SEGM_SYSCONFDIR);
	exit(asked ? EX_OK : EX_USAGE);
}

/*
 * The store must open for writing (the ledger and the audit log are
 * written for every campaign message), at the schema this binary knows
 * (store_probe).  Checks as whoever runs it; see check_store_as.
 */
static int
check_store(const struct conf *c, char *err, size_t errlen)
{
	return store_probe(c->store_path, c->store_timeout_ms, err, errlen);
}

/* Who this process is, for messages: a name, else "uid N". */
static const char *
user_name(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned int)geteuid());
	return buf;
}

/*
 * Becomes PW, groups first: setuid() leaves no right to change them.
 * 0, or -1 with ERR.
 */
static int
become(const struct passwd *pw, char *err, size_t errlen)
{
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot become %s: %s", pw->pw_name,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Appends " (as user USER)" to ERR: whose rights the check used. */
static void
as_user(char *err, size_t errlen, const char *user)
{
	size_t len = strnlen(err, errlen);

	if (len < errlen)
		snprintf(err + len, errlen - len, " (as user %s)", user);
}

/*
 * check_store in a child that becomes PW first, its ERR brought back
 * through a pipe.  0, or -1 with ERR (ERRLEN > 0).
 */
static int
check_store_child(const struct conf *c, const struct passwd *pw, char *err,
    size_t errlen)
{
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int fds[2], status = 0;

	if (pipe(fds) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		if (become(pw, err, errlen) == 0 &&
		    check_store(c, err, errlen) == 0)
			_exit(0);
		n = write(fds[1], err, strlen(err));
		_exit(n > 0 ? 1 : 2);
	}
	close(fds[1]);
	while (got < errlen - 1 && (n = read(fds[0], err + got,
	    errlen - 1 - got)) != 0) {
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	err[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (got == 0)
		snprintf(err, errlen, "the check failed (wait status %d)",
		    status);
	return -1;
}

/*
 * check_store as the user segmilter serves as: milter.user when started
 * as root with it set, in a child that becomes that user as
 * drop_privileges does (root reads and writes any file, so a check as
 * root proves nothing); else whoever runs it.  0, or -1 with ERR, which
 * names the user.
 */
static int
check_store_as(const struct conf *c, char *err, size_t errlen)
{
	const char *user = c->milter.user;
	struct passwd *pw;
	char me[64];

	if (getuid() == 0 && *user != '\0') {
		if ((pw = getpwnam(user)) == NULL) {
			snprintf(err, errlen, "milter.user: no user '%s'",
			    user);
			return -1;
		}
		if (check_store_child(c, pw, err, errlen) == 0)
			return 0;
	} else {
		if (check_store(c, err, errlen) == 0)
			return 0;
		user = user_name(me, sizeof(me));
	}
	as_user(err, errlen, user);
	return -1;
}

static const char *
unix_path(const char *sock)
{
	if (strncmp(sock, "unix:", 5) == 0)
		return sock + 5;
	if (strncmp(sock, "local:", 6) == 0)
		return sock + 6;
	return NULL;
}

/*
 * What a configuration that passes still leaves out, said plainly (to
 * stderr for -n, CHECK, else to the log): without re-injection a message
 * for several recipients goes out once, in the default variant when they
 * differ and without a personal unsubscribe link; without an unsubscribe
 * URL there is no one-click link at all.
 */
static void
warn_untailored(const struct conf *c, const char *path, int check)
{
	static const char reinject[] = "no outbox.reinject_url: a message"
	    " for several recipients goes out once, in the default variant"
	    " when they differ and without List-Unsubscribe (a link is"
	    " personal); only single-recipient messages are tailored";
	static const char unsub[] = "no milter.unsubscribe_url: campaign"
	    " mail carries no one-click unsubscribe link, which Gmail and"
	    " Yahoo require of bulk senders";

	if (c->outbox.reinject_url[0] == '\0') {
		if (check)
			fprintf(stderr, "%s: warning: %s\n", path, reinject);
		else
			daemon_log(LOG_WARNING, NULL, "%s", reinject);
	}
	if (c->milter.unsubscribe_url[0] == '\0') {
		if (check)
			fprintf(stderr, "%s: warning: %s\n", path, unsub);
		else
			daemon_log(LOG_WARNING, NULL, "%s", unsub);
	}
}

/*
 * A UNIX socket's directory must be there: libmilter would only say it
 * cannot listen, and -n would call the configuration OK.  (The unit makes
 * /run/segmilter before -n runs.)  0, or -1 with ERR.
 */
static int
check_socket_dir(const char *sock, char *err, size_t errlen)
{
	const char *path = unix_path(sock), *slash;
	char dir[4096];
	struct stat sb;

	if (path == NULL || (slash = strrchr(path, '/')) == NULL)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
	    (int)(slash - path), path);
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "milter.socket: %s: the directory %s"
		    " is not there%s", sock, dir, stat(dir, &sb) == -1 ?
		    "" : " (not a directory)");
		return -1;
	}
	return 0;
}

static int
open_socket(const struct conf *c, const char *sock)
{
	const char *path = unix_path(sock);
	mode_t old;
	int rc;

	if (smfi_setconn((char *)sock) != MI_SUCCESS ||
	    smfi_settimeout((int)c->milter.timeout_s) != MI_SUCCESS ||
	    smfi_setbacklog(256) != MI_SUCCESS || mlfi_register() == -1) {
		fprintf(stderr, "segmilter: %s: cannot set up the milter\n",
		    sock);
		return -1;
	}
	old = umask(0777 & ~(mode_t)c->milter.socket_mode);
	rc = smfi_opensocket(1);
	umask(old);
	if (rc != MI_SUCCESS) {
		fprintf(stderr, "segmilter: %s: cannot listen (in use, or"
		    " the directory is missing or not writable)\n", sock);
		return -1;
	}
	if (path != NULL)
		chmod(path, (mode_t)c->milter.socket_mode);
	milter_nodelay_listeners();
	return 0;
}

/*
 * The group a UNIX socket at PATH is to be given with its user: none
 * ((gid_t)-1, it keeps the one it was created with) when its directory
 * has the set-group-ID bit, since that directory gave it its own group,
 * the MTA's (segmilter(8), HOOKING IT UP); else the user's primary group.
 */
static gid_t
socket_group(const char *path, gid_t user_gid)
{
	struct stat sb;
	char *copy = xstrdup(path);
	int setgid_dir;

	setgid_dir = stat(dirname(copy), &sb) == 0 && (sb.st_mode & S_ISGID);
	free(copy);
	return setgid_dir ? (gid_t)-1 : user_gid;
}

static int
drop_privileges(const char *user, const char *sock)
{
	const char *path = unix_path(sock);
	struct passwd *pw;
	char err[512];

	if (getuid() != 0 || *user == '\0')
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "segmilter: milter.user: no user '%s'\n", user);
		return -1;
	}
	if (path != NULL && chown(path, pw->pw_uid, socket_group(path,
	    pw->pw_gid)) == -1) {
		fprintf(stderr, "segmilter: %s: chown: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (become(pw, err, sizeof(err)) == -1) {
		fprintf(stderr, "segmilter: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * smfi_main() returns on smfi_stop() or when it fails; in both cases the
 * main thread must hear of it, or a milter that stopped serving would sit
 * in sigwait() for ever.
 */
static void *
run_milter(void *arg)
{
	int *rc = arg;

	*rc = smfi_main() == MI_SUCCESS ? 0 : -1;
	kill(getpid(), SIGTERM);
	return NULL;
}

/* Settings only a restart applies: say so rather than ignore them. */
static void
warn_restart_only(const struct conf *old, const struct conf *new)
{
	if (strcmp(old->store_path, new->store_path) != 0 ||
	    strcmp(old->milter.socket, new->milter.socket) != 0 ||
	    old->milter.socket_mode != new->milter.socket_mode ||
	    strcmp(old->milter.user, new->milter.user) != 0 ||
	    old->milter.timeout_s != new->milter.timeout_s ||
	    old->outbox.workers != new->outbox.workers)
		daemon_log(LOG_WARNING, NULL, "store, milter.socket,"
		    " socket_mode, user, timeout or outbox.workers changed:"
		    " they take effect at the next restart, not on reload");
}

static void
reload(struct daemon_rt *rt, const char *path)
{
	struct daemon_gen *g, *old;
	char err[8192];

	if (daemon_gen_load(path, &g, err, sizeof(err)) == -1) {
		daemon_log_lines(LOG_ERR, "reload refused, the running"
		    " configuration stays:", err);
		return;
	}
	if (check_store(g->conf, err, sizeof(err)) == -1) {
		daemon_log(LOG_ERR, NULL, "reload refused, the running"
		    " configuration stays: store: %s", err);
		daemon_gen_free(g);
		return;
	}
	old = daemon_rt_acquire(rt);
	warn_restart_only(old->conf, g->conf);
	daemon_rt_release(rt, old);
	daemon_rt_swap(rt, g);
	daemon_log(LOG_INFO, NULL, "reloaded %s: %zu campaigns", path,
	    g->campaigns->n);
}

int
main(int argc, char **argv)
{
	const char *path = SEGM_SYSCONFDIR "/segmilter/segmilter.conf";
	const char *sock = NULL;
	struct daemon_gen *g;
	struct daemon_rt *rt;
	struct outbox *ob;
	struct daemon_ckpt *ck = NULL;
	pthread_t thread;
	sigset_t sigs;
	char err[8192], me[64];
	unsigned int major, minor, patch;
	int ch, check = 0, foreground = 0, sig, milter_rc = 0, drained;

	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		usage(1);
	while ((ch = getopt(argc, argv, "c:fhnp:V")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'p':
			sock = optarg;
			break;
		case 'V':
			smfi_version(&major, &minor, &patch);
			printf("segmilter %s (libmilter %u.%u.%u)\n",
			    SEGM_VERSION, major, minor, patch);
			return EX_OK;
		case 'h':
			usage(1);
			break;
		default:
			usage(0);
		}
	}
	if (optind != argc)
		usage(0);

	if (daemon_gen_load(path, &g, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s", err);
		return EX_CONFIG;
	}
	if (sock == NULL)
		sock = g->conf->milter.socket;
	else if (!conf_socket_valid(sock)) {
		fprintf(stderr, "segmilter: -p: '%s' is not unix:/PATH or"
		    " inet:PORT@HOST\n", sock);
		daemon_gen_free(g);
		return EX_USAGE;
	}
	if (check_socket_dir(sock, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", path, err);
		daemon_gen_free(g);
		return EX_CONFIG;
	}
	if ((check ? check_store_as(g->conf, err, sizeof(err)) :
	    check_store(g->conf, err, sizeof(err))) == -1) {
		fprintf(stderr, "%s: store: %s\n", path, err);
		daemon_gen_free(g);
		return EX_CONFIG;
	}
	if (check) {
		warn_untailored(g->conf, path, check);
		/* the MTA may start after segmilter: a warning, not an error */
		if (g->conf->outbox.reinject_url[0] != '\0' &&
		    gw_smtp_probe(g->conf->outbox.reinject_url, err,
		    sizeof(err)) == -1)
			fprintf(stderr, "%s: warning: outbox.reinject_url: %s:"
			    " %s: copies wait in the outbox until it answers;"
			    " the listener is in contrib/postfix/master.cf\n",
			    path, g->conf->outbox.reinject_url, err);
		printf("%s%s: configuration OK, %zu campaigns in %s\n",
		    g->sms_report, path, g->campaigns->n,
		    g->conf->milter.campaigns_dir);
		daemon_gen_free(g);
		return EX_OK;
	}

	daemon_log_open("segmilter", foreground);
	if (open_socket(g->conf, sock) == -1 ||
	    drop_privileges(g->conf->milter.user, sock) == -1) {
		daemon_gen_free(g);
		return EX_OSERR;
	}
	/*
	 * Once more as the user it now is: a store that user cannot use
	 * would otherwise start a daemon that tempfails every campaign
	 * message.  The check above ran with the rights it started with.
	 */
	if (check_store(g->conf, err, sizeof(err)) == -1) {
		as_user(err, sizeof(err), user_name(me, sizeof(me)));
		fprintf(stderr, "%s: store: %s\n", path, err);
		daemon_gen_free(g);
		return EX_CONFIG;
	}
	if (!foreground && daemon(0, 0) == -1) {
		fprintf(stderr, "segmilter: daemon: %s\n", strerror(errno));
		return EX_OSERR;
	}

	render_init();
	gateway_init();
	rt = daemon_rt_new(g);
	mlfi_set_runtime(rt);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* a server's store has no log of ours to checkpoint */
	if (!store_is_server(g->conf->store_path) &&
	    (ck = daemon_ckpt_start(g->conf->store_path,
	    g->conf->store_timeout_ms)) == NULL)
		daemon_log(LOG_WARNING, NULL, "cannot start the checkpoint"
		    " thread: commits checkpoint the store themselves");
	daemon_rt_set_checkpointer(rt, ck);
	/* jobs left 'sending' by a previous process: the workers' first
	 * look at the store puts them back (outbox_start) */
	ob = outbox_start(rt, (int)g->conf->outbox.workers);
	daemon_rt_set_outbox(rt, outbox_wake, ob);
	if (pthread_create(&thread, NULL, run_milter, &milter_rc) != 0) {
		daemon_log(LOG_ERR, NULL, "cannot start the milter thread");
		return EX_OSERR;
	}
	daemon_log(LOG_INFO, NULL, "segmilter %s listening on %s, %zu"
	    " campaigns", SEGM_VERSION, sock, g->campaigns->n);
	warn_untailored(g->conf, path, 0);
	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(rt, path);
			continue;
		}
		/*
		 * Nothing new starts: a message that reaches its end from
		 * now on is tempfailed at once (the MTA retries it after
		 * the restart), those already at their end are finished,
		 * and the outbox's transfers in flight are ended rather
		 * than waited for (their jobs stay claimed: the restart
		 * recovers them).  Sessions still open when segmilter exits
		 * see the connection close: the MTA's milter default.
		 */
		daemon_log(LOG_INFO, NULL, "%s: finishing open messages",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		daemon_rt_stop(rt);
		smfi_stop();
		drained = daemon_rt_drain(rt, DRAIN_SECONDS) == 0;
		if (!drained)
			daemon_log(LOG_WARNING, NULL, "messages still open"
			    " after %d s: exiting anyway", DRAIN_SECONDS);
		outbox_stop(ob);
		/* a message still open may yet wake the outbox */
		if (drained)
			outbox_free(ob);
		daemon_rt_set_checkpointer(rt, NULL);
		daemon_ckpt_stop(ck);
		break;
	}
	/* smfi_main may wait on idle connections: join it only if done */
	if (pthread_tryjoin_np(thread, NULL) == 0 && milter_rc != 0) {
		daemon_log(LOG_ERR, NULL, "the milter stopped serving");
		return EX_SOFTWARE;
	}
	daemon_log(LOG_INFO, NULL, "stopped");
	return EX_OK;
}
