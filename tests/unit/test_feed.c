/*
 * test_feed.c - segfeed's requests through feedback_handle(), no socket:
 * the routes and methods, the forms it reads (urlencoded, multipart),
 * one-click unsubscribe recorded once with its audit row, a forged token
 * refused with nothing changed, GET changing nothing, fewer emails and
 * stay subscribed, and the page escaping what it inserts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "audit.h"
#include "feedback.h"
#include "store.h"
#include "unsub.h"

#define NOW	((int64_t)1795000000)
#define DAY	86400

static const char page[] = "{{email}}|{{campaign}}|{{action}}|"
    "{{#page}}P{{/page}}{{#done}}D{{/done}}{{#changed}}C{{/changed}}"
    "{{#unsubscribed}}U{{/unsubscribed}}{{#fewer}}F{{gap_days}}{{/fewer}}";

struct fx {
	char		 dir[64];
	char		 db[128];
	struct conf	*conf;
	struct feedback_env env;
	struct store	*st;
	int64_t		 ann;
	char		 token[UNSUB_TOKEN_MAX];
	char		 target[UNSUB_TOKEN_MAX + 16];
};

static int
fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct store_customer c;
	struct store_consent k;
	enum store_change ch;
	char err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-feed-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->db, sizeof(x->db), "%s/store.db", x->dir);
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	c.email = "ann@example.com";
	assert_int_equal(store_customer_upsert(x->st, &c, &x->ann, &ch), 0);
	memset(&k, 0, sizeof(k));
	k.customer_id = x->ann;
	k.channel = CHANNEL_EMAIL;
	k.granted = 1;
	k.source = "checkout";
	k.recorded_at = NOW - 100 * DAY;
	assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);

	x->conf = conf_defaults();
	memcpy(x->conf->outbox.key, "0123456789abcdef0123", 20);
	x->conf->outbox.keylen = 20;
	free(x->conf->feedback.public_url);
	x->conf->feedback.public_url = strdup("https://shop.example/");
	x->env.conf = x->conf;
	x->env.page = page;
	x->env.pagelen = strlen(page);
	assert_int_equal(conf_unsub_route("https://shop.example/u/",
	    &x->env.unsub, err, sizeof(err)), 0);
	snprintf(x->env.conf_hash, sizeof(x->env.conf_hash), "%064d", 0);
	x->env.st = x->st;
	assert_int_equal(unsub_token_make(x->conf->outbox.key,
	    x->conf->outbox.keylen, "spring", "ann@example.com", NOW - DAY,
	    x->token, sizeof(x->token)), 0);
	snprintf(x->target, sizeof(x->target), "/u/%s", x->token);
	*state = x;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *x = *state;
	char cmd[128];

	store_close(x->st);
	conf_free(x->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/* One request; its status, the body into BODY (may be NULL). */
static int
req(struct fx *x, const char *method, const char *target, const char *ctype,
    const char *body, int64_t now, char *out, size_t outlen)
{
	struct feedback_request rq;
	struct feedback_response rs;
	int status;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.target = target;
	rq.content_type = ctype;
	rq.body = body ? body : "";
	rq.len = body ? strlen(body) : 0;
	rq.now = now;
	feedback_response_init(&rs);
	feedback_handle(&x->env, &rq, &rs);
	status = rs.status;
	if (out != NULL)
		snprintf(out, outlen, "%s", buf_str(&rs.body));
	feedback_response_free(&rs);
	return status;
}

static int64_t
count(struct fx *x, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t n = -1;

	assert_int_equal(sqlite3_open(x->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
	    SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

#define UNSUBS	"SELECT count(*) FROM engagement WHERE type = 'unsubscribe'"
#define AUDITS	"SELECT count(*) FROM audit"

static void
test_routes_and_methods(void **state)
{
	struct fx *x = *state;
	char body[512];

	assert_int_equal(req(x, "GET", "/", NULL, NULL, NOW, NULL, 0), 404);
	assert_int_equal(req(x, "GET", "/other/x", NULL, NULL, NOW, NULL,
	    0), 404);
	assert_int_equal(req(x, "GET", "/u/", NULL, NULL, NOW, NULL, 0),
	    404);	/* no token */
	assert_int_equal(req(x, "GET", "", NULL, NULL, NOW, NULL, 0), 404);
	assert_int_equal(req(x, "PUT", x->target, NULL, NULL, NOW, NULL, 0),
	    405);
	assert_int_equal(req(x, "DELETE", x->target, NULL, NULL, NOW, body,
	    sizeof(body)), 405);
	assert_int_equal(count(x, AUDITS), 0);
}

/* GET shows the page and changes nothing: scanners fetch every link */
static void
test_get_changes_nothing(void **state)
{
	struct fx *x = *state;
	char body[2048], want[2048];

	assert_int_equal(req(x, "GET", x->target, NULL, NULL, NOW, body,
	    sizeof(body)), 200);
	snprintf(want, sizeof(want), "ann@example.com|spring|"
	    "https://shop.example/u/%s|P", x->token);
	assert_string_equal(body, want);
	assert_int_equal(req(x, "HEAD", x->target, NULL, NULL, NOW, NULL, 0),
	    200);
	assert_int_equal(count(x, UNSUBS), 0);
	assert_int_equal(count(x, AUDITS), 0);
}

static void
test_one_click(void **state)
{
	struct fx *x = *state;
	struct audit_report rep;
	char body[2048];

	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click",
	    NOW, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "|DCU"));
	assert_int_equal(count(x, UNSUBS), 1);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'unsubscribed' AND queue_id = 'segfeed' AND"
	    " campaign_id = 'spring' AND recipient = 'ann@example.com'"), 1);
	/* again, later: nothing more */
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click",
	    NOW + 60, body, sizeof(body)), 200);
	assert_null(strstr(body, "C"));
	assert_int_equal(count(x, UNSUBS), 1);
	assert_int_equal(count(x, AUDITS), 1);
	assert_int_equal(audit_verify(x->st, NULL, 0, &rep), 0);
}

static void
test_one_click_multipart(void **state)
{
	struct fx *x = *state;
	static const char mp[] = "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
	    "\r\n"
	    "One-Click\r\n"
	    "--XyZ--\r\n";

	assert_int_equal(req(x, "POST", x->target,
	    "multipart/form-data; boundary=XyZ", mp, NOW, NULL, 0), 200);
	assert_int_equal(count(x, UNSUBS), 1);
}

static void
test_forged_and_bad_posts(void **state)
{
	struct fx *x = *state;
	char t[UNSUB_TOKEN_MAX + 16];
	size_t n;

	/* one hex digit of the HMAC changed */
	snprintf(t, sizeof(t), "%s", x->target);
	n = strlen(t);
	t[n - 1] = t[n - 1] == '0' ? '1' : '0';
	assert_int_equal(req(x, "POST", t, "application/x-www-form-urlencoded",
	    "List-Unsubscribe=One-Click", NOW, NULL, 0), 400);
	assert_int_equal(req(x, "GET", "/u/not.a.token", NULL, NULL, NOW,
	    NULL, 0), 400);
	assert_int_equal(req(x, "POST", x->target, "text/plain",
	    "List-Unsubscribe=One-Click", NOW, NULL, 0), 415);
	assert_int_equal(req(x, "POST", x->target, NULL,
	    "List-Unsubscribe=One-Click", NOW, NULL, 0), 415);
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=Yes", NOW,
	    NULL, 0), 400);
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "choice=everything", NOW,
	    NULL, 0), 400);
	assert_int_equal(count(x, UNSUBS), 0);
	assert_int_equal(count(x, AUDITS), 0);
}

static void
test_fewer_and_stay(void **state)
{
	struct fx *x = *state;
	const char *form = "application/x-www-form-urlencoded";
	char body[2048];

	/* stay, never having unsubscribed: nothing to give back */
	assert_int_equal(req(x, "POST", x->target, form, "choice=stay", NOW,
	    NULL, 0), 200);
	assert_int_equal(count(x, AUDITS), 0);
	assert_int_equal(req(x, "POST", x->target, form, "choice=fewer", NOW,
	    body, sizeof(body)), 200);
	assert_non_null(strstr(body, "|DCF30"));
	assert_int_equal(count(x, "SELECT min_gap_days FROM email_cadence"),
	    30);
	assert_int_equal(req(x, "POST", x->target, form, "choice=fewer",
	    NOW + 5, NULL, 0), 200);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'cadence'"), 1);
	/* unsubscribe, then stay within the same second: subscribed */
	assert_int_equal(req(x, "POST", x->target, form,
	    "List-Unsubscribe=One-Click", NOW + 10, NULL, 0), 200);
	assert_int_equal(req(x, "POST", x->target, form, "choice=stay",
	    NOW + 10, body, sizeof(body)), 200);
	assert_null(strstr(body, "U"));
	assert_int_equal(count(x, "SELECT granted FROM consent WHERE"
	    " channel = 'email' AND source = 'unsubscribe_page' AND"
	    " evidence LIKE '%campaign spring%'"), 1);
	assert_int_equal(count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'resubscribed'"), 1);
	assert_int_equal(req(x, "GET", x->target, NULL, NULL, NOW + 20, body,
	    sizeof(body)), 200);
	assert_null(strstr(body, "U"));
}

/* the token in a query (milter.unsubscribe_url = ".../u?t="), and what
 * the page inserts escaped */
static void
test_query_route_and_escaping(void **state)
{
	struct fx *x = *state;
	char body[2048], t[UNSUB_TOKEN_MAX + 32], err[128];
	struct store_customer c;
	enum store_change ch;
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.email = "\"<b>\"@example.com";
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	assert_int_equal(unsub_token_make(x->conf->outbox.key,
	    x->conf->outbox.keylen, "<i>", c.email, NOW, x->token,
	    sizeof(x->token)), 0);
	assert_int_equal(conf_unsub_route("https://shop.example/u?t=",
	    &x->env.unsub, err, sizeof(err)), 0);
	snprintf(t, sizeof(t), "/u?x=1&t=%s", x->token);
	assert_int_equal(req(x, "GET", t, NULL, NULL, NOW, body,
	    sizeof(body)), 200);
	assert_null(strchr(body, '<'));
	assert_non_null(strstr(body, "&quot;&lt;b&gt;&quot;@example.com|"
	    "&lt;i&gt;|https://shop.example/u?t="));
	snprintf(t, sizeof(t), "/u/%s", x->token);
	assert_int_equal(req(x, "GET", t, NULL, NULL, NOW, NULL, 0), 404);
}

static void
test_no_store(void **state)
{
	struct fx *x = *state;

	x->env.st = NULL;
	assert_int_equal(req(x, "POST", x->target,
	    "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click",
	    NOW, NULL, 0), 503);
}

static int
form(const char *ctype, const char *body, const char *name, char *v,
    size_t len, int *u)
{
	return feedback_form_value(ctype, body, strlen(body), name, v, len,
	    u);
}

static void
test_forms(void **state)
{
	const char *url = "application/x-www-form-urlencoded";
	char v[32];
	int u;

	(void)state;
	assert_int_equal(form("application/x-www-form-urlencoded;"
	    " charset=utf-8", "a=1&List-Unsubscribe=One%2DClick\r\n",
	    "List-Unsubscribe", v, sizeof(v), &u), 1);
	assert_string_equal(v, "One-Click");
	assert_int_equal(form("APPLICATION/X-WWW-FORM-URLENCODED", "a+b=c+d",
	    "a b", v, sizeof(v), &u), 1);
	assert_string_equal(v, "c d");
	assert_int_equal(form(url, "a=%zz", "a", v, sizeof(v), &u), -1);
	assert_int_equal(form(url, "a=%0", "a", v, sizeof(v), &u), -1);
	assert_int_equal(form(url, "a=%00", "a", v, sizeof(v), &u), -1);
	assert_int_equal(form(url, "b=1&&a", "a", v, sizeof(v), &u), 1);
	assert_string_equal(v, "");
	assert_int_equal(form(url, "b=1", "a", v, sizeof(v), &u), 0);
	assert_int_equal(form(url, "a=0123456789012345678901234567890123",
	    "a", v, sizeof(v), &u), -1);	/* does not fit */
	assert_int_equal(form("multipart/form-data; boundary=\"q q\"",
	    "--q q\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
	    "--q q\r\ncontent-disposition: form-data; name=\"y\"\r\n\r\n"
	    "2\r\n--q q--\r\n", "y", v, sizeof(v), &u), 1);
	assert_string_equal(v, "2");
	assert_int_equal(form("multipart/form-data; boundary=a",
	    "--a\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
	    "--a--\r\n", "y", v, sizeof(v), &u), 0);
	assert_int_equal(form("multipart/form-data", "--a\r\n", "y", v,
	    sizeof(v), &u), -1);		/* no boundary */
	assert_int_equal(form("multipart/form-data; boundary=a",
	    "--a\r\nContent-Disposition: form-data; name=y\r\n\r\n"
	    "unterminated", "y", v, sizeof(v), &u), -1);
	assert_int_equal(u, 0);
	assert_int_equal(form("text/plain", "", "y", v, sizeof(v), &u), -1);
	assert_int_equal(u, 1);
	assert_int_equal(feedback_query_value("t=a%2Eb", "t", v, sizeof(v)),
	    1);
	assert_string_equal(v, "a.b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
		T(test_routes_and_methods),
		T(test_get_changes_nothing),
		T(test_one_click),
		T(test_one_click_multipart),
		T(test_forged_and_bad_posts),
		T(test_fewer_and_stay),
		T(test_query_route_and_escaping),
		T(test_no_store),
#undef T
		cmocka_unit_test(test_forms),
	};

	return cmocka_run_group_tests_name("feed", tests, NULL, NULL);
}
