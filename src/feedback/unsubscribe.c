/*
 * unsubscribe.c - one-click unsubscribe (RFC 8058) and its page, on the
 * path of milter.unsubscribe_url: the link segmilter writes into
 * List-Unsubscribe is that URL followed by a token (unsub.h).
 *
 *   POST List-Unsubscribe=One-Click   unsubscribes at once, 200
 *   POST choice=fewer | choice=stay   the page's other buttons
 *   GET (and HEAD)                    the page; changes nothing, since
 *                                     link scanners fetch every link
 *
 * The token is checked before anything is read: a forged or damaged one
 * is 400, logged with the reason, and nothing is looked up.  Every
 * change goes through unsub_apply(), which segctl unsubscribe uses too,
 * and is committed before the answer: 200 means recorded; a store that
 * cannot be used is 503 (the mail client retries).  What is inserted
 * into the page is escaped (TEMPLATE_HTML).
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "feedback.h"
#include "policy.h"
#include "store_lookup.h"
#include "template.h"
#include "unsub.h"

#define FIELD_MAX	64

/* What the page shows: the token's names, and the state after. */
struct page {
	const struct feedback_env *env;
	const char	*email;
	const char	*campaign;
	char		 action[UNSUB_TOKEN_MAX + 512];
	char		 fewer_days[24];
	char		 gap_days[24];
	int		 get;		/* the page asked for, nothing done */
	int		 did;		/* a POST, its choice in CHOICE */
	enum unsub_choice choice;
	int		 changed;	/* the POST changed something */
	int		 unsubscribed;	/* now */
	int		 fewer;		/* now: a personal cadence */
};

static const char *const page_values[] = {
	"email", "campaign", "action", "fewer_days", "gap_days", NULL
};
static const char *const page_flags[] = {
	"page", "done", "changed", "unsubscribed", "fewer",
	"did_unsubscribe", "did_fewer", "did_stay", NULL
};

int
feedback_page_name_known(const char *name, int is_section)
{
	const char *const *v = is_section ? page_flags : page_values;

	for (; *v != NULL; v++)
		if (strcmp(*v, name) == 0)
			return 1;
	return 0;
}

static const char *
page_value(void *arg, const char *name)
{
	struct page *p = arg;

	if (strcmp(name, "email") == 0)
		return p->email;
	if (strcmp(name, "campaign") == 0)
		return p->campaign;
	if (strcmp(name, "action") == 0)
		return p->action;
	if (strcmp(name, "fewer_days") == 0)
		return p->fewer_days;
	if (strcmp(name, "gap_days") == 0)
		return p->gap_days;
	return NULL;
}

static int
page_flag(void *arg, const char *name)
{
	struct page *p = arg;

	if (strcmp(name, "page") == 0)
		return p->get;
	if (strcmp(name, "done") == 0)
		return p->did;
	if (strcmp(name, "changed") == 0)
		return p->changed;
	if (strcmp(name, "unsubscribed") == 0)
		return p->unsubscribed;
	if (strcmp(name, "fewer") == 0)
		return p->fewer;
	if (strcmp(name, "did_unsubscribe") == 0)
		return p->did && p->choice == UNSUB_UNSUBSCRIBE;
	if (strcmp(name, "did_fewer") == 0)
		return p->did && p->choice == UNSUB_FEWER;
	if (strcmp(name, "did_stay") == 0)
		return p->did && p->choice == UNSUB_STAY;
	return 0;
}

static const char *
unsub_path(const struct feedback_env *env, int *prefix)
{
	/* "/u/" + TOKEN, or "/u" with the token in the query */
	*prefix = env->unsub.query[0] == '\0';
	return env->unsub.path;
}

/* The page's form action: public_url, the path, the token. */
static void
page_action(struct page *p, const char *token)
{
	const struct feedback_env *env = p->env;
	const char *base = env->conf->feedback.public_url;
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	if (env->unsub.query[0] != '\0')
		snprintf(p->action, sizeof(p->action), "%.*s%s?%s=%s", (int)n,
		    base, env->unsub.path, env->unsub.query, token);
	else
		snprintf(p->action, sizeof(p->action), "%.*s%s%s", (int)n,
		    base, env->unsub.path, token);
}

/* The state after: unsubscribed, a cadence.  0, 1 (no customer), -1. */
static int
page_state(struct store *st, struct page *p, int64_t now)
{
	struct store_recipient r;

	if (store_recipient_get(st, p->email, p->campaign, now, 0, &r) == -1)
		return -1;
	if (r.customer_id == 0)
		return 1;
	p->unsubscribed = policy_unsubscribed(r.unsubscribed_at,
	    r.consent_at);
	p->fewer = r.min_gap_days > 0;
	snprintf(p->gap_days, sizeof(p->gap_days), "%lld",
	    (long long)r.min_gap_days);
	return 0;
}

/* What a POST asks for: 0 and *C, or -1 with the reply made. */
static int
post_choice(const struct feedback_request *rq, struct feedback_response *rs,
    enum unsub_choice *c)
{
	char v[FIELD_MAX];
	int rc, unsupported;

	rc = feedback_form_value(rq->content_type, rq->body, rq->len,
	    "List-Unsubscribe", v, sizeof(v), &unsupported);
	if (rc == -1 && unsupported) {
		feedback_reply(rs, 415, "Unsupported Media Type", LOG_INFO,
		    "unsubscribe: POST of %s, not a form",
		    rq->content_type ? rq->content_type : "no content type");
		return -1;
	}
	if (rc == 1 && strcmp(v, "One-Click") == 0) {
		*c = UNSUB_UNSUBSCRIBE;
		return 0;
	}
	if (rc == 0 && feedback_form_value(rq->content_type, rq->body,
	    rq->len, "choice", v, sizeof(v), &unsupported) == 1) {
		if (strcmp(v, "unsubscribe") == 0)
			*c = UNSUB_UNSUBSCRIBE;
		else if (strcmp(v, "fewer") == 0)
			*c = UNSUB_FEWER;
		else if (strcmp(v, "stay") == 0)
			*c = UNSUB_STAY;
		else
			rc = -1;
		if (rc != -1)
			return 0;
	}
	feedback_reply(rs, 400, "Bad Request", LOG_INFO, "unsubscribe: POST"
	    " without List-Unsubscribe=One-Click or a choice");
	return -1;
}

/* Under the store lock: the change, then the state for the page.
 * 0, 1 (no customer), or -1 (store_error). */
static int
unsub_store(const struct feedback_env *env, const struct feedback_request *rq,
    struct page *p, int64_t token_at, const char *source,
    enum unsub_outcome *out)
{
	struct unsub_request u;

	if (p->did) {
		memset(&u, 0, sizeof(u));
		u.choice = p->choice;
		u.campaign = p->campaign;
		u.email = p->email;
		u.token_at = token_at;
		u.fewer_days = env->conf->feedback.fewer_days;
		u.via = "segfeed";
		u.source = source;
		u.config_hash = env->conf_hash;
		u.now = rq->now;
		if (unsub_apply(env->st, &u, out) == -1)
			return -1;
		if (*out == UNSUB_NO_CUSTOMER)
			return 1;
	}
	return page_state(env->st, p, rq->now);
}

static void
unsub_handle(const struct feedback_env *env, const struct feedback_request *rq,
    const char *rest, const char *query, struct feedback_response *rs)
{
	char token[UNSUB_TOKEN_MAX], campaign[256], email[320], err[256];
	const struct conf *cf = env->conf;
	struct template_vars vars;
	enum unsub_outcome out = UNSUB_ALREADY;
	struct page p;
	const char *source = "page";
	int64_t at;
	int rc;

	if (env->unsub.query[0] != '\0') {
		if (*rest != '\0' || feedback_query_value(query,
		    env->unsub.query, token, sizeof(token)) != 1)
			token[0] = '\0';
	} else if (strlen(rest) < sizeof(token))
		memcpy(token, rest, strlen(rest) + 1);
	else
		token[0] = '\0';
	if (token[0] == '\0') {
		feedback_reply(rs, 404, "Not Found", LOG_INFO, "unsubscribe:"
		    " %s without a token", rq->method);
		return;
	}
	if (unsub_token_parse(cf->outbox.key, cf->outbox.keylen, token,
	    campaign, sizeof(campaign), email, sizeof(email), &at) == -1) {
		feedback_reply(rs, 400, "Bad Request: this link is not one of"
		    " ours, or it was damaged", LOG_WARNING, "unsubscribe: %s"
		    " refused: forged or damaged token (its HMAC does not"
		    " match outbox.key_file)", rq->method);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.env = env;
	p.email = email;
	p.campaign = campaign;
	p.get = strcmp(rq->method, "POST") != 0;
	snprintf(p.fewer_days, sizeof(p.fewer_days), "%lld",
	    (long long)cf->feedback.fewer_days);
	page_action(&p, token);
	if (!p.get) {
		if (post_choice(rq, rs, &p.choice) == -1)
			return;
		p.did = 1;
		/* the page's own unsubscribe button posts One-Click too */
		source = "one-click";
		if (p.choice != UNSUB_UNSUBSCRIBE)
			source = "page";
	}
	if (env->st == NULL) {
		feedback_reply(rs, 503, "Service Unavailable: try again"
		    " later", LOG_ERR, "unsubscribe: %s for %s: the store"
		    " cannot be opened", rq->method, email);
		return;
	}
	if (env->store_lock != NULL)
		pthread_mutex_lock(env->store_lock);
	rc = unsub_store(env, rq, &p, at, source, &out);
	if (rc == -1)
		snprintf(err, sizeof(err), "%s", store_error(env->st));
	if (env->store_lock != NULL)
		pthread_mutex_unlock(env->store_lock);
	if (rc == -1) {
		feedback_reply(rs, 503, "Service Unavailable: try again"
		    " later", LOG_ERR, "unsubscribe: %s for %s: store: %s",
		    rq->method, email, err);
		return;
	}
	if (rc == 1) {
		feedback_reply(rs, 404, "Not Found", LOG_INFO, "unsubscribe:"
		    " %s for %s (campaign %s): no such customer (any more)",
		    rq->method, email, campaign);
		return;
	}
	p.changed = p.did && out == UNSUB_DONE;
	memset(&vars, 0, sizeof(vars));
	vars.value = page_value;
	vars.flag = page_flag;
	vars.arg = &p;
	buf_reset(&rs->body);
	if (template_render(env->page, env->pagelen, TEMPLATE_HTML, &vars,
	    &rs->body, err, sizeof(err)) == -1) {
		/* the change, if any, is committed: say so plainly */
		feedback_reply(rs, p.did ? 200 : 500, p.did ? "Done." :
		    "Internal Server Error", LOG_ERR, "unsubscribe: %s: the"
		    " page template: %s", cf->feedback.page_template, err);
		return;
	}
	rs->status = 200;
	rs->content_type = "text/html; charset=utf-8";
	if (p.did) {
		rs->log_prio = LOG_INFO;
		snprintf(rs->log, sizeof(rs->log), "unsubscribe: %s"
		    " (campaign %s): %s %s", email, campaign,
		    unsub_choice_name(p.choice), out == UNSUB_DONE ?
		    "recorded" : "held already, nothing changed");
	}
}

const struct feedback_endpoint feedback_unsubscribe = {
	.name = "unsubscribe",
	.methods = FEEDBACK_GET | FEEDBACK_HEAD | FEEDBACK_POST,
	.path = NULL,
	.path_of = unsub_path,
	.handle = unsub_handle,
};
