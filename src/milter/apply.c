/*
 * apply.c - step 4: what the MTA is asked to do once the decisions are
 * recorded (remove recipients, change headers and the sender, replace
 * the body), what it is told when the message cannot be judged, and the
 * log lines that say how the message went.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "buf.h"
#include "msg_int.h"
#include "parse.h"
#include "policy.h"
#include "str.h"
#include "unsub.h"

/*
 * "451 4.3.0 ..." with TEXT, which carries no CR/LF, no other control
 * character (a value from the message, such as its campaign header) and
 * no raw '%'.
 */
void
msg_reply(const struct milter_ops *ops, const char *rcode, const char *xcode,
    const char *text)
{
	char safe[512];
	size_t i, n = 0;

	for (i = 0; text[i] != '\0' && n + 2 < sizeof(safe); i++) {
		if (text[i] == '\r' || text[i] == '\n')
			safe[n++] = ' ';
		else if (text[i] == '%') {
			safe[n++] = '%';
			safe[n++] = '%';
		} else
			safe[n++] = text[i];
	}
	safe[n] = '\0';
	str_mask_controls(safe);
	ops->setreply(ops->ctx, rcode, xcode, safe);
}

enum milter_verdict
msg_store_failed(struct milter_msg *m, const struct daemon_env *env,
    const struct milter_ops *ops)
{
	if (env->conf->milter.on_store_error == ON_ERROR_ACCEPT) {
		daemon_log(LOG_WARNING, m->qid, "campaign=%s: store error:"
		    " accepting untouched (on_store_error = accept)",
		    m->campaign);
		return MILTER_CONTINUE;
	}
	msg_reply(ops, "451", "4.3.0", "segmilter: customer store unavailable,"
	    " try again later");
	return MILTER_TEMPFAIL;
}

static int
replace_chunk(void *arg, const void *p, size_t n)
{
	const struct milter_ops *ops = arg;

	return ops->replacebody(ops->ctx, p, n) != 0 ? 1 : 0;
}

static int
replace_body(struct spool *body, const struct milter_ops *ops, char *err,
    size_t errlen)
{
	switch (spool_each(body, replace_chunk, (void *)ops)) {
	case 0:
		return 0;
	case 1:
		snprintf(err, errlen, "replacebody refused");
		break;
	default:
		snprintf(err, errlen, "spool: %s", spool_error(body));
		break;
	}
	return -1;
}

/*
 * Requests to the MTA; headers before the body, as Postfix wants.  The
 * recipients of copies leave the original only now, after the commit
 * that queued their copy.
 */
int
msg_apply(struct milter_msg *m, const struct daemon_env *env,
    const struct msg_plan *p, int64_t now, const struct milter_ops *ops)
{
	const struct msg_part *part = &p->parts[p->inplace];
	const struct render_result *res = &part->res;
	char err[256], unsub[UNSUB_TOKEN_MAX + 512];
	char from[PARSE_EMAIL_MAX + 3];
	size_t i;
	int n;

	for (i = 0; i < m->nrcpts; i++)
		if ((m->rcpts[i].d.reason != POLICY_DELIVER ||
		    m->rcpts[i].part != p->inplace) &&
		    ops->delrcpt(ops->ctx, m->rcpts[i].addr) != 0)
			return -1;
	/*
	 * A signature made before us does not survive what follows: it
	 * goes, rather than fail at the receiver (signing belongs after
	 * segmilter).  With dkim_signature = keep, nothing is rewritten
	 * (msg_plan_build): the campaign header stays too.
	 */
	if (m->dkim_headers > 0 && env->conf->milter.dkim_signature ==
	    DKIM_KEEP)
		goto headers_done;
	for (n = m->dkim_headers; n >= 1; n--)
		if (ops->chgheader(ops->ctx, "DKIM-Signature", n, NULL) != 0)
			return -1;
	if (m->dkim_headers > 0)
		daemon_log(LOG_NOTICE, m->qid, "DKIM-Signature removed (%d):"
		    " the message is rewritten; sign after segmilter",
		    m->dkim_headers);
	/* from the last: an index must not shift under later deletes */
	for (n = m->campaign_headers; n >= 1; n--)
		if (ops->chgheader(ops->ctx,
		    env->conf->milter.campaign_header, n, NULL) != 0)
			return -1;
	if (res->subject != NULL &&
	    ops->chgheader(ops->ctx, "Subject", 1, res->subject) != 0)
		return -1;
	if (res->content_type != NULL &&
	    ops->chgheader(ops->ctx, "Content-Type", 1, res->content_type) != 0)
		return -1;
	if (res->transfer_encoding != NULL &&
	    ops->chgheader(ops->ctx, "Content-Transfer-Encoding", 1,
	    res->transfer_encoding) != 0)
		return -1;
headers_done:
	if (msg_unsub_header(m, env, part, now, unsub, sizeof(unsub)) == 0 &&
	    (ops->addheader(ops->ctx, "List-Unsubscribe", unsub) != 0 ||
	    ops->addheader(ops->ctx, "List-Unsubscribe-Post",
	    "List-Unsubscribe=One-Click") != 0))
		return -1;
	if (msg_return_path(m, env, part, from, sizeof(from)) == 0) {
		if (ops->chgfrom == NULL)
			daemon_log(LOG_WARNING, m->qid, "the MTA does not offer"
			    " to change the sender: return path kept, bounces"
			    " go to %s", m->sender != NULL ? m->sender : "<>");
		else if (ops->chgfrom(ops->ctx, from) != 0)
			return -1;
	}
	if (part->body != NULL && res->body_changed &&
	    replace_body(part->body, ops, err, sizeof(err)) == -1) {
		daemon_log(LOG_ERR, m->qid, "body: %s", err);
		return -1;
	}
	return 0;
}

/*
 * One line per suppressed recipient, the reason and its figures; the
 * delivered ones are counted in the summary line (Postfix logs each
 * delivery, and the audit log has every decision): a 50-recipient
 * broadcast should not cost 50 log lines to say that all went well.
 */
void
msg_log_decisions(struct milter_msg *m, const struct campaign *c)
{
	struct milter_rcpt *r;
	size_t i;

	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->d.reason == POLICY_DELIVER)
			continue;
		daemon_log(LOG_INFO, m->qid, "to=%s, campaign=%s, decision=%s,"
		    " segment=%s, variant=%s%s%s", r->addr, c->id,
		    policy_reason_name(r->d.reason),
		    r->r->has_segment ? conf_lifecycle_name(r->r->seg.lifecycle) :
		    "none", r->d.reason == POLICY_DELIVER ?
		    campaign_variant_name(c, r->d.variant) : "none",
		    r->d.detail[0] != '\0' ? ", detail=" : "", r->d.detail);
	}
}

/*
 * The summary line: who went how, per variant, so that its length does
 * not grow with the copies (a message split per recipient made 395 of
 * them, and a line cut at syslog's limit).
 */
void
msg_log_summary(struct milter_msg *m, const struct campaign *c,
    const struct msg_plan *p, size_t kept, int64_t now)
{
	const struct msg_part *pt;
	struct buf line;
	char when[32];
	int64_t first, last, until;
	size_t i, copies, n, held;
	int v;

	buf_init(&line, 4096);
	buf_printf(&line, "campaign=%s: delivered to %zu of %zu", c->id, kept,
	    m->nrcpts);
	if (p->inplace >= 0 && p->parts[p->inplace].n > 0) {
		pt = &p->parts[p->inplace];
		buf_printf(&line, "; in place: %zu, variant=%s, body %s", pt->n,
		    p->mixed ? "default (several)" :
		    campaign_variant_name(c, pt->g.variant),
		    pt->body != NULL && pt->res.body_changed ? "rewritten" :
		    "untouched");
	}
	for (v = -1; v < (int)c->nvariants; v++) {
		copies = n = held = 0;
		first = last = until = 0;
		for (i = 0; i < p->nparts; i++) {
			pt = &p->parts[i];
			if (pt->n == 0 || (int)i == p->inplace ||
			    pt->g.variant != v)
				continue;
			copies++;
			n += pt->n;
			if (first == 0 || pt->job < first)
				first = pt->job;
			if (pt->job > last)
				last = pt->job;
			if (pt->send_after > now) {
				held++;
				if (until == 0 || pt->send_after < until)
					until = pt->send_after;
			}
		}
		if (copies == 0)
			continue;
		buf_printf(&line, "; variant=%s: %zu in %zu cop%s (job%s %lld%s",
		    campaign_variant_name(c, v), n, copies, copies == 1 ? "y" :
		    "ies", first == last ? "" : "s", (long long)first,
		    first == last ? "" : "-");
		if (first != last)
			buf_printf(&line, "%lld", (long long)last);
		buf_printf(&line, ")");
		format_time(until, when, sizeof(when));
		if (held == 1 && copies == 1)
			buf_printf(&line, ", held until %s", when);
		else if (held > 0)
			buf_printf(&line, ", %zu held, the first until %s",
			    held, when);
	}
	daemon_log(LOG_INFO, m->qid, "%s", buf_str(&line));
	buf_free(&line);
}
