/*
 * split.c - parting a campaign's kept recipients and building copies.
 *
 * A part is what one rendering serves.  The part that stays in the
 * original message is the largest one allowed to go now: it saves the
 * most copies.  A part held by its variant's send_after can never stay
 * in the original (the MTA would deliver it at once), so when every part
 * is held the original is discarded and everything goes through the
 * outbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "bounce.h"
#include "msg_int.h"
#include "parse.h"
#include "str.h"
#include "unsub.h"
#include "xalloc.h"

/* Names whose value is the recipient's own: a part each. */
static const char *const personal_names[] = {
	"first_name", "last_name", "company", "email"
};

/*
 * Whether R goes in part P.  A copy held for later is one recipient's
 * (policy_due): what changes meanwhile, an unsubscribe or an order, is
 * checked for each when it is due, and a copy's marker is bound to its
 * recipients, so none can be taken out of a shared one.
 */
static int
same_part(const struct milter_rcpt *r, const struct msg_part *p,
    const struct conf_outbox *o, int64_t now)
{
	if (r->d.variant != p->g.variant || r->d.due_at > now ||
	    p->send_after > now)
		return 0;
	if (o->split_language && strcmp(r->r->seg.language, p->language) != 0)
		return 0;
	if (o->split_currency && strcmp(r->r->seg.currency, p->currency) != 0)
		return 0;
	return 1;
}

/* Gives every kept recipient a part; the parts' keys into P. */
static void
assign_parts(struct milter_msg *m, const struct daemon_env *env,
    struct msg_plan *p, int64_t now)
{
	const struct conf_outbox *o = &env->conf->outbox;
	struct milter_rcpt *r;
	struct msg_part *part;
	size_t i, j;

	p->parts = xcalloc(m->nrcpts + 1, sizeof(*p->parts));
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		r->part = -1;
		if (r->d.reason != POLICY_DELIVER)
			continue;
		if (!p->split) {
			r->part = 0;
			if (p->nparts == 0)
				p->nparts = 1;
			p->parts[0].n++;
			continue;
		}
		for (j = 0; !p->personal && j < p->nparts; j++)
			if (same_part(r, &p->parts[j], o, now))
				break;
		if (p->personal)
			j = p->nparts;
		if (j == p->nparts) {
			part = &p->parts[p->nparts++];
			part->g.variant = r->d.variant;
			str_copy(part->language, sizeof(part->language),
			    r->r->seg.language);
			str_copy(part->currency, sizeof(part->currency),
			    r->r->seg.currency);
			part->send_after = r->d.due_at;
		}
		r->part = (int)j;
		p->parts[j].n++;
	}
}

/*
 * Without splitting nothing can wait: a recipient whose copy is due
 * later (a sequence's step, send_local) gets nothing now rather than
 * the message early, said why.
 */
static void
refuse_held(struct milter_msg *m, const char *why, int64_t now)
{
	struct milter_rcpt *r;
	char when[32];
	size_t i;

	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->d.reason != POLICY_DELIVER || r->d.due_at <= now)
			continue;
		format_time(r->d.due_at, when, sizeof(when));
		r->d.reason = POLICY_CANNOT_HOLD;
		snprintf(r->d.detail, sizeof(r->d.detail), "due %s, but the"
		    " message cannot be split to hold it: %s", when, why);
	}
}

/* Whether part I becomes a copy of its own in the outbox. */
static int
part_is_copy(const struct msg_plan *p, int i, int copies)
{
	return copies && p->split && i != p->inplace;
}

/*
 * Renders part I: a copy's body onto the plan's bodies, any other part's
 * into a spool of its own.  One spool for all copies, not one each: a
 * message split per recipient would hold a descriptor per recipient,
 * and each copy is read back from it into the store (msg_record).
 * 0; -1 with ERR when the template and the values cannot be rendered
 * (what a copy wrote is dropped); -2 with ERR when the result cannot be
 * written (the spool: a full disk), which no recipient's values have
 * anything to do with.
 */
/* A copy's body as it is rendered: into the spool, and into the digest
 * its marker binds (no second read of the spool). */
struct copy_out {
	struct spool		*sp;
	struct marker_body	*b;
};

static int
copy_put(void *arg, const void *p, size_t n)
{
	struct copy_out *o = arg;

	marker_body_add(o->b, p, n);
	return spool_put(o->sp, p, n);
}

static int
render_part(const struct daemon_env *env, struct msg_plan *p, int i,
    int copies, char *err, size_t errlen)
{
	struct msg_part *part = &p->parts[i];
	size_t memory_max = (size_t)env->conf->milter.spool_memory_kb * 1024;
	struct template_vars vars;
	struct copy_out co = { NULL, NULL };
	struct spool *out;
	int rc;

	msg_vars(&part->g, env, &vars);
	if (part_is_copy(p, i, copies)) {
		if (p->bodies == NULL)
			p->bodies = spool_new(memory_max,
			    env->conf->milter.spool_dir);
		out = co.sp = p->bodies;
		co.b = marker_body_new();
		part->body_at = spool_size(out);
		rc = render_apply(p->rm, &vars, copy_put, &co, &part->res,
		    err, errlen);
		if (rc == 0)
			marker_body_end(co.b, part->body_digest);
		else
			marker_body_free(co.b);
	} else {
		out = part->body = spool_new(memory_max,
		    env->conf->milter.spool_dir);
		rc = render_apply(p->rm, &vars, spool_put, out, &part->res,
		    err, errlen);
	}
	if (rc == -1) {
		if (spool_error(out)[0] == '\0' &&
		    spool_truncate(out, part->body_at) == 0)
			return -1;
		snprintf(err, errlen, "spool: %s", spool_error(out));
		return -2;
	}
	part->body_len = spool_size(out) - part->body_at;
	return 0;
}

/* The kept recipient in part P when it has one alone, else NULL. */
static struct milter_rcpt *
part_single(struct milter_msg *m, const struct msg_plan *p, int part)
{
	size_t i;

	if (p->parts[part].g.single == NULL)
		return NULL;
	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].part == part &&
		    m->rcpts[i].d.reason == POLICY_DELIVER)
			return &m->rcpts[i];
	return NULL;
}

/*
 * Part PART could not be rendered (ERR says why).  When its one
 * recipient's own values were in it, their record is what failed (a CR
 * or LF in a name the Subject uses, say), not the campaign, and one bad
 * record must not hold the message back from everyone: the part is
 * rendered again without their own values, the template's defaults
 * standing in; if that fails otherwise (a placeholder without a default
 * now has no value), they alone are suppressed as bad_record.  Either
 * way their decision's detail keeps the first reason.  0, or -1 with ERR
 * when the failure is the campaign's: the same without their values.
 */
static int
render_alone(struct milter_msg *m, const struct daemon_env *env,
    struct msg_plan *p, int part, int copies, char *err, size_t errlen)
{
	struct msg_part *pt = &p->parts[part];
	struct milter_rcpt *r;
	char first[sizeof(r->d.detail)];
	int rc;

	if ((r = part_single(m, p, part)) == NULL)
		return -1;
	str_copy(first, sizeof(first), err);
	spool_free(pt->body);
	pt->body = NULL;
	pt->g.withheld = 1;
	if ((rc = render_part(env, p, part, copies, err, errlen)) == 0) {
		daemon_log(LOG_WARNING, m->qid, "to=<%s>: their own values"
		    " cannot be rendered (%s): rendered without them",
		    r->email, first);
		snprintf(r->d.detail, sizeof(r->d.detail), "rendered without"
		    " their own values: %.120s", first);
		r->withheld = 1;
		return 0;
	}
	spool_free(pt->body);
	pt->body = NULL;
	/* the same failure without their values: the campaign's own */
	if (rc == -2 || strcmp(err, first) == 0)
		return -1;
	daemon_log(LOG_WARNING, m->qid, "to=<%s>: cannot be rendered (%s),"
	    " nor without their own values (%s): suppressed", r->email, first,
	    err);
	r->d.reason = POLICY_BAD_RECORD;
	str_copy(r->d.detail, sizeof(r->d.detail), first);
	r->part = -1;
	pt->n = 0;
	return 0;
}

int
msg_plan_build(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, int64_t now, int copies, struct msg_plan *p,
    char *err, size_t errlen)
{
	const char *data;
	char why[512];
	size_t i, kept = 0, best = 0, len;
	int mixed, rc;

	memset(p, 0, sizeof(*p));
	p->inplace = -1;
	/* nobody kept: nothing to part, nothing worth parsing */
	for (i = 0; i < m->nrcpts; i++) {
		m->rcpts[i].part = -1;
		kept += m->rcpts[i].d.reason == POLICY_DELIVER;
	}
	if (kept == 0)
		return 0;
	if ((data = spool_data(m->spool, &len)) == NULL) {
		snprintf(err, errlen, "spool: %s", spool_error(m->spool));
		return -1;
	}
	if (m->dkim_headers > 0 &&
	    env->conf->milter.dkim_signature == DKIM_KEEP)
		daemon_log(LOG_NOTICE, m->qid, "campaign=%s: signed before"
		    " segmilter (DKIM-Signature) and dkim_signature = keep:"
		    " passes untouched, not tailored", c->id);
	else if ((p->rm = render_parse(data, len, why, sizeof(why))) == NULL)
		daemon_log(LOG_WARNING, m->qid, "campaign=%s: the body passes"
		    " untouched: %s", c->id, why);
	p->split = p->rm != NULL && env->conf->outbox.reinject_url[0] != '\0';
	if (!p->split)
		refuse_held(m, p->rm == NULL ? "its body passes untouched" :
		    "no outbox.reinject_url", now);
	/* a personal unsubscribe link is a personal value too */
	p->personal = p->split &&
	    (env->conf->milter.unsubscribe_url[0] != '\0' ||
	    render_uses(p->rm, personal_names,
	    sizeof(personal_names) / sizeof(personal_names[0])));
	assign_parts(m, env, p, now);
	for (i = 0; i < p->nparts; i++) {
		if (p->split)
			msg_part_group(m, c, (int)i, &p->parts[i].g);
		else {
			msg_group(m, c, MSG_ALL_KEPT, &p->parts[i].g, &mixed);
			p->mixed = mixed;
		}
		if (p->parts[i].send_after > now)
			continue;
		if (p->inplace == -1 || p->parts[i].n > best) {
			p->inplace = (int)i;
			best = p->parts[i].n;
		}
	}
	for (i = 0; p->rm != NULL && i < p->nparts; i++) {
		rc = render_part(env, p, (int)i, copies, err, errlen);
		if (rc == -2 || (rc == -1 && render_alone(m, env, p, (int)i,
		    copies, err, errlen) == -1))
			return -1;
		if (p->parts[i].n == 0 && (int)i == p->inplace)
			p->inplace = -1;	/* the original goes to nobody */
		if (p->parts[i].n == 0 || !p->split || (int)i == p->inplace)
			continue;
		if (!copies) {
			spool_free(p->parts[i].body);
			p->parts[i].body = NULL;
			continue;
		}
		buf_init(&p->parts[i].copy, MSG_HEAD_MAX);
		if (msg_copy_build(m, env, &p->parts[i], (int)i, now, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

void
msg_plan_free(struct msg_plan *p)
{
	size_t i;

	for (i = 0; i < p->nparts; i++) {
		free(p->parts[i].g.flags);
		spool_free(p->parts[i].body);
		render_result_free(&p->parts[i].res);
		buf_free(&p->parts[i].copy);
	}
	free(p->parts);
	spool_free(p->bodies);
	render_free(p->rm);
	memset(p, 0, sizeof(*p));
	p->inplace = -1;
}

static int
name_is(const char *line, size_t namelen, const char *name)
{
	return strlen(name) == namelen && strncasecmp(line, name, namelen) == 0;
}

void
msg_rcpts_digest(const struct milter_msg *m, int part, char *rcpts)
{
	const char **emails;
	size_t i, n = 0;

	emails = xreallocarray(NULL, m->nrcpts > 0 ? m->nrcpts : 1,
	    sizeof(*emails));
	for (i = 0; i < m->nrcpts; i++)
		if (part == MSG_ALL_RCPTS || (m->rcpts[i].part == part &&
		    m->rcpts[i].d.reason == POLICY_DELIVER))
			emails[n++] = m->rcpts[i].email;
	marker_rcpts(emails, n, rcpts);
	free(emails);
}

/* Writes the marker for P's recipients (RCPTS) into P->copy at
 * P->marker_at, a fresh nonce into P->nonce; 0, or -1. */
static int
put_marker(const struct milter_msg *m, const struct daemon_env *env,
    struct msg_part *p, const char *rcpts)
{
	char marker[MARKER_MAX];
	size_t n;

	if (marker_make(env->conf->outbox.key, env->conf->outbox.keylen,
	    m->campaign, p->marker_made, rcpts, p->body_digest, marker,
	    sizeof(marker), p->nonce) == -1)
		return -1;
	n = strlen(marker);
	/* every field but the campaign is of fixed width: so is the whole */
	if (p->marker_len != 0 && n != p->marker_len)
		return -1;
	if (p->marker_len == 0) {
		p->marker_at = p->copy.len + sizeof(MARKER_HEADER ": ") - 1;
		p->marker_len = n;
		return msg_put_header(&p->copy, MARKER_HEADER, marker);
	}
	memcpy(p->copy.data + p->marker_at, marker, n);
	memmove(p->rcpts_digest, rcpts, MARKER_DIGEST_MAX);
	return 0;
}

int
msg_copy_rebind(const struct milter_msg *m, const struct daemon_env *env,
    struct msg_part *p, int index)
{
	char rcpts[MARKER_DIGEST_MAX];

	msg_rcpts_digest(m, index, rcpts);
	if (strcmp(rcpts, p->rcpts_digest) == 0)
		return 0;
	return put_marker(m, env, p, rcpts);
}

int
msg_copy_build(struct milter_msg *m, const struct daemon_env *env,
    struct msg_part *p, int index, int64_t now, char *err, size_t errlen)
{
	const char *h = buf_str(&m->headers), *end, *colon;
	const char *replace;
	struct buf *out = &p->copy;
	char name[128];
	char unsub[UNSUB_TOKEN_MAX + 512];
	size_t namelen;
	int skip = 0, rc = 0, have_type = 0, have_cte = 0, have_mime = 0;

	/* header by header: a field and its continuation lines */
	for (; *h != '\0'; h = end) {
		end = strstr(h, "\r\n");
		end = end != NULL ? end + 2 : h + strlen(h);
		if (*h == ' ' || *h == '\t') {
			if (!skip)
				rc |= buf_append(out, h, (size_t)(end - h));
			continue;
		}
		colon = memchr(h, ':', (size_t)(end - h));
		namelen = colon != NULL ? (size_t)(colon - h) : 0;
		replace = NULL;
		skip = name_is(h, namelen, env->conf->milter.campaign_header) ||
		    name_is(h, namelen, MARKER_HEADER) ||
		    name_is(h, namelen, "DKIM-Signature");
		if (name_is(h, namelen, "Subject"))
			replace = p->res.subject;
		else if (name_is(h, namelen, "Content-Type")) {
			replace = p->res.content_type;
			have_type = 1;
		} else if (name_is(h, namelen, "Content-Transfer-Encoding")) {
			replace = p->res.transfer_encoding;
			have_cte = 1;
		} else if (name_is(h, namelen, "MIME-Version"))
			have_mime = 1;
		if (replace != NULL) {
			snprintf(name, sizeof(name), "%.*s", (int)namelen, h);
			rc |= msg_put_header(out, name, replace);
			skip = 1;
		}
		if (!skip)
			rc |= buf_append(out, h, (size_t)(end - h));
	}
	/*
	 * A message without MIME headers whose text gained 8-bit: what the
	 * MTA adds to the original with chgheader, the copy needs too.
	 */
	if (p->res.content_type != NULL && !have_type)
		rc |= msg_put_header(out, "Content-Type", p->res.content_type);
	if (p->res.transfer_encoding != NULL && !have_cte)
		rc |= msg_put_header(out, "Content-Transfer-Encoding",
		    p->res.transfer_encoding);
	if ((p->res.content_type != NULL || p->res.transfer_encoding != NULL) &&
	    !have_mime)
		rc |= msg_put_header(out, "MIME-Version", "1.0");
	if (rc != 0) {
		snprintf(err, errlen, "copy's headers over %d bytes",
		    MSG_HEAD_MAX);
		return -1;
	}
	/* the marker is bound to the body, digested as it was rendered */
	msg_rcpts_digest(m, index, p->rcpts_digest);
	p->marker_made = now;
	p->marker_len = 0;
	if (put_marker(m, env, p, p->rcpts_digest) == -1) {
		snprintf(err, errlen, "cannot make the copy marker");
		return -1;
	}
	if (msg_unsub_header(m, env, p, now, unsub, sizeof(unsub)) == 0) {
		rc |= msg_put_header(out, "List-Unsubscribe", unsub);
		rc |= msg_put_header(out, "List-Unsubscribe-Post",
		    "List-Unsubscribe=One-Click");
	}
	rc |= buf_puts(out, "\r\n");
	if (rc != 0) {
		snprintf(err, errlen, "copy's headers over %d bytes",
		    MSG_HEAD_MAX);
		return -1;
	}
	return 0;
}

int
msg_unsub_header(const struct milter_msg *m, const struct daemon_env *env,
    const struct msg_part *p, int64_t now, char *out, size_t outlen)
{
	const struct conf *cf = env->conf;
	char token[UNSUB_TOKEN_MAX];

	if (cf->milter.unsubscribe_url[0] == '\0' || p->g.single == NULL ||
	    unsub_token_make(cf->outbox.key, cf->outbox.keylen, m->campaign,
	    p->g.single->email, now, token, sizeof(token)) == -1)
		return -1;
	if ((size_t)snprintf(out, outlen, "<%s%s>", cf->milter.unsubscribe_url,
	    token) >= outlen)
		return -1;
	return 0;
}

int
msg_return_path(const struct milter_msg *m, const struct daemon_env *env,
    const struct msg_part *p, char *out, size_t outlen)
{
	const struct conf *cf = env->conf;
	char token[BOUNCE_TOKEN_MAX];

	if (cf->milter.bounce_domain[0] == '\0' || p->g.single == NULL ||
	    bounce_token_make(cf->outbox.key, cf->outbox.keylen,
	    p->g.single->r->customer_id, p->g.single->email, m->campaign,
	    token, sizeof(token)) == -1)
		return -1;
	if ((size_t)snprintf(out, outlen, "<" BOUNCE_LOCAL "+%s@%s>", token,
	    cf->milter.bounce_domain) >= outlen)
		return -1;
	return 0;
}

void
msg_part_recipients(const struct milter_msg *m, int p, struct buf *out)
{
	const char *a;
	size_t i, n;

	for (i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].part != p ||
		    m->rcpts[i].d.reason != POLICY_DELIVER)
			continue;
		a = m->rcpts[i].addr;
		while (*a == ' ' || *a == '<')
			a++;
		n = strcspn(a, ">");
		buf_append(out, a, n);
		buf_putc(out, '\n');
	}
}
