/*
 * main.c - segfeed(8): options, start-up, signals.
 *
 * As segmilter's: load and check everything (-n stops there), bind the
 * socket, leave the terminal, and only then start threads; the main
 * thread then waits in sigwait() for HUP (reload: a broken configuration
 * is refused and the running one kept) and TERM or INT (stop: every
 * connection closed, libmicrohttpd's threads joined, within its
 * connection timeout at worst).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <microhttpd.h>

#include "feedback.h"
#include "daemon.h"
#include "render.h"
#include "store.h"

#define EX_OK		0
#define EX_USAGE	64
#define EX_OSERR	71
#define EX_CONFIG	78

/* Asked for (-h, --help): to stdout, and success; else a usage error. */
static void
usage(int asked)
{
	fprintf(asked ? stdout : stderr, "usage: segfeed [-fnV] [-c FILE]\n"
	    "  -c FILE    configuration (default %s/segmilter/segmilter.conf)\n"
	    "  -n         check the configuration, then exit\n"
	    "  -f         stay in the foreground, log to stderr as well\n"
	    "  -V         print the version\n", SEGM_SYSCONFDIR);
	exit(asked ? EX_OK : EX_USAGE);
}

static void
reload(struct feedback_rt *rt, const char *path, const char *listen,
    const char *lmtp)
{
	struct feedback_gen *g;
	char err[8192], gw[64];

	if (feedback_gen_load(path, &g, err, sizeof(err)) == -1) {
		daemon_log_lines(LOG_ERR, "reload refused, the running"
		    " configuration stays:", err);
		return;
	}
	if (store_probe(g->conf->store_path, g->conf->store_timeout_ms, err,
	    sizeof(err)) == -1) {
		daemon_log(LOG_ERR, NULL, "reload refused, the running"
		    " configuration stays: store: %s", err);
		feedback_gen_free(g);
		return;
	}
	if (strcmp(listen, g->conf->feedback.listen) != 0 ||
	    strcmp(lmtp, g->conf->feedback.lmtp_listen) != 0)
		daemon_log(LOG_WARNING, NULL, "feedback.listen, lmtp_listen,"
		    " store, max_body_kb and threads take effect at the next"
		    " restart, not on reload");
	feedback_gateways(g->conf, gw, sizeof(gw));
	daemon_log(LOG_INFO, NULL, "reloaded %s: serving %s%s%s; gateways:"
	    " %s", path, g->env.unsub.path, g->env.unsub.query[0] ? "?" : "",
	    g->env.unsub.query, gw);
	feedback_rt_swap(rt, g);
}

int
main(int argc, char **argv)
{
	const char *path = SEGM_SYSCONFDIR "/segmilter/segmilter.conf";
	struct feedback_gen *g;
	struct feedback_rt *rt;
	struct feedback_lmtp *lm = NULL;
	struct feedback_http *h;
	struct conf_listen l, ll;
	sigset_t sigs;
	char err[8192], gw[64], *listen, *lmtp;
	int ch, check = 0, foreground = 0, sig, fd, lfd = -1;

	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		usage(1);
	while ((ch = getopt(argc, argv, "c:fhnV")) != -1) {
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
		case 'V':
			printf("segfeed %s (libmicrohttpd %s)\n", SEGM_VERSION,
			    MHD_get_version());
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

	if (feedback_gen_load(path, &g, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s", err);
		return EX_CONFIG;
	}
	if (store_probe(g->conf->store_path, g->conf->store_timeout_ms, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s: store: %s\n", path, err);
		feedback_gen_free(g);
		return EX_CONFIG;
	}
	/* conf_load checked them: cannot fail here */
	conf_listen_parse(g->conf->feedback.listen, &l);
	memset(&ll, 0, sizeof(ll));
	if (g->conf->feedback.lmtp_listen[0] != '\0')
		conf_listen_parse(g->conf->feedback.lmtp_listen, &ll);
	if (check) {
		feedback_gateways(g->conf, gw, sizeof(gw));
		printf("%s: configuration OK, serving %s%s%s on %s;"
		    " gateways: %s; bounces by LMTP: %s\n", path,
		    g->env.unsub.path, g->env.unsub.query[0] ? "?" : "",
		    g->env.unsub.query, g->conf->feedback.listen, gw,
		    g->conf->feedback.lmtp_listen[0] != '\0' ?
		    g->conf->feedback.lmtp_listen : "off");
		feedback_gen_free(g);
		return EX_OK;
	}

	daemon_log_open("segfeed", foreground);
	if ((fd = feedback_listen(&l, err, sizeof(err))) == -1 ||
	    (g->conf->feedback.lmtp_listen[0] != '\0' &&
	    (lfd = feedback_listen(&ll, err, sizeof(err))) == -1)) {
		fprintf(stderr, "segfeed: cannot listen on %s\n", err);
		feedback_gen_free(g);
		return EX_OSERR;
	}
	if (!foreground && daemon(0, 0) == -1) {
		fprintf(stderr, "segfeed: daemon: %s\n", strerror(errno));
		return EX_OSERR;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	/* before any thread starts, so that all of them inherit it */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* GMime, for the LMTP listener's reports alone: once, before
	 * threads, and only with the listener */
	if (lfd != -1)
		render_init();
	listen = strdup(g->conf->feedback.listen);
	lmtp = strdup(g->conf->feedback.lmtp_listen);
	rt = feedback_rt_new(g);
	if (listen == NULL || lmtp == NULL) {
		daemon_log(LOG_ERR, NULL, "out of memory");
		return EX_OSERR;
	}
	if ((h = feedback_http_start(rt, fd, &g->conf->feedback, err,
	    sizeof(err))) == NULL || (lfd != -1 &&
	    (lm = feedback_lmtp_start(rt, lfd, err, sizeof(err))) == NULL)) {
		daemon_log(LOG_ERR, NULL, "%s", err);
		return EX_OSERR;
	}
	feedback_gateways(g->conf, gw, sizeof(gw));
	daemon_log(LOG_INFO, NULL, "segfeed %s listening on %s, serving"
	    " %s%s%s; gateways: %s; bounces by LMTP: %s", SEGM_VERSION,
	    listen, g->env.unsub.path, g->env.unsub.query[0] ? "?" : "",
	    g->env.unsub.query, gw, *lmtp != '\0' ? lmtp : "off");
	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(rt, path, listen, lmtp);
			continue;
		}
		daemon_log(LOG_INFO, NULL, "%s: closing connections",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	feedback_lmtp_stop(lm);
	feedback_http_stop(h);
	if (l.is_unix)
		unlink(l.path);
	if (lm != NULL && ll.is_unix)
		unlink(ll.path);
	feedback_rt_free(rt);
	free(listen);
	free(lmtp);
	daemon_log(LOG_INFO, NULL, "stopped");
	return EX_OK;
}
