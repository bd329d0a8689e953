/*
 * nullmilter.c - the libmilter protocol floor for the benchmarks: a
 * milter that buffers every body and replaces it with itself, with the
 * same protocol steps skipped and TCP_NODELAY as segmilter, and nothing
 * else.  segmilter's throughput is stated against this one's.
 *
 *   nullmilter SOCKET        (unix:/path or inet:PORT@127.0.0.1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

#include "buf.h"
#include "milter.h"

struct null_conn {
	unsigned long	 pf1;	/* steps that get no reply */
	struct buf	 body;
};

/* The first callback of a connection: the state is made here. */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct null_conn *nc = calloc(1, sizeof(*nc));

	(void)f0;
	(void)f2;
	(void)f3;
	if (nc == NULL)
		return SMFIS_TEMPFAIL;
	*pf0 = SMFIF_CHGBODY;
	*pf1 = f1 & (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN |
	    SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY);
	*pf2 = 0;
	*pf3 = 0;
	nc->pf1 = *pf1;
	buf_init(&nc->body, 256 * 1024 * 1024);
	smfi_setpriv(ctx, nc);
	return SMFIS_CONTINUE;
}

static struct null_conn *
conn(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static sfsistat
reply(struct null_conn *nc, unsigned long flag)
{
	return (nc->pf1 & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	struct null_conn *nc = conn(ctx);

	(void)argv;
	buf_reset(&nc->body);
	return reply(nc, SMFIP_NR_MAIL);
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return reply(conn(ctx), SMFIP_NR_RCPT);
}

static sfsistat
null_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return reply(conn(ctx), SMFIP_NR_HDR);
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	struct null_conn *nc = conn(ctx);

	buf_append(&nc->body, p, len);
	return reply(nc, SMFIP_NR_BODY);
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	struct null_conn *nc = conn(ctx);

	smfi_replacebody(ctx, (unsigned char *)nc->body.data,
	    (int)nc->body.len);
	buf_reset(&nc->body);
	return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
	struct null_conn *nc = smfi_getpriv(ctx);

	if (nc != NULL) {
		buf_free(&nc->body);
		free(nc);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc d;

	if (argc != 2) {
		fprintf(stderr, "usage: nullmilter SOCKET\n");
		return 64;
	}
	memset(&d, 0, sizeof(d));
	d.xxfi_name = "nullmilter";
	d.xxfi_version = SMFI_VERSION;
	d.xxfi_flags = SMFIF_CHGBODY;
	d.xxfi_negotiate = null_negotiate;
	d.xxfi_envfrom = null_envfrom;
	d.xxfi_envrcpt = null_envrcpt;
	d.xxfi_data = null_data;
	d.xxfi_header = null_header;
	d.xxfi_body = null_body;
	d.xxfi_eom = null_eom;
	d.xxfi_close = null_close;
	umask(0);
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(d) !=
	    MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot listen on %s\n", argv[1]);
		return 71;
	}
	milter_nodelay_listeners();
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}
