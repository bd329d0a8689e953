/*
 * test_conf.c - segmilter.conf: defaults, every setting read back, and
 * every kind of mistake reported as FILE:LINE, all of them at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "conf.h"

static char dir[64], path[128], err[4096];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/segm-conf-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/segmilter.conf", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* Writes TEXT as the config file and loads it. */
static struct conf *
load(const char *text)
{
	struct conf *c = NULL;
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	err[0] = '\0';
	if (conf_load(path, &c, err, sizeof(err)) == -1)
		return NULL;
	return c;
}

static void
test_defaults(void **state)
{
	struct conf *c = conf_defaults();

	(void)state;
	assert_null(c->path);
	assert_string_equal(c->store_path, "/var/lib/segmilter/store.db");
	assert_int_equal(c->seg.priority[0], LC_B2B);
	assert_int_equal(c->seg.priority[5], LC_SUBSCRIBER);
	assert_int_equal(c->seg.vip.metric, VIP_NET_SPEND);
	assert_true(c->seg.vip.top_percent == 10.0);
	assert_int_equal(conf_lapsed_days(&c->seg, "coffee"), 60);
	assert_int_equal(conf_lapsed_days(&c->seg, "furniture"), 365);
	assert_int_equal(conf_lapsed_days(&c->seg, "tea"), 120);
	assert_int_equal(conf_lapsed_days(&c->seg, NULL), 120);
	assert_int_equal(c->seg.cart.window_hours, 72);
	assert_int_equal(c->seg.b2b.naccount_types, 2);
	assert_true(conf_rate(&c->seg, "EUR") == 1.0);
	assert_string_equal(conf_lifecycle_name(LC_FIRST_TIME), "first_time");
	assert_string_equal(conf_vip_metric_name(VIP_MARGIN), "margin");
	conf_free(c);
}

static void
test_every_setting(void **state)
{
	struct conf *c;
	enum conf_lifecycle lc;

	(void)state;
	c = load("store = \"/srv/segm/store.db\";\n"
	    "store_timeout_ms = 250;\n"
	    "segments = {\n"
	    "  priority = [ \"vip\", \"b2b\", \"repeat\", \"lapsed\","
	    " \"first_time\", \"subscriber\" ];\n"
	    "  vip = { metric = \"margin\"; top_percent = 5; min_value ="
	    " \"99.995\"; min_orders = 2; };\n"
	    "  lapsed = { default_days = 90; categories = { Coffee-Beans"
	    " = 45; }; adapt_to_interval = true; interval_factor = 1.5;"
	    " adapt_min_orders = 4; };\n"
	    "  cart = { window_hours = 24; min_age_minutes = 0; };\n"
	    "  interest = { window_days = 30; };\n"
	    "  b2b = { account_types = [ \"trade\" ]; tags = [ ];"
	    " company_domains = [ \"acme.example\" ]; tax_exempt = false;"
	    " bulk_line_quantity = 0; bulk_orders_min = 3; };\n"
	    "  categories = {\n"
	    "    sku_prefixes = ( { prefix = \"COF-\"; category ="
	    " \"Coffee\"; } );\n"
	    "    name_keywords = ( { keyword = \"EsPresso\"; category ="
	    " \"coffee\"; }, { keyword = \"tea\"; category = \"Food > Tea &"
	    " Infusions\"; } );\n"
	    "  };\n"
	    "  base_currency = \"EUR\";\n"
	    "  currency_rates = { USD = 0.92; GBP = 1; };\n"
	    "};\n");
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->path, path);
	assert_string_equal(c->store_path, "/srv/segm/store.db");
	assert_int_equal(c->store_timeout_ms, 250);
	assert_int_equal(c->seg.priority[0], LC_VIP);
	assert_int_equal(c->seg.priority[3], LC_LAPSED);
	assert_int_equal(c->seg.vip.metric, VIP_MARGIN);
	assert_true(c->seg.vip.top_percent == 5.0);
	assert_int_equal(c->seg.vip.min_value, 10000);	/* rounded */
	assert_int_equal(c->seg.vip.min_orders, 2);
	assert_int_equal(c->seg.lapsed.default_days, 90);
	/* the listed categories replace the default list */
	assert_int_equal(c->seg.lapsed.ncategory_days, 1);
	assert_int_equal(conf_lapsed_days(&c->seg, "coffee_beans"), 45);
	assert_int_equal(conf_lapsed_days(&c->seg, "coffee"), 90);
	assert_int_equal(c->seg.lapsed.adapt_to_interval, 1);
	assert_true(c->seg.lapsed.interval_factor == 1.5);
	assert_int_equal(c->seg.lapsed.adapt_min_orders, 4);
	assert_int_equal(c->seg.cart.window_hours, 24);
	assert_int_equal(c->seg.cart.min_age_minutes, 0);
	assert_int_equal(c->seg.interest.window_days, 30);
	assert_int_equal(c->seg.b2b.naccount_types, 1);
	assert_string_equal(c->seg.b2b.account_types[0], "trade");
	assert_int_equal(c->seg.b2b.ntags, 0);
	assert_string_equal(c->seg.b2b.company_domains[0], "acme.example");
	assert_int_equal(c->seg.b2b.tax_exempt, 0);
	assert_int_equal(c->seg.b2b.bulk_line_quantity, 0);
	assert_int_equal(c->seg.b2b.bulk_orders_min, 3);
	assert_int_equal(c->seg.nsku_prefixes, 1);
	assert_string_equal(c->seg.sku_prefixes[0].key, "COF-");
	assert_string_equal(c->seg.sku_prefixes[0].value, "coffee");
	assert_int_equal(c->seg.nname_keywords, 2);
	assert_string_equal(c->seg.name_keywords[0].key, "espresso");
	assert_string_equal(c->seg.name_keywords[1].value, "tea_infusions");
	assert_string_equal(c->seg.base_currency, "EUR");
	assert_true(conf_rate(&c->seg, "USD") == 0.92);
	assert_true(conf_rate(&c->seg, "GBP") == 1.0);
	assert_true(conf_rate(&c->seg, "JPY") == 1.0);
	assert_int_equal(conf_lifecycle_parse("lapsed", &lc), 0);
	assert_int_equal(lc, LC_LAPSED);
	assert_int_equal(conf_lifecycle_parse("whale", &lc), -1);
	conf_free(c);
}

static void
test_every_error_reported(void **state)
{
	char want[256];

	(void)state;
	assert_null(load("store_timeout_ms = 5000;\n"
	    "segments = {\n"
	    "  vip = { top_percnt = 10.0; };\n"
	    "  cart = { window_hours = \"72\"; min_age_minutes = -1; };\n"
	    "  lapsed = { default_days = 0; categories = { coffee = 0; }; };\n"
	    "  priority = [ \"vip\", \"vip\", \"b2b\", \"repeat\", \"lapsed\","
	    " \"first_time\" ];\n"
	    "  base_currency = \"usd\";\n"
	    "  currency_rates = { EUR = -1.0; };\n"
	    "  b2b = { tax_exempt = 1; tags = [ \"\" ]; };\n"
	    "  categories = { sku_prefixes = ( { prefix = \"X\"; } ); };\n"
	    "};\n"
	    "colour = \"blue\";\n"
	    "audit = { archive_dir = \"archives\"; };\n"));
#define HAS(line, text) do {						\
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, text);	\
	if (strstr(err, want) == NULL)					\
		fail_msg("missing \"%s\" in:\n%s", want, err);		\
} while (0)
	HAS(3, "segments.vip.top_percnt: unknown setting");
	HAS(4, "segments.cart.window_hours: expected an integer");
	HAS(4, "segments.cart.min_age_minutes: -1 is out of range 0..10080");
	HAS(5, "segments.lapsed.default_days: 0 is out of range 1..3650");
	HAS(5, "segments.lapsed.categories.coffee: 0 is out of range");
	HAS(6, "segments.priority: 'vip' is listed twice");
	HAS(7, "segments.base_currency: expected an ISO 4217 code");
	HAS(8, "segments.currency_rates.EUR: expected a rate above 0");
	HAS(9, "segments.b2b.tax_exempt: expected true or false");
	HAS(9, "segments.b2b.tags: element 1 is not a non-empty string");
	HAS(10, "segments.categories.sku_prefixes[1]: needs a non-empty"
	    " prefix and a category");
	HAS(12, "colour: unknown setting");
	HAS(13, "audit.archive_dir: 'archives' is not an absolute path");
#undef HAS
}

static void
test_vip_min_follows_metric(void **state)
{
	struct conf *c;

	(void)state;
	c = load("segments = { vip = { min_value = 3; metric ="
	    " \"order_count\"; }; };\n");
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->seg.vip.min_value, 3);
	conf_free(c);
	assert_null(load("segments = { vip = { min_value = 3; }; };\n"));
	assert_non_null(strstr(err, ":1: segments.vip.min_value: expected an"
	    " amount as a string"));
	assert_null(load("segments = { vip = { metric = \"spend\"; }; };\n"));
	assert_non_null(strstr(err, "segments.vip.metric: expected"));
	assert_null(load("segments = { priority = [ \"vip\" ]; };\n"));
	assert_non_null(strstr(err, "expected all six segments"));
}

static void
test_syntax_and_missing(void **state)
{
	char want[256];
	struct conf *c;

	(void)state;
	assert_null(load("store = \"/x\";\nsegments = {\n  vip = { metric"
	    " = ; };\n};\n"));
	snprintf(want, sizeof(want), "%s:3: syntax error", path);
	assert_non_null(strstr(err, want));
	assert_int_equal(conf_load("/nonexistent/segmilter.conf", &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/segmilter.conf: No such file"
	    " or directory\n");
}

/*
 * @include is refused: libconfig opens any path, and a directory there
 * made its scanner exit(2), segmilter with it (found by fuzz_conf).
 */
static void
test_include_refused(void **state)
{
	char text[256], want[256];

	(void)state;
	snprintf(text, sizeof(text), "store = \"/a\";\n  @include \"%s\"\n",
	    dir);
	assert_null(load(text));
	snprintf(want, sizeof(want), "%s:2: @include: not supported", path);
	assert_non_null(strstr(err, want));
	/* not a directive: not at the start of a line, or no blank after */
	assert_null(load("store = \"/a\"; @include \"/\"\n"));
	assert_null(strstr(err, "@include"));
	assert_null(load("@include\"/\"\n"));
	assert_null(strstr(err, "@include"));
}

static void
test_hash_follows_content(void **state)
{
	unsigned char first[32];
	struct conf *c;

	(void)state;
	c = load("store = \"/a\";\n");
	assert_non_null(c);
	memcpy(first, c->hash, sizeof(first));
	conf_free(c);
	c = load("store = \"/a\";\n");
	assert_memory_equal(first, c->hash, sizeof(first));
	conf_free(c);
	c = load("store = \"/b\";\n");
	assert_memory_not_equal(first, c->hash, sizeof(first));
	conf_free(c);
}

/* The shipped example is the defaults, written out. */
static void
test_shipped_file_is_the_defaults(void **state)
{
	const char *src = getenv("SEGM_SRCDIR");
	struct conf *c, *d = conf_defaults();
	char shipped[512];
	size_t i;

	(void)state;
	snprintf(shipped, sizeof(shipped), "%s/conf/segmilter.conf",
	    src ? src : ".");
	if (conf_load(shipped, &c, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_string_equal(c->store_path, d->store_path);
	assert_int_equal(c->store_timeout_ms, d->store_timeout_ms);
	assert_memory_equal(c->seg.priority, d->seg.priority,
	    sizeof(d->seg.priority));
	assert_int_equal(c->seg.vip.metric, d->seg.vip.metric);
	assert_true(c->seg.vip.top_percent == d->seg.vip.top_percent);
	assert_int_equal(c->seg.vip.min_value, d->seg.vip.min_value);
	assert_int_equal(c->seg.vip.min_orders, d->seg.vip.min_orders);
	assert_int_equal(c->seg.lapsed.default_days,
	    d->seg.lapsed.default_days);
	assert_int_equal(c->seg.lapsed.ncategory_days,
	    d->seg.lapsed.ncategory_days);
	for (i = 0; i < d->seg.lapsed.ncategory_days; i++) {
		assert_string_equal(c->seg.lapsed.category_days[i].name,
		    d->seg.lapsed.category_days[i].name);
		assert_int_equal(c->seg.lapsed.category_days[i].value,
		    d->seg.lapsed.category_days[i].value);
	}
	assert_int_equal(c->seg.lapsed.adapt_to_interval,
	    d->seg.lapsed.adapt_to_interval);
	assert_true(c->seg.lapsed.interval_factor ==
	    d->seg.lapsed.interval_factor);
	assert_int_equal(c->seg.lapsed.adapt_min_orders,
	    d->seg.lapsed.adapt_min_orders);
	assert_int_equal(c->seg.cart.window_hours, d->seg.cart.window_hours);
	assert_int_equal(c->seg.cart.min_age_minutes,
	    d->seg.cart.min_age_minutes);
	assert_int_equal(c->seg.interest.window_days,
	    d->seg.interest.window_days);
	assert_int_equal(c->seg.b2b.naccount_types, d->seg.b2b.naccount_types);
	for (i = 0; i < d->seg.b2b.naccount_types; i++)
		assert_string_equal(c->seg.b2b.account_types[i],
		    d->seg.b2b.account_types[i]);
	assert_int_equal(c->seg.b2b.ntags, d->seg.b2b.ntags);
	for (i = 0; i < d->seg.b2b.ntags; i++)
		assert_string_equal(c->seg.b2b.tags[i], d->seg.b2b.tags[i]);
	assert_int_equal(c->seg.b2b.ncompany_domains, 0);
	assert_int_equal(c->seg.b2b.tax_exempt, d->seg.b2b.tax_exempt);
	assert_int_equal(c->seg.b2b.bulk_line_quantity,
	    d->seg.b2b.bulk_line_quantity);
	assert_int_equal(c->seg.b2b.bulk_orders_min,
	    d->seg.b2b.bulk_orders_min);
	assert_int_equal(c->seg.nsku_prefixes, 0);
	assert_int_equal(c->seg.nname_keywords, 0);
	assert_string_equal(c->seg.base_currency, d->seg.base_currency);
	assert_int_equal(c->seg.nrates, 0);
	assert_string_equal(c->milter.socket, d->milter.socket);
	assert_string_equal(c->milter.user, d->milter.user);
	assert_string_equal(c->milter.campaign_header,
	    d->milter.campaign_header);
	assert_string_equal(c->milter.campaigns_dir, d->milter.campaigns_dir);
	assert_string_equal(c->milter.spool_dir, d->milter.spool_dir);
	assert_int_equal(c->milter.spool_memory_kb, d->milter.spool_memory_kb);
	assert_int_equal(c->milter.timeout_s, d->milter.timeout_s);
	assert_int_equal(c->milter.on_store_error, d->milter.on_store_error);
	assert_int_equal(c->milter.unknown_empty, d->milter.unknown_empty);
	assert_memory_equal(&c->policy, &d->policy, sizeof(d->policy));
	assert_string_equal(c->audit.archive_dir, d->audit.archive_dir);
	conf_free(c);
	conf_free(d);
}

static void
test_milter_and_policy(void **state)
{
	struct conf *c;

	(void)state;
	c = load("milter = { socket = \"inet:8891@127.0.0.1\"; user = \"\";\n"
	    "  on_store_error = \"accept\"; unknown_placeholder = \"empty\";"
	    " };\n"
	    "policy = { cap_count = 0; fatigue_unanswered = 5; };\n");
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->milter.socket, "inet:8891@127.0.0.1");
	assert_string_equal(c->milter.user, "");
	assert_int_equal(c->milter.on_store_error, ON_ERROR_ACCEPT);
	assert_int_equal(c->milter.unknown_empty, 1);
	assert_int_equal(c->policy.cap_count, 0);
	assert_int_equal(c->policy.fatigue_unanswered, 5);
	assert_int_equal(c->policy.cap_window_hours, 16);
	assert_int_equal(c->milter.dkim_signature, DKIM_REMOVE);
	conf_free(c);
	c = load("milter = { dkim_signature = \"keep\"; };\n");
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->milter.dkim_signature, DKIM_KEEP);
	conf_free(c);
	assert_null(load("milter = { dkim_signature = \"strip\"; };\n"));
	assert_non_null(strstr(err, "milter.dkim_signature: expected"
	    " \"remove\" or \"keep\""));

	assert_null(load("milter = {\n socket = \"/run/x.sock\";\n"
	    " on_store_error = \"ignore\";\n campaign_header = \"\";\n};\n"
	    "policy = { cap_window_hours = 0; };\n"));
	assert_non_null(strstr(err, ":2: milter.socket: '/run/x.sock' is not"
	    " unix:/PATH or inet:PORT@HOST"));
	assert_non_null(strstr(err, ":3: milter.on_store_error: expected"
	    " \"tempfail\" or \"accept\""));
	assert_non_null(strstr(err, ":4: milter.campaign_header: expected a"
	    " non-empty string"));
	assert_non_null(strstr(err, ":6: policy.cap_window_hours: 0 is out of"
	    " range 1..8760"));
	assert_null(load("milter = { socket = \"inet:99999@localhost\"; };\n"));
	assert_non_null(strstr(err, "milter.socket"));
}

/* Writes TEXT to DIR/NAME with MODE, exactly (whatever the umask). */
static void
write_mode(const char *name, const char *text, mode_t mode, char *out,
    size_t outlen)
{
	FILE *fp;

	snprintf(out, outlen, "%s/%s", dir, name);
	assert_non_null(fp = fopen(out, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(out, mode), 0);
}

/*
 * The copy marker's key is a secret like the SMS credentials: whoever
 * reads it forges markers and unsubscribe links, whoever writes it
 * chooses the key.  Group or others reading or writing it is refused.
 */
static void
test_key_file_mode(void **state)
{
	static const mode_t open_modes[] = { 0666, 0644, 0640, 0620, 0604,
	    0602 };
	char key[96], text[256], want[512];
	struct conf *c;
	size_t i;

	(void)state;
	write_mode("copy.key", "0123456789abcdef0123456789abcdef\n", 0600,
	    key, sizeof(key));
	snprintf(text, sizeof(text), "outbox = {\n reinject_url ="
	    " \"smtp://127.0.0.1:10026\";\n key_file = \"%s\";\n};\n", key);
	c = load(text);
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->outbox.keylen, 32);
	conf_free(c);
	/* the owner's execute bit gives nobody else anything */
	assert_int_equal(chmod(key, 0700), 0);
	c = load(text);
	if (c == NULL)
		fail_msg("%s", err);
	conf_free(c);

	snprintf(want, sizeof(want), "%s:1: outbox.key_file: %s is readable"
	    " or writable by group or others (chmod 0600 %s)\n", path, key,
	    key);
	for (i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		assert_int_equal(chmod(key, open_modes[i]), 0);
		if ((c = load(text)) != NULL)
			fail_msg("mode %04o accepted", (unsigned)open_modes[i]);
		assert_string_equal(err, want);
	}
	unlink(key);
}

/*
 * milter.bounce_domain: a domain a return path can end in, and a key to
 * sign it with; each refusal names the setting and why.
 */
/*
 * retention.horizon_days: 0, or past the frequency window and the
 * report's attribution, reported at its line with what it must be.
 */
static void
test_retention_horizon(void **state)
{
	char want[512];
	struct conf *c;

	(void)state;
	assert_non_null(c = load("retention = { horizon_days = 0; };\n"));
	assert_int_equal(c->retention.horizon_days, 0);
	conf_free(c);
	assert_non_null(c = load("policy = { cap_window_hours = 1000; };\n"
	    "retention = { horizon_days = 42; };\n"));
	assert_int_equal(c->retention.horizon_days, 42);
	conf_free(c);
	assert_null(load("policy = { cap_window_hours = 1000; };\n"
	    "retention = {\n  horizon_days = 41;\n};\n"));
	snprintf(want, sizeof(want), "%s:3: retention.horizon_days: 41: at"
	    " least 42", path);
	assert_non_null(strstr(err, want));
	assert_null(load("report = { attribution_days = 90; };\n"
	    "retention = { horizon_days = 90; };\n"));
	assert_non_null(strstr(err, "90: at least 91"));
}

/*
 * classes: each the policy group's thresholds, overridden where its
 * group says, whatever the order in the file; only the cap and fatigue
 * may be; promotional is the policy group's.
 */
static void
test_classes(void **state)
{
	const struct conf_policy *p;
	struct conf *c;

	(void)state;
	assert_non_null(c = load("classes = { triggered = { cap_count = 0; };"
	    "\n  digest = { cap_window_hours = 168; }; };\n"
	    "policy = { cap_count = 3; fatigue_unanswered = 7; };\n"));
	assert_int_equal(c->nclasses, 2);
	p = conf_class_policy(c, "triggered");
	assert_non_null(p);
	assert_int_equal(p->cap_count, 0);
	assert_int_equal(p->fatigue_unanswered, 7);	/* the policy's */
	assert_int_equal(p->cap_window_hours, 16);
	p = conf_class_policy(c, "digest");
	assert_int_equal(p->cap_count, 3);
	assert_int_equal(p->cap_window_hours, 168);
	assert_ptr_equal(conf_class_policy(c, ""), &c->policy);
	assert_ptr_equal(conf_class_policy(c, "promotional"), &c->policy);
	assert_null(conf_class_policy(c, "nope"));
	conf_free(c);

	assert_null(load("classes = {\n  triggered = { bounce_limit = 5; };"
	    "\n  promotional = { cap_count = 1; };\n};\n"));
	assert_non_null(strstr(err, ":2: classes.triggered.bounce_limit:"
	    " unknown setting"));
	assert_non_null(strstr(err, ":3: classes.promotional: the policy"
	    " group is the promotional class's"));
	/* a class's window counts for retention as the policy's does */
	assert_null(load("classes = { weekly = { cap_window_hours = 2000; };"
	    " };\nretention = { horizon_days = 60; };\n"));
	assert_non_null(strstr(err, "60: at least 84"));
}

static void
test_bounce_domain(void **state)
{
	static const struct {
		const char	*domain;
		const char	*why;
	} bad[] = {
		{ "shop", "domain has no dot" },
		{ "news@shop.example", "a domain, not an address" },
		{ "shop..example", "empty label in domain" },
		{ "shop example", "blank or control character inside" },
		{ "shop.example>", "not a bare address" },
	};
	char key[96], text[512], want[512], longd[260];
	struct conf *c;
	size_t i;

	(void)state;
	write_mode("bounce.key", "0123456789abcdef0123456789abcdef\n", 0600,
	    key, sizeof(key));
	snprintf(text, sizeof(text), "milter = { bounce_domain ="
	    " \"Bounce.Shop.example\"; };\noutbox = { key_file = \"%s\"; };\n",
	    key);
	if ((c = load(text)) == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->milter.bounce_domain, "Bounce.Shop.example");
	conf_free(c);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "milter = { bounce_domain ="
		    " \"%s\"; };\noutbox = { key_file = \"%s\"; };\n",
		    bad[i].domain, key);
		assert_null(load(text));
		snprintf(want, sizeof(want), "%s:1: milter.bounce_domain:"
		    " '%s': %s\n", path, bad[i].domain, bad[i].why);
		assert_string_equal(err, want);
	}
	/* "bounces+" 40 characters "@" and this is past 254 bytes */
	memset(longd, 'a', 210);
	strcpy(longd + 210, ".example");
	snprintf(text, sizeof(text), "milter = { bounce_domain = \"%s\"; };\n"
	    "outbox = { key_file = \"%s\"; };\n", longd, key);
	assert_null(load(text));
	assert_non_null(strstr(err, "too long for a return path"));
	/* the longest that fits: 254 bytes in all */
	longd[254 - 49] = '\0';
	memcpy(longd + 254 - 49 - 8, ".example", 8);
	snprintf(text, sizeof(text), "milter = { bounce_domain = \"%s\"; };\n"
	    "outbox = { key_file = \"%s\"; };\n", longd, key);
	if ((c = load(text)) == NULL)
		fail_msg("%s", err);
	conf_free(c);

	/* nothing to sign it with */
	assert_null(load("milter = { bounce_domain = \"shop.example\"; };\n"));
	assert_non_null(strstr(err, "outbox.key_file: required with"
	    " outbox.reinject_url, milter.unsubscribe_url or"
	    " milter.bounce_domain"));
	/* a global control group is drawn with the key too */
	assert_null(load("policy = { global_holdout_percent = 2.5; };\n"));
	assert_non_null(strstr(err, "outbox.key_file: required with"
	    " policy.global_holdout_percent"));
	assert_null(load("policy = { global_holdout_percent = 60; };\n"));
	assert_non_null(strstr(err, "60 is out of range"));
	snprintf(text, sizeof(text), "policy = { global_holdout_percent ="
	    " 2.5; };\noutbox = { key_file = \"%s\"; };\n", key);
	if ((c = load(text)) == NULL)
		fail_msg("%s", err);
	assert_true(c->policy.global_holdout_percent == 2.5);
	conf_free(c);
	unlink(key);
}

/*
 * feedback.credentials_file: the gateways' secrets, each optional, read
 * from a file that is the owner's alone and may not @include; unknown
 * settings and empty values refused, no secret quoted back; a Twilio
 * token needs the public URL it signs.
 */
static void
test_feedback_credentials(void **state)
{
	char key[96], cred[96], text[1024], inc[160];
	struct conf *c;

	(void)state;
	write_mode("copy.key", "0123456789abcdef0123456789abcdef\n", 0600,
	    key, sizeof(key));
	write_mode("feed.cred", "twilio_auth_token = \"tw-secret\";\n"
	    "shopify_secret = \"sh-secret\";\n", 0600, cred, sizeof(cred));
	snprintf(text, sizeof(text), "milter = { unsubscribe_url ="
	    " \"https://shop.example/u/\"; };\noutbox = {\n reinject_url ="
	    " \"smtp://127.0.0.1:10026\";\n key_file = \"%s\";\n};\n"
	    "feedback = {\n public_url = \"https://shop.example\";\n"
	    " credentials_file = \"%s\";\n sms_help_text = \"Help!\";\n};\n",
	    key, cred);
	if ((c = load(text)) == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->feedback.twilio_auth_token, "tw-secret");
	assert_string_equal(c->feedback.kannel_secret, "");
	assert_string_equal(c->feedback.shopify_secret, "sh-secret");
	assert_string_equal(c->feedback.sms_help_text, "Help!");
	conf_free(c);

	/* group-readable: refused, the secret not quoted */
	assert_int_equal(chmod(cred, 0640), 0);
	assert_null(load(text));
	assert_non_null(strstr(err, "feedback: credentials_file: "));
	assert_non_null(strstr(err, "readable or writable by group or"
	    " others"));
	assert_null(strstr(err, "tw-secret"));
	assert_int_equal(chmod(cred, 0600), 0);

	/* an unknown setting, an empty value */
	write_mode("feed.cred", "twilio_auth_token = \"\";\nnope = \"x\";\n",
	    0600, cred, sizeof(cred));
	assert_null(load(text));
	assert_non_null(strstr(err, ":2: nope: unknown setting"));
	assert_non_null(strstr(err, ":1: twilio_auth_token: not a string"));

	/* @include */
	snprintf(inc, sizeof(inc), "kannel_secret = \"k\";\n@include \"%s\"\n",
	    key);
	write_mode("feed.cred", inc, 0600, cred, sizeof(cred));
	assert_null(load(text));
	assert_non_null(strstr(err, ":2: @include: not supported"));

	/* Twilio signs the public URL: without it, refused */
	write_mode("feed.cred", "twilio_auth_token = \"tw\";\n", 0600, cred,
	    sizeof(cred));
	snprintf(text, sizeof(text), "milter = { unsubscribe_url ="
	    " \"https://shop.example/u/\"; };\noutbox = {\n reinject_url ="
	    " \"smtp://127.0.0.1:10026\";\n key_file = \"%s\";\n};\n"
	    "feedback = {\n credentials_file = \"%s\";\n};\n", key, cred);
	assert_null(load(text));
	assert_non_null(strstr(err, "public_url: required with a"
	    " twilio_auth_token"));
	unlink(cred);
	unlink(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_setting),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_vip_min_follows_metric),
		cmocka_unit_test(test_syntax_and_missing),
		cmocka_unit_test(test_include_refused),
		cmocka_unit_test(test_hash_follows_content),
		cmocka_unit_test(test_shipped_file_is_the_defaults),
		cmocka_unit_test(test_milter_and_policy),
		cmocka_unit_test(test_key_file_mode),
		cmocka_unit_test(test_bounce_domain),
		cmocka_unit_test(test_retention_horizon),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_feedback_credentials),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
