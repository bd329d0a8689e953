/*
 * test_policy.c - every suppression reason at its boundary, the order in
 * which they win, the reduced cadence for the fatigued, and variants.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "digest.h"
#include "expr.h"
#include "policy.h"

#define NOW	((int64_t)1795000000)
#define HOUR	3600
#define DAY	86400

static const char *const vip_flags[] = { "vip", "cart_abandoner", "coffee" };
static const char *const lapsed_flags[] = { "lapsed", "tea" };
static const char *const variant_names[] = { "cart_abandoner", "vip",
    "lapsed" };
static struct expr *variants[3];

struct fx {
	struct conf_policy	r;
	struct policy_campaign	c;
	struct policy_facts	f;
	struct policy_decision	d;
};

static int
free_variants(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++)
		expr_free(variants[i]);
	return 0;
}

/* A consenting VIP who engages: delivered unless a test changes that. */
static int
setup(void **state)
{
	static struct fx x;
	struct conf *defaults = conf_defaults();

	char err[128];
	size_t i;

	memset(&x, 0, sizeof(x));
	x.r = defaults->policy;
	conf_free(defaults);
	for (i = 0; i < 3; i++) {
		expr_free(variants[i]);
		assert_int_equal(expr_parse(variant_names[i], &variants[i],
		    err, sizeof(err)), 0);
	}
	x.c.variants = (const struct expr *const *)variants;
	x.c.nvariants = 3;
	x.f.found = 1;
	x.f.email_consent = 1;
	x.f.consent_at = NOW - 100 * DAY;
	x.f.flags = vip_flags;
	x.f.nflags = 3;
	*state = &x;
	return 0;
}

static enum policy_reason
decide(struct fx *x)
{
	policy_decide(&x->r, &x->c, &x->f, NOW, &x->d);
	return x->d.reason;
}

static void
test_deliver_and_variant(void **state)
{
	struct fx *x = *state;
	char err[128];

	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_int_equal(x->d.variant, 0);	/* first listed that applies */
	x->f.flags = lapsed_flags;
	x->f.nflags = 2;
	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_int_equal(x->d.variant, 2);
	x->c.nvariants = 2;
	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_int_equal(x->d.variant, -1);	/* the default variant */
	/* keyed by an expression: lapsed tea buyers, then VIPs */
	expr_free(variants[0]);
	assert_int_equal(expr_parse("lapsed & tea", &variants[0], err,
	    sizeof(err)), 0);
	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_int_equal(x->d.variant, 0);
	x->f.nflags = 1;			/* lapsed alone */
	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_int_equal(x->d.variant, -1);
}

static void
test_unknown(void **state)
{
	struct fx *x = *state;

	x->f.found = 0;
	x->f.email_consent = 0;
	assert_int_equal(decide(x), POLICY_UNKNOWN);
	assert_string_equal(policy_reason_name(x->d.reason), "unknown");
}

/* An MTA retry, or a second send of the campaign, delivers nobody twice. */
static void
test_duplicate(void **state)
{
	struct fx *x = *state;

	x->f.campaign_delivered_at = NOW - 60;
	assert_int_equal(decide(x), POLICY_DUPLICATE);
	assert_string_equal(policy_reason_name(x->d.reason), "duplicate");
	/* even for someone who has since revoked consent */
	x->f.email_consent = 0;
	assert_int_equal(decide(x), POLICY_DUPLICATE);
	x->f.found = 0;
	assert_int_equal(decide(x), POLICY_UNKNOWN);
}

static void
test_consent(void **state)
{
	struct fx *x = *state;

	/* no record at all is no consent: never guessed */
	x->f.email_consent = 0;
	x->f.consent_at = 0;
	assert_int_equal(decide(x), POLICY_NO_CONSENT);
	/* revoked */
	x->f.consent_at = NOW - DAY;
	assert_int_equal(decide(x), POLICY_NO_CONSENT);
}

static void
test_unsubscribed(void **state)
{
	struct fx *x = *state;

	x->f.unsubscribed_at = x->f.consent_at + 1;
	assert_int_equal(decide(x), POLICY_UNSUBSCRIBED);
	/* the same second counts as after: doubt suppresses */
	x->f.unsubscribed_at = x->f.consent_at;
	assert_int_equal(decide(x), POLICY_UNSUBSCRIBED);
	/* consent given again afterwards wins */
	x->f.unsubscribed_at = x->f.consent_at - 1;
	assert_int_equal(decide(x), POLICY_DELIVER);
	/* unsubscribed and revoked: the more specific reason */
	x->f.unsubscribed_at = NOW - HOUR;
	x->f.email_consent = 0;
	assert_int_equal(decide(x), POLICY_UNSUBSCRIBED);
}

static void
test_bounced(void **state)
{
	struct fx *x = *state;

	x->f.bounces = 1;
	assert_int_equal(decide(x), POLICY_BOUNCED);
	assert_string_equal(x->d.detail, "1 bounces since consent (limit 1)");
	x->r.bounce_limit = 3;
	x->f.bounces = 2;
	assert_int_equal(decide(x), POLICY_DELIVER);
	x->f.bounces = 3;
	assert_int_equal(decide(x), POLICY_BOUNCED);
}

/* soft bounces count only within soft_bounce_days, up to the limit */
static void
test_soft_bounced(void **state)
{
	struct fx *x = *state;
	int64_t at[] = { NOW - DAY, NOW - 10 * DAY, NOW - 31 * DAY };

	x->f.soft_bounce_at = at;
	x->f.nsoft_bounces = 3;
	assert_int_equal(decide(x), POLICY_DELIVER);	/* 2 within 30 d */
	at[2] = NOW - 30 * DAY;
	assert_int_equal(decide(x), POLICY_BOUNCED);
	assert_string_equal(x->d.detail, "3 soft bounces in 30 d (limit 3)");
	x->r.soft_bounce_days = 5;
	assert_int_equal(decide(x), POLICY_DELIVER);
	x->r.soft_bounce_limit = 1;
	assert_int_equal(decide(x), POLICY_BOUNCED);
	x->r.soft_bounce_limit = 0;			/* off */
	assert_int_equal(decide(x), POLICY_DELIVER);
}

/* a complaint stops email like an unsubscribe, and says so */
static void
test_complained(void **state)
{
	struct fx *x = *state;

	x->f.complained_at = NOW - 2 * DAY;
	assert_int_equal(decide(x), POLICY_UNSUBSCRIBED);
	assert_string_equal(x->d.detail, "complaint (feedback report) 2 d"
	    " ago");
	/* consent given since lifts it */
	x->f.consent_at = NOW - DAY;
	assert_int_equal(decide(x), POLICY_DELIVER);
}

static void
test_audience(void **state)
{
	struct fx *x = *state;
	struct expr *only_lapsed[2], *no_coffee[3];
	char err[128];

	assert_int_equal(expr_parse("lapsed", &only_lapsed[0], err,
	    sizeof(err)), 0);
	assert_int_equal(expr_parse("first_time", &only_lapsed[1], err,
	    sizeof(err)), 0);
	assert_int_equal(expr_parse("tea", &no_coffee[0], err, sizeof(err)),
	    0);
	assert_int_equal(expr_parse("coffee", &no_coffee[1], err,
	    sizeof(err)), 0);
	assert_int_equal(expr_parse("vip & !coffee", &no_coffee[2], err,
	    sizeof(err)), 0);
	x->c.include = (const struct expr *const *)only_lapsed;
	x->c.ninclude = 2;
	assert_int_equal(decide(x), POLICY_AUDIENCE);
	assert_string_equal(x->d.detail, "in none of the 2 included segments");
	x->f.flags = lapsed_flags;
	x->f.nflags = 2;
	assert_int_equal(decide(x), POLICY_DELIVER);

	x->c.ninclude = 0;
	x->c.exclude = (const struct expr *const *)no_coffee;
	x->c.nexclude = 2;
	assert_int_equal(decide(x), POLICY_AUDIENCE);
	assert_string_equal(x->d.detail, "excluded segment tea");
	x->f.flags = vip_flags;
	x->f.nflags = 3;
	assert_int_equal(decide(x), POLICY_AUDIENCE);
	assert_string_equal(x->d.detail, "excluded segment coffee");
	/* an expression: the VIPs who are not coffee buyers */
	x->c.exclude = (const struct expr *const *)&no_coffee[2];
	x->c.nexclude = 1;
	assert_int_equal(decide(x), POLICY_DELIVER);
	x->f.nflags = 1;			/* vip alone */
	assert_int_equal(decide(x), POLICY_AUDIENCE);
	assert_string_equal(x->d.detail, "excluded by vip & !coffee");
	expr_free(only_lapsed[0]);
	expr_free(only_lapsed[1]);
	expr_free(no_coffee[0]);
	expr_free(no_coffee[1]);
	expr_free(no_coffee[2]);
}

static void
test_frequency_cap(void **state)
{
	struct fx *x = *state;

	x->f.deliveries_in_window = 1;
	assert_int_equal(decide(x), POLICY_FATIGUED);
	assert_string_equal(x->d.detail, "frequency cap: 1 delivered in 16 h"
	    " (cap 1)");
	x->r.cap_count = 2;
	assert_int_equal(decide(x), POLICY_DELIVER);
	x->r.cap_count = 0;		/* no cap */
	x->f.deliveries_in_window = 50;
	assert_int_equal(decide(x), POLICY_DELIVER);
}

static void
test_fatigue_reduced_cadence(void **state)
{
	struct fx *x = *state;

	x->f.unanswered = 9;
	x->f.last_delivery_at = NOW - DAY;
	assert_int_equal(decide(x), POLICY_DELIVER);
	x->f.unanswered = 10;
	assert_int_equal(decide(x), POLICY_FATIGUED);
	assert_string_equal(x->d.detail, "10 unanswered (limit 10); last"
	    " delivered 1 d ago, cadence 14 d");
	/* at the cadence they get one again */
	x->f.last_delivery_at = NOW - 14 * DAY;
	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_string_equal(x->d.detail, "10 unanswered (limit 10); reduced"
	    " cadence of 14 d");
	x->f.last_delivery_at = NOW - 14 * DAY + 1;
	assert_int_equal(decide(x), POLICY_FATIGUED);
	x->r.fatigue_unanswered = 0;	/* off */
	assert_int_equal(decide(x), POLICY_DELIVER);
}

/* "fewer emails": their own gap holds even where ours would not */
static void
test_personal_cadence(void **state)
{
	struct fx *x = *state;

	x->f.min_gap_days = 30;
	assert_int_equal(decide(x), POLICY_DELIVER);	/* never delivered */
	x->f.last_delivery_at = NOW - 20 * DAY;
	assert_int_equal(decide(x), POLICY_FATIGUED);
	assert_string_equal(x->d.detail, "personal cadence: last delivered"
	    " 20 d ago, asked for one every 30 d");
	x->f.last_delivery_at = NOW - 30 * DAY + 1;
	assert_int_equal(decide(x), POLICY_FATIGUED);
	x->f.last_delivery_at = NOW - 30 * DAY;
	assert_int_equal(decide(x), POLICY_DELIVER);
	x->f.min_gap_days = 0;
	x->f.last_delivery_at = NOW - DAY;
	assert_int_equal(decide(x), POLICY_DELIVER);
}

static void
test_reason_order(void **state)
{
	struct fx *x = *state;
	struct expr *vip;
	char err[128];

	/* everything wrong at once: each fix reveals the next reason */
	x->f.unsubscribed_at = NOW;
	x->f.bounces = 5;
	x->f.deliveries_in_window = 5;
	assert_int_equal(expr_parse("vip", &vip, err, sizeof(err)), 0);
	x->c.exclude = (const struct expr *const *)&vip;
	x->c.nexclude = 1;
	assert_int_equal(decide(x), POLICY_UNSUBSCRIBED);
	x->f.unsubscribed_at = 0;
	assert_int_equal(decide(x), POLICY_BOUNCED);
	x->f.bounces = 0;
	assert_int_equal(decide(x), POLICY_AUDIENCE);
	x->c.nexclude = 0;
	assert_int_equal(decide(x), POLICY_FATIGUED);
	x->f.deliveries_in_window = 0;
	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_string_equal(policy_reason_name(POLICY_NREASONS), "?");
	expr_free(vip);
}

static const unsigned char key[] = "0123456789abcdef0123";
#define KEYLEN	(sizeof(key) - 1)
#define DRAWS	100000

/* The draws' key, once for the file's tests. */
static const struct digest_hmac *
draws(void)
{
	static struct digest_hmac *h;

	if (h == NULL)
		h = policy_arm_key(key, KEYLEN);
	return h;
}

/*
 * Draws are fixed per customer, uniform, different under another key,
 * and independent between experiments: over 100,000 customers each
 * tenth holds 10,000 +- 5 sigma (475), and two experiments' draws
 * correlate within 6 sigma of 0 (0.019).
 */
static void
test_arm_draw(void **state)
{
	static double a[DRAWS], b[DRAWS];
	struct digest_hmac *other;
	unsigned char mac[32];
	uint64_t v;
	int64_t bins[10] = { 0 }, both = 0;
	double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0, r;
	int i;

	(void)state;
	for (i = 0; i < DRAWS; i++) {
		a[i] = policy_arm_draw(draws(), "exp-a", i + 1);
		b[i] = policy_arm_draw(draws(), "exp-b", i + 1);
		assert_true(a[i] >= 0 && a[i] < 1);
		bins[(int)(a[i] * 10)]++;
		ma += a[i];
		mb += b[i];
		both += a[i] < 0.1 && b[i] < 0.1;
	}
	for (i = 0; i < 10; i++)
		assert_in_range(bins[i], 10000 - 475, 10000 + 475);
	ma /= DRAWS;
	mb /= DRAWS;
	for (i = 0; i < DRAWS; i++) {
		sab += (a[i] - ma) * (b[i] - mb);
		saa += (a[i] - ma) * (a[i] - ma);
		sbb += (b[i] - mb) * (b[i] - mb);
	}
	r = sab / sqrt(saa * sbb);
	assert_true(r > -0.019 && r < 0.019);
	/* held out of both: 1% of them, 1,000 +- 5 sigma (157) */
	assert_in_range(both, 1000 - 157, 1000 + 157);
	/* the same customer, the same draw; another key, another */
	assert_true(policy_arm_draw(draws(), "exp-a", 7) == a[6]);
	other = policy_arm_key(key, KEYLEN - 1);
	assert_true(policy_arm_draw(other, "exp-a", 7) != a[6]);
	digest_hmac_free(other);
	assert_true(policy_arm_draw(draws(), NULL, 7) != a[6]);
	/* the name cannot run into the id: "exp-a" 17 is not "exp-a1" 7 */
	assert_true(policy_arm_draw(draws(), "exp-a1", 7) != a[16]);
	assert_null(policy_arm_key(key, 0));
	/* the draw is the HMAC under the derived key, as documented */
	assert_int_equal(digest_hmac_derived(key, KEYLEN, "segmilter arms",
	    "arm\0exp-a\0" "7", 11, mac), 0);
	for (i = 0, v = 0; i < 8; i++)
		v = v << 8 | mac[i];
	assert_true((double)(v >> 11) * 0x1.0p-53 == a[6]);
}

/* The arms split those every rule lets through, and only them. */
static void
test_arms(void **state)
{
	struct fx *x = *state;
	int n[ARM_COUNT] = { 0 };
	int64_t id;

	x->c.experiment = "exp-a";
	x->c.tailored = 5000;
	x->c.broad = 3000;
	x->c.none = 2000;
	/* no key: no arms */
	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_int_equal(x->d.arm, ARM_UNSET);
	x->c.draws = draws();
	for (id = 1; id <= 10000; id++) {
		x->f.customer_id = id;
		decide(x);
		n[x->d.arm]++;
		assert_non_null(strstr(x->d.detail, "draw 0."));
		switch (x->d.arm) {
		case ARM_TAILORED:
			assert_int_equal(x->d.reason, POLICY_DELIVER);
			assert_int_equal(x->d.variant, 0);
			break;
		case ARM_BROAD:
			/* a VIP with a VIP variant: the default all the same */
			assert_int_equal(x->d.reason, POLICY_DELIVER);
			assert_int_equal(x->d.variant, -1);
			break;
		case ARM_NONE:
			assert_int_equal(x->d.reason, POLICY_HELD_OUT);
			assert_string_equal(policy_reason_name(x->d.reason),
			    "held_out");
			break;
		default:
			fail_msg("arm %d", x->d.arm);
		}
	}
	/* 10,000 draws: 5 sigma is 250, 229 and 200 */
	assert_in_range(n[ARM_TAILORED], 5000 - 250, 5000 + 250);
	assert_in_range(n[ARM_BROAD], 3000 - 229, 3000 + 229);
	assert_in_range(n[ARM_NONE], 2000 - 200, 2000 + 200);
	/* suppressed for a reason of their own: no arm, nothing drawn */
	x->f.email_consent = 0;
	assert_int_equal(decide(x), POLICY_NO_CONSENT);
	assert_int_equal(x->d.arm, ARM_UNSET);
	/* all tailored: the variant, and the arm said */
	x->f.email_consent = 1;
	x->c.tailored = 10000;
	x->c.broad = x->c.none = 0;
	assert_int_equal(decide(x), POLICY_DELIVER);
	assert_int_equal(x->d.arm, ARM_TAILORED);
	assert_int_equal(x->d.variant, 0);
	assert_non_null(strstr(x->d.detail, "arm tailored of exp-a: draw"));
}

/* The global control group: the same customers out of every campaign. */
static void
test_global_holdout(void **state)
{
	struct fx *x = *state;
	int64_t id, held = 0, again = 0;

	x->c.draws = draws();
	x->r.global_holdout_percent = 5;
	for (id = 1; id <= 10000; id++) {
		x->f.customer_id = id;
		x->c.experiment = "exp-a";
		x->c.tailored = 10000;
		if (decide(x) != POLICY_HELD_OUT)
			continue;
		held++;
		assert_int_equal(x->d.arm, ARM_GLOBAL);
		assert_non_null(strstr(x->d.detail, "global control group"));
		/* a campaign without arms holds them out too */
		x->c.tailored = 0;
		x->c.experiment = NULL;
		again += decide(x) == POLICY_HELD_OUT;
	}
	/* 5% of 10,000: 500 +- 5 sigma (109) */
	assert_in_range(held, 500 - 109, 500 + 109);
	assert_int_equal(again, held);
}

/* send_after as written: facts and offsets, times, and what is refused. */
static void
test_due_parse(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		enum conf_due_from from;
		int64_t		 at;
	} cases[] = {
		{ "cart_at + 1h", 1, DUE_CART, 3600 },
		{ "cart_at+24h", 1, DUE_CART, 86400 },
		{ "cart_at + 90m", 1, DUE_CART, 5400 },
		{ "first_order_at + 14d", 1, DUE_FIRST_ORDER, 14 * DAY },
		{ "last_order_at  +  7d", 1, DUE_LAST_ORDER, 7 * DAY },
		{ "last_order_at", 1, DUE_LAST_ORDER, 0 },
		{ "2026-12-01T09:00:00Z", 1, DUE_FIXED, 1796115600 },
		{ "cart_at + 24", 0, 0, 0 },
		{ "cart_at - 1h", 0, 0, 0 },
		{ "cart_at + 367d", 0, 0, 0 },
		{ "cart_at + 1h2", 0, 0, 0 },
		{ "cart_atx + 1h", 0, 0, 0 },
		{ "crt_at + 1h", 0, 0, 0 },
		{ "tomorrow", 0, 0, 0 },
		{ "", 0, 0, 0 },
	};
	struct conf_due d;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&d, 0, sizeof(d));
		why = NULL;
		if (conf_due_parse(cases[i].in, &d, &why) != (cases[i].ok ? 0 :
		    -1))
			fail_msg("%s: %s", cases[i].in, why ? why : "taken");
		if (!cases[i].ok) {
			assert_non_null(why);
			continue;
		}
		assert_int_equal(d.from, cases[i].from);
		assert_int_equal(d.at, cases[i].at);
	}
	assert_int_equal(conf_due_parse("crt_at + 1h", &d, &why), -1);
	assert_string_equal(why, "expected cart_at, first_order_at or"
	    " last_order_at");
	assert_int_equal(conf_goal_parse("ordered"), CONF_GOAL_ORDERED);
	assert_int_equal(conf_goal_parse("orderd"), 0);
}

/*
 * A step of a cart sequence: due at the cart plus its offset, outside
 * the audience without a cart, its goal met by an order since the cart
 * (not by one before it); a fixed time is due then, with no fact asked.
 */
static void
test_due(void **state)
{
	struct fx *x = *state;
	struct conf_due due = { DUE_CART, DAY };

	x->f.cart_at = NOW - 2 * 3600;
	assert_int_equal(decide(x), POLICY_DELIVER);
	policy_due(&due, CONF_GOAL_ORDERED, &x->f, &x->d);
	assert_int_equal(x->d.reason, POLICY_DELIVER);
	assert_int_equal(x->d.due_at, NOW - 2 * 3600 + DAY);

	x->f.last_order_at = NOW - 3 * 3600;		/* before the cart */
	decide(x);
	policy_due(&due, CONF_GOAL_ORDERED, &x->f, &x->d);
	assert_int_equal(x->d.reason, POLICY_DELIVER);
	x->f.last_order_at = NOW - 3600;		/* since it */
	decide(x);
	policy_due(&due, CONF_GOAL_ORDERED, &x->f, &x->d);
	assert_int_equal(x->d.reason, POLICY_GOAL_MET);
	assert_string_equal(x->d.detail, "ordered 2026-11-18T10:06:40Z,"
	    " after cart_at");
	decide(x);					/* no goal asked */
	policy_due(&due, 0, &x->f, &x->d);
	assert_int_equal(x->d.reason, POLICY_DELIVER);

	x->f.cart_at = 0;
	decide(x);
	policy_due(&due, CONF_GOAL_ORDERED, &x->f, &x->d);
	assert_int_equal(x->d.reason, POLICY_AUDIENCE);
	assert_string_equal(x->d.detail, "no cart_at to count send_after"
	    " from");

	due.from = DUE_FIXED;
	due.at = NOW + DAY;
	decide(x);
	policy_due(&due, CONF_GOAL_ORDERED, &x->f, &x->d);
	assert_int_equal(x->d.reason, POLICY_DELIVER);
	assert_int_equal(x->d.due_at, NOW + DAY);
	/* nothing for a recipient not delivered */
	x->f.email_consent = 0;
	decide(x);
	policy_due(&due, CONF_GOAL_ORDERED, &x->f, &x->d);
	assert_int_equal(x->d.reason, POLICY_NO_CONSENT);
	assert_int_equal(x->d.due_at, 0);
}

/*
 * A held copy when it comes due: what came meanwhile stops it (an
 * unsubscribe, consent withdrawn, a hard bounce, an order since the
 * cart or, for a fixed time, since the decision); caps and fatigue,
 * counted at the decision, do not.
 */
static void
test_recheck(void **state)
{
	struct fx *x = *state;
	struct conf_due cart = { DUE_CART, DAY }, fixed = { DUE_FIXED, 0 };
	int64_t decided = NOW - DAY;

	x->f.cart_at = decided - 3600;
	x->f.deliveries_in_window = 99;			/* not asked */
	x->f.unanswered = 99;
	policy_recheck(&x->r, &cart, CONF_GOAL_ORDERED, &x->f, decided, NOW,
	    &x->d);
	assert_int_equal(x->d.reason, POLICY_DELIVER);

	x->f.last_order_at = decided - 1800;		/* since the cart */
	policy_recheck(&x->r, &cart, CONF_GOAL_ORDERED, &x->f, decided, NOW,
	    &x->d);
	assert_int_equal(x->d.reason, POLICY_GOAL_MET);
	/* for a fixed time the decision is the start: that order is older */
	policy_recheck(&x->r, &fixed, CONF_GOAL_ORDERED, &x->f, decided, NOW,
	    &x->d);
	assert_int_equal(x->d.reason, POLICY_DELIVER);
	x->f.last_order_at = decided + 60;
	policy_recheck(&x->r, &fixed, CONF_GOAL_ORDERED, &x->f, decided, NOW,
	    &x->d);
	assert_int_equal(x->d.reason, POLICY_GOAL_MET);
	assert_non_null(strstr(x->d.detail, "after the decision"));
	x->f.last_order_at = 0;

	x->f.cart_at = 0;				/* the cart gone */
	policy_recheck(&x->r, &cart, CONF_GOAL_ORDERED, &x->f, decided, NOW,
	    &x->d);
	assert_int_equal(x->d.reason, POLICY_AUDIENCE);
	assert_string_equal(x->d.detail, "no cart_at any more");
	/* ... by an order since the decision: the goal, said so */
	x->f.last_order_at = decided + 60;
	policy_recheck(&x->r, &cart, CONF_GOAL_ORDERED, &x->f, decided, NOW,
	    &x->d);
	assert_int_equal(x->d.reason, POLICY_GOAL_MET);
	assert_non_null(strstr(x->d.detail, "after the decision"));
	x->f.last_order_at = 0;
	x->f.cart_at = decided - 3600;

	/* a step counted from the last order: a new order since the
	 * decision moves the fact with it, and meets the goal */
	{
		struct conf_due last = { DUE_LAST_ORDER, 7 * DAY };

		x->f.last_order_at = decided - 3 * DAY;
		policy_recheck(&x->r, &last, CONF_GOAL_ORDERED, &x->f,
		    decided, NOW, &x->d);
		assert_int_equal(x->d.reason, POLICY_DELIVER);
		x->f.last_order_at = decided + 3600;
		policy_recheck(&x->r, &last, CONF_GOAL_ORDERED, &x->f,
		    decided, NOW, &x->d);
		assert_int_equal(x->d.reason, POLICY_GOAL_MET);
		assert_non_null(strstr(x->d.detail, "after the decision"));
		x->f.last_order_at = 0;
	}

	x->f.unsubscribed_at = NOW - 60;
	policy_recheck(&x->r, &cart, 0, &x->f, decided, NOW, &x->d);
	assert_int_equal(x->d.reason, POLICY_UNSUBSCRIBED);
	x->f.unsubscribed_at = 0;
	x->f.email_consent = 0;
	policy_recheck(&x->r, &cart, 0, &x->f, decided, NOW, &x->d);
	assert_int_equal(x->d.reason, POLICY_NO_CONSENT);
	x->f.email_consent = 1;
	x->f.bounces = 1;
	policy_recheck(&x->r, &cart, 0, &x->f, decided, NOW, &x->d);
	assert_int_equal(x->d.reason, POLICY_BOUNCED);
	x->f.bounces = 0;
	x->f.found = 0;
	policy_recheck(&x->r, &cart, 0, &x->f, decided, NOW, &x->d);
	assert_int_equal(x->d.reason, POLICY_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_deliver_and_variant, setup),
		cmocka_unit_test_setup(test_unknown, setup),
		cmocka_unit_test_setup(test_duplicate, setup),
		cmocka_unit_test_setup(test_consent, setup),
		cmocka_unit_test_setup(test_unsubscribed, setup),
		cmocka_unit_test_setup(test_bounced, setup),
		cmocka_unit_test_setup(test_soft_bounced, setup),
		cmocka_unit_test_setup(test_complained, setup),
		cmocka_unit_test_setup(test_audience, setup),
		cmocka_unit_test_setup(test_frequency_cap, setup),
		cmocka_unit_test_setup(test_fatigue_reduced_cadence, setup),
		cmocka_unit_test_setup(test_personal_cadence, setup),
		cmocka_unit_test_setup(test_reason_order, setup),
		cmocka_unit_test(test_arm_draw),
		cmocka_unit_test_setup(test_arms, setup),
		cmocka_unit_test_setup(test_global_holdout, setup),
		cmocka_unit_test(test_due_parse),
		cmocka_unit_test_setup(test_due, setup),
		cmocka_unit_test_setup(test_recheck, setup),
	};

	return cmocka_run_group_tests(tests, NULL, free_variants);
}
