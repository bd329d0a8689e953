/*
 * nodelay.c - TCP_NODELAY on a libmilter program's listening sockets.
 *
 * libmilter accepts the MTA's connections itself and offers no hook on
 * them, but on Linux an accepted socket inherits TCP_NODELAY from its
 * listener.  Without it, each small end-of-message request and the final
 * reply can wait ~40 ms for a delayed ACK (Nagle).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "milter.h"

int
milter_nodelay_listeners(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, listening, one = 1, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
		    &len) == -1 || !listening)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) == 0)
			n++;
	}
	return n;
}
