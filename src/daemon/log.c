/*
 * log.c - segmilter's log lines, queue id first, as Postfix writes its
 * own, so that one grep for a queue id finds both.
 *
 * The destination is chosen once at start-up and is part of the loaded
 * configuration in all but name; it is never changed while threads run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"
#include "str.h"

enum log_to { LOG_TO_SYSLOG, LOG_TO_STDERR };

static enum log_to log_to = LOG_TO_SYSLOG;
static const char *log_ident = "segmilter";	/* segfeed shares this */

void
daemon_log_open(const char *ident, int foreground)
{
	log_ident = ident;
	if (foreground && access("/dev/log", W_OK) == -1) {
		log_to = LOG_TO_STDERR;
		return;
	}
	/* under systemd stderr is the journal, which has syslog already */
	openlog(ident, LOG_PID | LOG_NDELAY |
	    (foreground && isatty(STDERR_FILENO) ? LOG_PERROR : 0), LOG_MAIL);
}

void
daemon_log(int prio, const char *qid, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* addresses, header values and replies come from outside: one
	 * line each, never a forged second one */
	str_mask_controls(line);
	if (qid == NULL || *qid == '\0')
		qid = "NOQUEUE";
	if (log_to == LOG_TO_STDERR)
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_ident,
		    (long)getpid(), qid, line);
	else
		syslog(prio, "%s: %s", qid, line);
}

void
daemon_log_lines(int prio, const char *intro, const char *text)
{
	const char *eol;

	daemon_log(prio, NULL, "%s", intro);
	for (; *text != '\0'; text = eol + 1) {
		eol = strchr(text, '\n');
		if (eol == NULL) {
			daemon_log(prio, NULL, "  %s", text);
			return;
		}
		daemon_log(prio, NULL, "  %.*s", (int)(eol - text), text);
	}
}
