/*
 * fuzz_reinject.c - the re-injection of a copy (gw_smtp_send) against
 * whatever the SMTP server answers: the input is the server's side of
 * the dialogue, written whole to the connection by a thread on a
 * loopback port, and the write side then shut, so that every reply
 * libcurl waits for is either in the input or an end of file, never a
 * timeout.
 *
 * libcurl's SMTP client reads the replies; gw_smtp_send keeps the last
 * reply line and the first refusal, maps them to sent, try again or
 * failed with a reason that goes to the log and the outbox row, and
 * gw_smtp_queue_id reads the queue id from the reply to a sent copy.  So
 * this fuzzes libcurl's reply reading as segmilter configures it (its
 * timeouts, its envelope) and what segmilter makes of it: the reason is
 * a printable line, "sent" only on a 2xx, "failed" only with a 5xx in
 * it, a queue id is letters and digits, and the transfer ends (a hang is
 * libFuzzer's timeout).  The server takes one connection per input: the
 * handle is made and freed per input (its QUIT meets the end of file).
 *
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway.h"

#define ACCEPT_MS	10000	/* libcurl connects at once, or never */

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int listener = -1;
static char url[64];

static const char message[] =
    "From: Shop <news@shop.example>\r\n"
    "To: rob@example.com\r\n"
    "Subject: VIP: 25% off\r\n"
    "X-Segmilter-Copy: v1; n=00; c=spring; t=1795000000; mac=00\r\n"
    "\r\n"
    "Dear customer: VIP: 25% off\r\n"
    ".a line that needs a dot stuffed\r\n";

struct server {
	const uint8_t	*data;
	size_t		 size;
};

static void
cleanup(void)
{
	if (listener != -1)
		close(listener);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	(void)argc;
	(void)argv;
	gateway_init();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if ((listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(listener, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(listener, 4) == -1 ||
	    getsockname(listener, (struct sockaddr *)&sin, &len) == -1) {
		perror("fuzz_reinject: listen on 127.0.0.1");
		exit(1);
	}
	atexit(cleanup);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
	return 0;
}

/*
 * The server: one connection, the input written to it, the write side
 * shut, then whatever libcurl sends read and dropped until it hangs up.
 */
static void *
serve(void *arg)
{
	struct server *sv = arg;
	struct pollfd pfd = { listener, POLLIN, 0 };
	char sink[4096];
	size_t off = 0;
	ssize_t n;
	int fd;

	if (poll(&pfd, 1, ACCEPT_MS) != 1 ||
	    (fd = accept(listener, NULL, NULL)) == -1)
		return NULL;
	while (off < sv->size) {
		n = send(fd, sv->data + off, sv->size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;		/* libcurl hung up first */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, sink, sizeof(sink)) > 0)
		;
	close(fd);
	return NULL;
}

/* A reply code 5xx in ERR, as the refusal or the last reply code. */
static int
says_5xx(const char *err)
{
	const char *p;

	for (p = err; *p != '\0'; p++)
		if ((p == err || p[-1] == ' ') && p[0] == '5' &&
		    isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) &&
		    !isdigit((unsigned char)p[3]))
			return 1;
	return 0;
}

/* gw_read_fn over the message above */
static int
read_message(void *arg, size_t at, void *buf, size_t n)
{
	(void)arg;
	memcpy(buf, message + at, n);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server sv = { data, size };
	struct gw_smtp *g;
	enum gw_result r;
	pthread_t t;
	char err[512], id[64];
	const char *p;
	long code;

	if (pthread_create(&t, NULL, serve, &sv) != 0)
		abort();
	g = gw_smtp_new(url, NULL);
	err[0] = '\0';
	r = gw_smtp_send(g, "<news@shop.example>",
	    "rob@example.com\nzoe@example.com\n", read_message, NULL,
	    sizeof(message) - 1, err, sizeof(err));
	gw_smtp_free(g);
	pthread_join(t, NULL);

	/* the reason goes to the log and the outbox row: one short line */
	if (err[0] == '\0' || strnlen(err, sizeof(err)) == sizeof(err))
		abort();
	for (p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	if (r == GW_SENT) {
		code = strtol(err, NULL, 10);
		if (code < 200 || code > 299)
			abort();
		gw_smtp_queue_id(err, id, sizeof(id));
		for (p = id; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p))
				abort();
	} else if (r == GW_PERMFAIL && !says_5xx(err))
		abort();
	return 0;
}
