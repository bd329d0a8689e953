/*
 * mlfi.c - the libmilter callbacks: glue between the MTA and milter_msg.
 *
 * Per connection, one struct mlfi_conn through smfi_setpriv; per message,
 * the configuration generation taken at MAIL FROM, so a SIGHUP never
 * changes the rules under a message.  Every step that needs no answer is
 * negotiated away (no connect, HELO, unknown; no reply to MAIL, RCPT,
 * headers and body chunks): each answer is a round trip the MTA waits on.
 * The DATA step stays: without it Postfix's next write waits on a delayed
 * ACK (../shared/notes/postfix-test-instance.md).
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "milter.h"
#include "mlfi.h"
#include "xalloc.h"

/* The loaded configuration: the one global, set before smfi_main(). */
static struct daemon_rt *mlfi_rt;

struct mlfi_conn {
	struct milter_msg	*msg;
	struct daemon_gen	*gen;	/* NULL between messages */
	unsigned long		 pf0;	/* actions negotiated */
	unsigned long		 pf1;	/* protocol steps negotiated */
	int			 done;	/* accepted at EOH: ignore the rest */
};

void
mlfi_set_runtime(struct daemon_rt *rt)
{
	mlfi_rt = rt;
}

static struct mlfi_conn *
conn_get(SMFICTX *ctx)
{
	struct mlfi_conn *cc = smfi_getpriv(ctx);

	if (cc == NULL) {
		cc = xcalloc(1, sizeof(*cc));
		cc->msg = milter_msg_new();
		smfi_setpriv(ctx, cc);
	}
	return cc;
}

static void
conn_end_message(struct mlfi_conn *cc)
{
	milter_msg_reset(cc->msg);
	daemon_rt_release(mlfi_rt, cc->gen);
	cc->gen = NULL;
	cc->done = 0;
}

/* What a step with a negotiated "no reply" must return. */
static sfsistat
noreply(const struct mlfi_conn *cc, unsigned long flag)
{
	return (cc->pf1 & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long need = SMFIF_CHGHDRS | SMFIF_CHGBODY |
	    SMFIF_DELRCPT;
	const unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO |
	    SMFIP_NOUNKNOWN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR |
	    SMFIP_NR_BODY;
	struct mlfi_conn *cc = conn_get(ctx);

	(void)f2;
	(void)f3;
	if ((f0 & need) != need) {
		daemon_log(LOG_ERR, NULL, "the MTA does not offer the"
		    " actions segmilter needs (change headers, replace body,"
		    " delete recipients): milter disabled for this"
		    " connection");
		return SMFIS_REJECT;
	}
	/* CHGFROM for return paths (milter.bounce_domain), where offered */
	*pf0 = need | (f0 & (SMFIF_ADDHDRS | SMFIF_SETSYMLIST |
	    SMFIF_CHGFROM));
	*pf1 = f1 & skip;
	*pf2 = 0;
	*pf3 = 0;
	cc->pf0 = *pf0;
	cc->pf1 = *pf1;
	/*
	 * Only the queue id is used: without a list Postfix sends its
	 * default macros with every RCPT, fifty packets to parse and drop
	 * for a fifty-recipient message.
	 */
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i");
		smfi_setsymlist(ctx, SMFIM_DATA, "i");
		smfi_setsymlist(ctx, SMFIM_EOH, "i");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct mlfi_conn *cc = conn_get(ctx);

	conn_end_message(cc);
	cc->gen = daemon_rt_acquire(mlfi_rt);
	milter_msg_sender(cc->msg, argv[0] != NULL ? argv[0] : "<>");
	return noreply(cc, SMFIP_NR_MAIL);
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mlfi_conn *cc = conn_get(ctx);

	if (argv[0] != NULL)
		milter_msg_rcpt(cc->msg, argv[0]);
	return noreply(cc, SMFIP_NR_RCPT);
}

/* Registered so that the DATA step is kept (see the top of the file). */
static sfsistat
mlfi_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct mlfi_conn *cc = conn_get(ctx);

	/* a failure is remembered by the message and answered at EOH */
	if (cc->gen != NULL)
		milter_msg_header(cc->msg, &cc->gen->env, name, value);
	return noreply(cc, SMFIP_NR_HDR);
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct mlfi_conn *cc = conn_get(ctx);
	int rc;

	if (cc->gen == NULL)
		return SMFIS_ACCEPT;
	milter_msg_set_queue_id(cc->msg, smfi_getsymval(ctx, "i"));
	rc = milter_msg_eoh(cc->msg, &cc->gen->env);
	if (rc == 1 || rc == 2)
		return SMFIS_CONTINUE;
	conn_end_message(cc);
	if (rc == 0)
		return SMFIS_ACCEPT;
	smfi_setreply(ctx, "451", "4.3.0", "segmilter: cannot hold the"
	    " message, try again later");
	return SMFIS_TEMPFAIL;
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	struct mlfi_conn *cc = conn_get(ctx);

	/* a failure is remembered by the message and answered at EOM */
	milter_msg_body(cc->msg, p, len);
	return noreply(cc, SMFIP_NR_BODY);
}

/* The smfi_* calls behind struct milter_ops. */
static int
ops_delrcpt(void *ctx, const char *rcpt)
{
	return smfi_delrcpt(ctx, (char *)rcpt) == MI_SUCCESS ? 0 : -1;
}

static int
ops_chgheader(void *ctx, const char *name, int index, const char *value)
{
	return smfi_chgheader(ctx, (char *)name, index, (char *)value) ==
	    MI_SUCCESS ? 0 : -1;
}

static int
ops_replacebody(void *ctx, const unsigned char *p, size_t len)
{
	return smfi_replacebody(ctx, (unsigned char *)p, (int)len) ==
	    MI_SUCCESS ? 0 : -1;
}

static int
ops_setreply(void *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	return smfi_setreply(ctx, (char *)rcode, (char *)xcode,
	    (char *)text) == MI_SUCCESS ? 0 : -1;
}

static int
ops_addheader(void *ctx, const char *name, const char *value)
{
	return smfi_addheader(ctx, (char *)name, (char *)value) ==
	    MI_SUCCESS ? 0 : -1;
}

static int
ops_chgfrom(void *ctx, const char *sender)
{
	return smfi_chgfrom(ctx, (char *)sender, NULL) == MI_SUCCESS ? 0 : -1;
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct mlfi_conn *cc = conn_get(ctx);
	struct milter_ops ops;
	enum milter_verdict v;
	struct store *st;

	if (cc->gen == NULL)
		return SMFIS_CONTINUE;
	milter_msg_set_queue_id(cc->msg, smfi_getsymval(ctx, "i"));
	ops.ctx = ctx;
	ops.delrcpt = ops_delrcpt;
	ops.chgheader = ops_chgheader;
	ops.replacebody = ops_replacebody;
	ops.setreply = ops_setreply;
	ops.addheader = ops_addheader;
	ops.chgfrom = (cc->pf0 & SMFIF_CHGFROM) ? ops_chgfrom : NULL;
	if (daemon_rt_busy(mlfi_rt, 1) == -1) {
		/* answered at once: the MTA keeps it for the restart */
		smfi_setreply(ctx, "451", "4.3.2", "segmilter: shutting down,"
		    " try again later");
		return SMFIS_TEMPFAIL;
	}
	st = daemon_rt_store(mlfi_rt);
	v = milter_msg_eom(cc->msg, &cc->gen->env, st, (int64_t)time(NULL),
	    &ops);
	/*
	 * The message is freed by the next envfrom, abort or close, not
	 * here: between a copy's note and libmilter's answer (msg.c,
	 * pass_copy) a crash loses the copy, and the MTA waits for its
	 * answer meanwhile.
	 */
	daemon_rt_busy(mlfi_rt, -1);
	switch (v) {
	case MILTER_DISCARD:
		return SMFIS_DISCARD;
	case MILTER_TEMPFAIL:
		return SMFIS_TEMPFAIL;
	case MILTER_CONTINUE:
		break;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct mlfi_conn *cc = smfi_getpriv(ctx);

	if (cc != NULL)
		conn_end_message(cc);
	return SMFIS_CONTINUE;
}

/* May run before any other callback, with no private data. */
static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct mlfi_conn *cc = smfi_getpriv(ctx);

	if (cc == NULL)
		return SMFIS_CONTINUE;
	conn_end_message(cc);
	milter_msg_free(cc->msg);
	free(cc);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

int
mlfi_register(void)
{
	struct smfiDesc desc;

	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = "segmilter";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_DELRCPT |
	    SMFIF_ADDHDRS | SMFIF_CHGFROM;
	desc.xxfi_envfrom = mlfi_envfrom;
	desc.xxfi_envrcpt = mlfi_envrcpt;
	desc.xxfi_data = mlfi_data;
	desc.xxfi_header = mlfi_header;
	desc.xxfi_eoh = mlfi_eoh;
	desc.xxfi_body = mlfi_body;
	desc.xxfi_eom = mlfi_eom;
	desc.xxfi_abort = mlfi_abort;
	desc.xxfi_close = mlfi_close;
	desc.xxfi_negotiate = mlfi_negotiate;
	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
