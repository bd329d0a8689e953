/*
 * test_bounce.c - bounce tokens: made and read back, in any case, and
 * refused when forged, tampered with, made with another key, or made as
 * another kind of token (an unsubscribe token's MAC under the file's key
 * itself); the address and campaign they name; the token of a return
 * path.  Then what segctl bounce records (dsn_apply) on a real SQLite
 * file, read back as the milter would: a hard bounce, soft bounces up
 * to the limit and a complaint each make the next policy decision
 * suppress; a forged token, or one for an address the customer no
 * longer has, writes nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bounce.h"
#include "conf.h"
#include "digest.h"
#include "dsn.h"
#include "render.h"
#include "policy.h"
#include "store_lookup.h"
#include "store_record.h"
#include "tstore.h"

#define NOW	((int64_t)1795000000)
#define DAY	86400

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
static const unsigned char other[] = "fedcba9876543210fedcba9876543210";

static void
test_token_roundtrip(void **state)
{
	char tok[BOUNCE_TOKEN_MAX], upper[BOUNCE_TOKEN_MAX], local[80];
	struct bounce_token bt;
	size_t i;

	(void)state;
	assert_int_equal(bounce_token_make(key, 32, 42, "Ann@Example.com",
	    "spring-launch", tok, sizeof(tok)), 0);
	assert_int_equal(strlen(tok), BOUNCE_TOKEN_LEN);
	assert_int_equal(strspn(tok, "abcdefghijklmnopqrstuvwxyz234567"),
	    BOUNCE_TOKEN_LEN);
	/* a local part of 64 bytes at most */
	snprintf(local, sizeof(local), "%s+%s", BOUNCE_LOCAL, tok);
	assert_true(strlen(local) < 64);
	assert_int_equal(bounce_token_parse(key, 32, tok, &bt), 0);
	assert_int_equal(bt.customer_id, 42);
	assert_true(bounce_token_names_email(&bt, "ann@example.com"));
	assert_true(bounce_token_names_email(&bt, "ANN@EXAMPLE.COM"));
	assert_false(bounce_token_names_email(&bt, "bob@example.com"));
	assert_true(bounce_token_names_campaign(&bt, "spring-launch"));
	assert_false(bounce_token_names_campaign(&bt, "spring-launch2"));
	/* an MTA that folds the local part to upper case */
	for (i = 0; tok[i] != '\0'; i++)
		upper[i] = (char)(tok[i] >= 'a' && tok[i] <= 'z' ?
		    tok[i] - 32 : tok[i]);
	upper[i] = '\0';
	assert_int_equal(bounce_token_parse(key, 32, upper, &bt), 0);
	assert_int_equal(bt.customer_id, 42);
	/* the largest id, and ids out of range */
	assert_int_equal(bounce_token_make(key, 32, BOUNCE_CUSTOMER_MAX - 1,
	    "a@b", "c", tok, sizeof(tok)), 0);
	assert_int_equal(bounce_token_parse(key, 32, tok, &bt), 0);
	assert_true(bt.customer_id == BOUNCE_CUSTOMER_MAX - 1);
	assert_int_equal(bounce_token_make(key, 32, BOUNCE_CUSTOMER_MAX,
	    "a@b", "c", tok, sizeof(tok)), -1);
	assert_int_equal(bounce_token_make(key, 32, 0, "a@b", "c", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_make(key, 0, 1, "a@b", "c", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_make(key, 32, 1, "a@b", "c", tok,
	    BOUNCE_TOKEN_LEN), -1);
}

static void
test_token_forged(void **state)
{
	char tok[BOUNCE_TOKEN_MAX], bad[BOUNCE_TOKEN_MAX];
	struct bounce_token bt;
	size_t i;

	(void)state;
	assert_int_equal(bounce_token_make(key, 32, 7, "ann@example.com",
	    "spring", tok, sizeof(tok)), 0);
	assert_int_equal(bounce_token_parse(other, 32, tok, &bt), -1);
	assert_int_equal(bounce_token_parse(key, 0, tok, &bt), -1);
	/* every character changed in turn breaks it */
	for (i = 0; i < BOUNCE_TOKEN_LEN; i++) {
		memcpy(bad, tok, sizeof(bad));
		bad[i] = bad[i] == 'a' ? 'b' : 'a';
		assert_int_equal(bounce_token_parse(key, 32, bad, &bt), -1);
	}
	/* cut, lengthened, outside the alphabet */
	memcpy(bad, tok, sizeof(bad));
	bad[BOUNCE_TOKEN_LEN - 1] = '\0';
	assert_int_equal(bounce_token_parse(key, 32, bad, &bt), -1);
	assert_int_equal(bounce_token_parse(key, 32, "", &bt), -1);
	memcpy(bad, tok, sizeof(bad));
	bad[3] = '1';
	assert_int_equal(bounce_token_parse(key, 32, bad, &bt), -1);
	memcpy(bad, tok, sizeof(bad));
	bad[3] = '=';
	assert_int_equal(bounce_token_parse(key, 32, bad, &bt), -1);
}

/*
 * A token whose MAC is taken under the file's key itself (what an
 * unsubscribe token uses) is not a bounce token: the key is derived.
 */
static void
test_token_not_other_kind(void **state)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[25], d[EVP_MAX_MD_SIZE];
	char tok[BOUNCE_TOKEN_MAX];
	struct bounce_token bt;
	unsigned int n = 0;
	unsigned v;
	size_t i, bit;

	(void)state;
	memset(raw, 0, sizeof(raw));
	raw[0] = 1;
	raw[5] = 42;
	assert_non_null(HMAC(digest_sha256(), key, 32, raw, 15, d, &n));
	memcpy(raw + 15, d, 10);
	for (i = 0; i < BOUNCE_TOKEN_LEN; i++) {
		bit = i * 5;
		v = (unsigned)raw[bit / 8] << 8;
		if (bit / 8 + 1 < sizeof(raw))
			v |= raw[bit / 8 + 1];
		tok[i] = b32[(v >> (11 - bit % 8)) & 31];
	}
	tok[BOUNCE_TOKEN_LEN] = '\0';
	assert_int_equal(bounce_token_parse(key, 32, tok, &bt), -1);
}

static void
test_token_of(void **state)
{
	char tok[BOUNCE_TOKEN_MAX];

	(void)state;
	assert_int_equal(bounce_token_of("bounces+abc@example.com", tok,
	    sizeof(tok)), 0);
	assert_string_equal(tok, "abc");
	assert_int_equal(bounce_token_of("<BOUNCES+xyz@example.com>", tok,
	    sizeof(tok)), 0);
	assert_string_equal(tok, "xyz");
	assert_int_equal(bounce_token_of("bounces@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bounces+@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bouncesx+abc@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bounces+abc", tok, sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bounces+"
	    "0123456789012345678901234567890123456789012@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("", tok, sizeof(tok)), -1);
	/* what a token is never written with is not taken for one */
	assert_int_equal(bounce_token_of("bounces+ab\022c@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bounces+a'b@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bounces+ab1@example.com", tok,
	    sizeof(tok)), -1);
}

struct bx {
	char		 dir[64];
	char		 db[256];
	struct store	*st;
	int64_t		 sue, fred, rita;
};

static int64_t
bx_customer(struct bx *x, const char *email)
{
	struct store_customer c;
	struct store_consent k;
	enum store_change ch;
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.email = email;
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	memset(&k, 0, sizeof(k));
	k.customer_id = id;
	k.channel = CHANNEL_EMAIL;
	k.granted = 1;
	k.source = "checkout";
	k.recorded_at = NOW - 100 * DAY;
	k.evidence = "box ticked";
	assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);
	return id;
}

static int
bx_setup(void **state)
{
	struct bx *x = calloc(1, sizeof(*x));
	char err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-bounce-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	x->sue = bx_customer(x, "sue@example.com");
	x->fred = bx_customer(x, "fred@example.com");
	x->rita = bx_customer(x, "rita@example.com");
	*state = x;
	return 0;
}

static int
bx_teardown(void **state)
{
	struct bx *x = *state;
	char cmd[160];

	store_close(x->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/*
 * Fixture NAME with XTOKENX replaced by a token of KEY for customer ID
 * at EMAIL and CAMPAIGN, parsed as sent to the token's VERP address
 * (ENV) or to nobody known, into *R.
 */
static void
bx_report(const char *name, const unsigned char *k, int64_t id,
    const char *email, const char *campaign, int env, struct dsn_report *r)
{
	const char *src = getenv("SEGM_SRCDIR");
	char path[512], tok[BOUNCE_TOKEN_MAX], rcpt[128], *data, *out, *p;
	size_t n, o = 0;
	FILE *fp;

	assert_int_equal(bounce_token_make(k, 32, id, email, campaign, tok,
	    sizeof(tok)), 0);
	snprintf(path, sizeof(path), "%s/tests/fixtures/dsn/%s",
	    src ? src : ".", name);
	assert_non_null(fp = fopen(path, "rb"));
	data = calloc(1, 1 << 20);
	out = calloc(1, 2 << 20);
	n = fread(data, 1, (1 << 20) - 1, fp);
	fclose(fp);
	for (p = data; p < data + n; ) {
		if (strncmp(p, "XTOKENX", 7) == 0) {
			memcpy(out + o, tok, BOUNCE_TOKEN_LEN);
			o += BOUNCE_TOKEN_LEN;
			p += 7;
		} else
			out[o++] = *p++;
	}
	snprintf(rcpt, sizeof(rcpt), "bounces+%s@shop.example", tok);
	assert_int_equal(dsn_parse(out, o, env ? rcpt : NULL,
	    "X-Campaign-ID", r), 0);
	free(data);
	free(out);
}

static struct dsn_result
bx_apply(struct bx *x, const struct dsn_report *r, int64_t now)
{
	struct dsn_result res;

	assert_int_equal(dsn_apply(x->st, key, 32, r, "hash", now, &res), 0);
	return res;
}

/* The policy decision for EMAIL's next campaign at NOW. */
static struct policy_decision
bx_decide(struct bx *x, const char *email, int64_t now)
{
	struct conf *cf = conf_defaults();
	struct policy_campaign c;
	struct policy_decision d;
	struct store_recipient r;
	struct policy_facts f;

	assert_int_equal(store_recipient_get(x->st, email, "next", now, 0, &r),
	    0);
	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	f.found = r.customer_id != 0;
	f.email_consent = r.has_consent && r.consent_granted;
	f.consent_at = r.consent_at;
	f.unsubscribed_at = r.unsubscribed_at;
	f.bounces = r.bounces_since_consent;
	f.complained_at = r.complained_at;
	f.soft_bounce_at = r.soft_bounce_at;
	f.nsoft_bounces = r.nsoft_bounces;
	policy_decide(&cf->policy, &c, &f, now, &d);
	conf_free(cf);
	return d;
}

/* The count of SQL's one-number answer on the store. */
static int64_t
bx_count(struct bx *x, const char *sql)
{
	return tstore_int(x->db, "%s", sql);
}

static void
test_apply_hard(void **state)
{
	struct bx *x = *state;
	struct dsn_report r;
	struct dsn_result res;
	struct policy_decision d;

	d = bx_decide(x, "sue@example.com", NOW);
	assert_int_equal(d.reason, POLICY_DELIVER);
	bx_report("postfix-hard.eml", key, x->sue, "sue@example.com",
	    "launch", 1, &r);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_RECORDED);
	assert_string_equal(res.token_from, "envelope");
	assert_string_equal(res.campaign, "launch");
	assert_string_equal(res.email, "sue@example.com");
	assert_int_equal(res.kind, DSN_HARD);
	d = bx_decide(x, "sue@example.com", NOW + 60);
	assert_int_equal(d.reason, POLICY_BOUNCED);
	assert_int_equal(bx_count(x, "SELECT count(*) FROM engagement WHERE"
	    " type = 'bounce' AND campaign_id = 'launch'"), 1);
	assert_int_equal(bx_count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'hard_bounce' AND recipient = 'sue@example.com' AND"
	    " detail LIKE '5.1.1 550 5.1.1 <sue@example.com>: Recipient%'"),
	    1);
	/* the same report again within the second: nothing more */
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_ALREADY);
	assert_int_equal(bx_count(x, "SELECT count(*) FROM audit"), 1);
}

static void
test_apply_forged(void **state)
{
	struct bx *x = *state;
	struct dsn_report r;
	struct dsn_result res;

	/* another key, in the envelope and the original */
	bx_report("sendmail-multi.eml", other, x->sue, "sue@example.com",
	    "launch", 1, &r);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_NOT_OURS);
	/* no token at all */
	bx_report("postfix-hard.eml", key, x->sue, "sue@example.com",
	    "launch", 0, &r);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_NOT_OURS);
	/* genuine, but for the address sue had before */
	bx_report("postfix-hard.eml", key, x->sue, "sue@old.example",
	    "launch", 1, &r);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_NOT_CUSTOMER);
	/* genuine, for a customer who is not there */
	bx_report("postfix-hard.eml", key, 999, "sue@example.com", "launch",
	    1, &r);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_NOT_CUSTOMER);
	assert_int_equal(bx_count(x, "SELECT count(*) FROM engagement"), 0);
	assert_int_equal(bx_count(x, "SELECT count(*) FROM audit"), 0);
	assert_int_equal(bx_decide(x, "sue@example.com", NOW).reason,
	    POLICY_DELIVER);
}

static void
test_apply_soft(void **state)
{
	struct bx *x = *state;
	struct policy_decision d;
	struct dsn_report r;
	struct dsn_result res;

	/* the token from the returned headers; an unknown campaign hash is
	 * resolved against what fred was sent */
	bx_report("postfix-delayed.eml", key, x->fred, "fred@example.com",
	    "autumn", 0, &r);
	res = bx_apply(x, &r, NOW - 40 * DAY);
	assert_int_equal(res.outcome, DSN_RECORDED);
	assert_string_equal(res.token_from, "original");
	assert_int_equal(res.campaign[0], '#');
	{
		struct store_engagement e = { x->fred, "autumn", ENG_SENT,
		    NOW - 41 * DAY };
		enum store_change ch;

		assert_int_equal(store_engagement_add(x->st, &e, &ch), 0);
	}
	res = bx_apply(x, &r, NOW - 2 * DAY);
	assert_string_equal(res.campaign, "autumn");
	res = bx_apply(x, &r, NOW - DAY);
	assert_int_equal(res.kind, DSN_SOFT);
	/* two soft bounces within 30 days, and one older: not yet */
	d = bx_decide(x, "fred@example.com", NOW);
	assert_int_equal(d.reason, POLICY_DELIVER);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_RECORDED);
	d = bx_decide(x, "fred@example.com", NOW + 60);
	assert_int_equal(d.reason, POLICY_BOUNCED);
	assert_string_equal(d.detail, "3 soft bounces in 30 d (limit 3)");
	assert_int_equal(bx_count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'soft_bounce' AND detail LIKE '4.4.1 connect to%'"),
	    4);
}

/* of a report's several recipients, the token's own is recorded */
static void
test_apply_several(void **state)
{
	struct bx *x = *state;
	struct dsn_report r;
	struct dsn_result res;

	bx_report("sendmail-multi.eml", key, x->rita, "rita@example.com",
	    "launch", 1, &r);
	assert_int_equal(r.nrcpts, 2);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_RECORDED);
	assert_int_equal(res.kind, DSN_SOFT);
	assert_string_equal(res.status, "4.2.2");
	assert_string_equal(res.email, "rita@example.com");
	/* a genuine token for someone the report does not name */
	bx_report("sendmail-multi.eml", key, x->fred, "fred@example.com",
	    "launch", 1, &r);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_NOT_CUSTOMER);
	assert_int_equal(bx_count(x, "SELECT count(*) FROM engagement"), 1);
}

static void
test_apply_complaint(void **state)
{
	struct bx *x = *state;
	struct policy_decision d;
	struct store_consent k;
	enum store_change ch;
	struct dsn_report r;
	struct dsn_result res;

	bx_report("yahoo-arf.eml", key, x->rita, "rita@example.com",
	    "launch", 0, &r);
	res = bx_apply(x, &r, NOW);
	assert_int_equal(res.outcome, DSN_RECORDED);
	assert_int_equal(res.kind, DSN_COMPLAINT);
	assert_string_equal(res.token_from, "original");
	d = bx_decide(x, "rita@example.com", NOW + 60);
	assert_int_equal(d.reason, POLICY_UNSUBSCRIBED);
	assert_string_equal(d.detail, "complaint (feedback report) 0 d ago");
	assert_int_equal(bx_count(x, "SELECT count(*) FROM engagement WHERE"
	    " type = 'complaint' AND campaign_id = 'launch'"), 1);
	assert_int_equal(bx_count(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'complaint' AND detail = 'feedback-type abuse;"
	    " user-agent Yahoo!-Mail-Feedback/2.0 (token in the original)'"),
	    1);
	/* consent given again, later, lifts it as for an unsubscribe */
	memset(&k, 0, sizeof(k));
	k.customer_id = x->rita;
	k.channel = CHANNEL_EMAIL;
	k.granted = 1;
	k.source = "preference_center";
	k.recorded_at = NOW + DAY;
	k.evidence = "resubscribed";
	assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);
	d = bx_decide(x, "rita@example.com", NOW + 2 * DAY);
	assert_int_equal(d.reason, POLICY_DELIVER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_roundtrip),
		cmocka_unit_test(test_token_forged),
		cmocka_unit_test(test_token_not_other_kind),
		cmocka_unit_test(test_token_of),
		cmocka_unit_test_setup_teardown(test_apply_hard, bx_setup,
		    bx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_forged, bx_setup,
		    bx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_soft, bx_setup,
		    bx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_several, bx_setup,
		    bx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_complaint, bx_setup,
		    bx_teardown),
	};

	render_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
