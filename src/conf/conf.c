/*
 * conf.c - segmilter.conf: one table per group of settings.
 *
 * libconfig parses the syntax; these tables give every setting its type
 * and bounds.  Walking the file's settings (not the table's) is what
 * rejects unknown keys: a setting the table does not name is an error,
 * never silently ignored, since a misspelt threshold would otherwise
 * leave a default in force that nobody asked for.
 *
 * Loading starts from conf_defaults(), so every pointer in a struct conf
 * is owned by it whether it came from the file or from the defaults.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/evp.h>

#include "bounce.h"
#include "buf.h"
#include "conf.h"
#include "conf_int.h"
#include "digest.h"
#include "parse.h"
#include "str.h"
#include "xalloc.h"

enum conf_type {
	CT_GROUP,	/* a nested table */
	CT_INT,		/* int64_t within [min, max] */
	CT_FLOAT,	/* double within (fmin, fmax] */
	CT_BOOL,	/* int */
	CT_PATH,	/* char *, not empty */
	CT_CURRENCY,	/* char[4], ISO 4217 */
	CT_STRLIST,	/* char ** and its count */
	CT_PRIORITY,	/* every lifecycle once */
	CT_VIP_METRIC,
	CT_VIP_MIN,	/* money or a count, by the metric: read last */
	CT_DAYS_MAP,	/* { category = days; ... } */
	CT_SKU_MAP,	/* ( { prefix; category; }, ... ) */
	CT_WORD_MAP,	/* ( { keyword; category; }, ... ) */
	CT_RATES,	/* { EUR = 1.08; ... } */
	CT_STRING,	/* char *, may be empty */
	CT_SOCKET,	/* char *: unix:PATH, local:PATH or inet:PORT@HOST */
	CT_ON_ERROR,	/* "tempfail" or "accept" */
	CT_UNKNOWN,	/* "tempfail" or "empty" */
	CT_DKIM,	/* "remove" or "keep" */
	CT_MODE,	/* int64_t from an octal string: "0660" */
	CT_SMS_DRIVER,	/* "", "twilio", "kannel" or "webhook" */
	CT_WINDOW,	/* struct conf_window: "08:00-21:00" */
	CT_WINDOWS,	/* ( { where; window; }, ... ) */
	CT_CLASSES,	/* { name = { policy overrides }; ... }, read
			   once the policy group is (load_classes) */
	CT_LISTEN,	/* char *: unix:/PATH, IPV4:PORT, [IPV6]:PORT */
	CT_URL		/* char *: "", or http(s)://... */
};

struct conf_setting {
	const char		*name;
	enum conf_type		 type;
	size_t			 off;	/* into struct conf */
	size_t			 noff;	/* its count, for lists */
	int64_t			 min, max;
	double			 fmin, fmax;
	const struct conf_setting *group;
};

#define SEG(f)	offsetof(struct conf, seg.f)
#define END	{ NULL, 0, 0, 0, 0, 0, 0, 0, NULL }

static const struct conf_setting vip_table[] = {
	{ "metric", CT_VIP_METRIC, SEG(vip.metric), 0, 0, 0, 0, 0, NULL },
	{ "top_percent", CT_FLOAT, SEG(vip.top_percent), 0, 0, 0, 0.0, 100.0,
	    NULL },
	{ "min_value", CT_VIP_MIN, SEG(vip.min_value), 0, 0, 0, 0, 0, NULL },
	{ "min_orders", CT_INT, SEG(vip.min_orders), 0, 1, 1000000, 0, 0,
	    NULL },
	END
};

static const struct conf_setting lapsed_table[] = {
	{ "default_days", CT_INT, SEG(lapsed.default_days), 0, 1, 3650, 0, 0,
	    NULL },
	{ "categories", CT_DAYS_MAP, SEG(lapsed.category_days),
	    SEG(lapsed.ncategory_days), 1, 3650, 0, 0, NULL },
	{ "adapt_to_interval", CT_BOOL, SEG(lapsed.adapt_to_interval), 0, 0,
	    0, 0, 0, NULL },
	{ "interval_factor", CT_FLOAT, SEG(lapsed.interval_factor), 0, 0, 0,
	    0.999, 10.0, NULL },
	{ "adapt_min_orders", CT_INT, SEG(lapsed.adapt_min_orders), 0, 2,
	    1000, 0, 0, NULL },
	{ "due_days", CT_INT, SEG(lapsed.due_days), 0, 0, 365, 0, 0, NULL },
	END
};

static const struct conf_setting cart_table[] = {
	{ "window_hours", CT_INT, SEG(cart.window_hours), 0, 1, 8760, 0, 0,
	    NULL },
	{ "min_age_minutes", CT_INT, SEG(cart.min_age_minutes), 0, 0, 10080,
	    0, 0, NULL },
	END
};

static const struct conf_setting interest_table[] = {
	{ "window_days", CT_INT, SEG(interest.window_days), 0, 1, 3650, 0, 0,
	    NULL },
	END
};

static const struct conf_setting b2b_table[] = {
	{ "account_types", CT_STRLIST, SEG(b2b.account_types),
	    SEG(b2b.naccount_types), 0, 0, 0, 0, NULL },
	{ "tags", CT_STRLIST, SEG(b2b.tags), SEG(b2b.ntags), 0, 0, 0, 0,
	    NULL },
	{ "company_domains", CT_STRLIST, SEG(b2b.company_domains),
	    SEG(b2b.ncompany_domains), 0, 0, 0, 0, NULL },
	{ "tax_exempt", CT_BOOL, SEG(b2b.tax_exempt), 0, 0, 0, 0, 0, NULL },
	{ "bulk_line_quantity", CT_INT, SEG(b2b.bulk_line_quantity), 0, 0,
	    1000000, 0, 0, NULL },
	{ "bulk_orders_min", CT_INT, SEG(b2b.bulk_orders_min), 0, 1, 1000000,
	    0, 0, NULL },
	END
};

static const struct conf_setting categories_table[] = {
	{ "sku_prefixes", CT_SKU_MAP, SEG(sku_prefixes), SEG(nsku_prefixes),
	    0, 0, 0, 0, NULL },
	{ "name_keywords", CT_WORD_MAP, SEG(name_keywords),
	    SEG(nname_keywords), 0, 0, 0, 0, NULL },
	END
};

static const struct conf_setting segments_table[] = {
	{ "priority", CT_PRIORITY, SEG(priority), 0, 0, 0, 0, 0, NULL },
	{ "vip", CT_GROUP, 0, 0, 0, 0, 0, 0, vip_table },
	{ "lapsed", CT_GROUP, 0, 0, 0, 0, 0, 0, lapsed_table },
	{ "cart", CT_GROUP, 0, 0, 0, 0, 0, 0, cart_table },
	{ "interest", CT_GROUP, 0, 0, 0, 0, 0, 0, interest_table },
	{ "b2b", CT_GROUP, 0, 0, 0, 0, 0, 0, b2b_table },
	{ "categories", CT_GROUP, 0, 0, 0, 0, 0, 0, categories_table },
	{ "base_currency", CT_CURRENCY, SEG(base_currency), 0, 0, 0, 0, 0,
	    NULL },
	{ "currency_rates", CT_RATES, SEG(rates), SEG(nrates), 0, 0, 0, 0,
	    NULL },
	END
};

#define MIL(f)	offsetof(struct conf, milter.f)
#define POL(f)	offsetof(struct conf, policy.f)

static const struct conf_setting milter_table[] = {
	{ "socket", CT_SOCKET, MIL(socket), 0, 0, 0, 0, 0, NULL },
	{ "socket_mode", CT_MODE, MIL(socket_mode), 0, 0, 0777, 0, 0, NULL },
	{ "user", CT_STRING, MIL(user), 0, 0, 0, 0, 0, NULL },
	{ "campaign_header", CT_PATH, MIL(campaign_header), 0, 0, 0, 0, 0,
	    NULL },
	{ "campaigns", CT_PATH, MIL(campaigns_dir), 0, 0, 0, 0, 0, NULL },
	{ "spool_dir", CT_PATH, MIL(spool_dir), 0, 0, 0, 0, 0, NULL },
	{ "spool_memory_kb", CT_INT, MIL(spool_memory_kb), 0, 16, 1048576, 0,
	    0, NULL },
	{ "timeout", CT_INT, MIL(timeout_s), 0, 10, 86400, 0, 0, NULL },
	{ "on_store_error", CT_ON_ERROR, MIL(on_store_error), 0, 0, 0, 0, 0,
	    NULL },
	{ "unknown_placeholder", CT_UNKNOWN, MIL(unknown_empty), 0, 0, 0, 0,
	    0, NULL },
	{ "unsubscribe_url", CT_STRING, MIL(unsubscribe_url), 0, 0, 0, 0, 0,
	    NULL },
	{ "bounce_domain", CT_STRING, MIL(bounce_domain), 0, 0, 0, 0, 0,
	    NULL },
	{ "dkim_signature", CT_DKIM, MIL(dkim_signature), 0, 0, 0, 0, 0,
	    NULL },
	END
};

static const struct conf_setting policy_table[] = {
	{ "fatigue_unanswered", CT_INT, POL(fatigue_unanswered), 0, 0, 10000,
	    0, 0, NULL },
	{ "fatigue_cadence_days", CT_INT, POL(fatigue_cadence_days), 0, 1,
	    3650, 0, 0, NULL },
	{ "cap_count", CT_INT, POL(cap_count), 0, 0, 10000, 0, 0, NULL },
	{ "cap_window_hours", CT_INT, POL(cap_window_hours), 0, 1, 8760, 0, 0,
	    NULL },
	{ "bounce_limit", CT_INT, POL(bounce_limit), 0, 1, 1000, 0, 0, NULL },
	/* at most the soft bounces the store returns (STORE_SOFT_BOUNCES_MAX) */
	{ "soft_bounce_limit", CT_INT, POL(soft_bounce_limit), 0, 0, 8, 0, 0,
	    NULL },
	{ "soft_bounce_days", CT_INT, POL(soft_bounce_days), 0, 1, 365, 0, 0,
	    NULL },
	{ "global_holdout_percent", CT_FLOAT, POL(global_holdout_percent), 0,
	    0, 0, 0.0, 50.0, NULL },
	END
};

/* What a campaign class may set: the frequency cap and fatigue. */
static const struct conf_setting class_table[] = {
	{ "fatigue_unanswered", CT_INT, POL(fatigue_unanswered), 0, 0, 10000,
	    0, 0, NULL },
	{ "fatigue_cadence_days", CT_INT, POL(fatigue_cadence_days), 0, 1,
	    3650, 0, 0, NULL },
	{ "cap_count", CT_INT, POL(cap_count), 0, 0, 10000, 0, 0, NULL },
	{ "cap_window_hours", CT_INT, POL(cap_window_hours), 0, 1, 8760, 0, 0,
	    NULL },
	{ "priority", CT_INT, POL(priority), 0, 0, 100, 0, 0, NULL },
	END
};

#define REP(f)	offsetof(struct conf, report.f)

static const struct conf_setting report_table[] = {
	{ "attribution_days", CT_INT, REP(attribution_days), 0, 1, 90, 0, 0,
	    NULL },
	{ "sms_attribution_days", CT_INT, REP(sms_attribution_days), 0, 1, 30,
	    0, 0, NULL },
	{ "min_effect_points", CT_FLOAT, REP(min_effect_points), 0, 0, 0, 0.0,
	    50.0, NULL },
	END
};

static const struct conf_setting retention_table[] = {
	{ "horizon_days", CT_INT, offsetof(struct conf,
	    retention.horizon_days), 0, 0, 36500, 0, 0, NULL },
	END
};

#define OUT(f)	offsetof(struct conf, outbox.f)

static const struct conf_setting outbox_table[] = {
	{ "reinject_url", CT_STRING, OUT(reinject_url), 0, 0, 0, 0, 0, NULL },
	{ "key_file", CT_STRING, OUT(key_file), 0, 0, 0, 0, 0, NULL },
	{ "workers", CT_INT, OUT(workers), 0, 1, 64, 0, 0, NULL },
	{ "retry_base_s", CT_INT, OUT(retry_base_s), 0, 1, 86400, 0, 0,
	    NULL },
	{ "retry_max_s", CT_INT, OUT(retry_max_s), 0, 1, 604800, 0, 0, NULL },
	{ "max_age_hours", CT_INT, OUT(max_age_hours), 0, 1, 8760, 0, 0,
	    NULL },
	{ "split_language", CT_BOOL, OUT(split_language), 0, 0, 0, 0, 0,
	    NULL },
	{ "split_currency", CT_BOOL, OUT(split_currency), 0, 0, 0, 0, 0,
	    NULL },
	{ "relay_name", CT_PATH, OUT(relay_name), 0, 0, 0, 0, 0, NULL },
	END
};

#define SMS(f)	offsetof(struct conf, sms.f)

static const struct conf_setting sms_table[] = {
	{ "driver", CT_SMS_DRIVER, SMS(driver), 0, 0, 0, 0, 0, NULL },
	{ "url", CT_STRING, SMS(url), 0, 0, 0, 0, 0, NULL },
	{ "credentials_file", CT_STRING, SMS(credentials_file), 0, 0, 0, 0, 0,
	    NULL },
	{ "from", CT_STRING, SMS(from), 0, 0, 0, 0, 0, NULL },
	{ "messaging_service_sid", CT_STRING, SMS(messaging_service_sid), 0,
	    0, 0, 0, 0, NULL },
	{ "dlr_url", CT_URL, SMS(dlr_url), 0, 0, 0, 0, 0, NULL },
	{ "status_callback", CT_STRING, SMS(status_callback), 0, 0, 0, 0, 0,
	    NULL },
	{ "ca_file", CT_STRING, SMS(ca_file), 0, 0, 0, 0, 0, NULL },
	/* well under the outbox workers' 600 s lease on a job */
	{ "connect_timeout", CT_INT, SMS(connect_timeout_s), 0, 1, 60, 0, 0,
	    NULL },
	{ "timeout", CT_INT, SMS(timeout_s), 0, 1, 300, 0, 0, NULL },
	{ "max_parts", CT_INT, SMS(max_parts), 0, 1, 10, 0, 0, NULL },
	{ "cap_day", CT_INT, SMS(cap_day), 0, 0, 100, 0, 0, NULL },
	{ "cap_month", CT_INT, SMS(cap_month), 0, 0, 1000, 0, 0, NULL },
	{ "max_age_hours", CT_INT, SMS(max_age_hours), 0, 1, 720, 0, 0,
	    NULL },
	{ "zoneinfo", CT_PATH, SMS(zoneinfo), 0, 0, 0, 0, 0, NULL },
	{ "window", CT_WINDOW, SMS(window), 0, 0, 0, 0, 0, NULL },
	{ "windows", CT_WINDOWS, SMS(windows), SMS(nwindows), 0, 0, 0, 0,
	    NULL },
	END
};

#define FB(f)	offsetof(struct conf, feedback.f)

static const struct conf_setting feedback_table[] = {
	{ "listen", CT_LISTEN, FB(listen), 0, 0, 0, 0, 0, NULL },
	{ "public_url", CT_URL, FB(public_url), 0, 0, 0, 0, 0, NULL },
	{ "page_template", CT_PATH, FB(page_template), 0, 0, 0, 0, 0, NULL },
	{ "max_body_kb", CT_INT, FB(max_body_kb), 0, 1, 1024, 0, 0, NULL },
	{ "fewer_days", CT_INT, FB(fewer_days), 0, 1, 365, 0, 0, NULL },
	{ "threads", CT_INT, FB(threads), 0, 1, 64, 0, 0, NULL },
	{ "credentials_file", CT_STRING, FB(credentials_file), 0, 0, 0, 0, 0,
	    NULL },
	{ "sms_help_text", CT_STRING, FB(sms_help_text), 0, 0, 0, 0, 0,
	    NULL },
	{ "lmtp_listen", CT_STRING, FB(lmtp_listen), 0, 0, 0, 0, 0, NULL },
	{ "quarantine_dir", CT_PATH, FB(quarantine_dir), 0, 0, 0, 0, 0,
	    NULL },
	END
};

static const struct conf_setting audit_table[] = {
	{ "archive_dir", CT_STRING, offsetof(struct conf, audit.archive_dir),
	    0, 0, 0, 0, 0, NULL },
	END
};

static const struct conf_setting top_table[] = {
	{ "store", CT_PATH, offsetof(struct conf, store_path), 0, 0, 0, 0, 0,
	    NULL },
	{ "store_timeout_ms", CT_INT, offsetof(struct conf, store_timeout_ms),
	    0, 0, 600000, 0, 0, NULL },
	{ "milter", CT_GROUP, 0, 0, 0, 0, 0, 0, milter_table },
	{ "policy", CT_GROUP, 0, 0, 0, 0, 0, 0, policy_table },
	{ "outbox", CT_GROUP, 0, 0, 0, 0, 0, 0, outbox_table },
	{ "sms", CT_GROUP, 0, 0, 0, 0, 0, 0, sms_table },
	{ "feedback", CT_GROUP, 0, 0, 0, 0, 0, 0, feedback_table },
	{ "report", CT_GROUP, 0, 0, 0, 0, 0, 0, report_table },
	{ "retention", CT_GROUP, 0, 0, 0, 0, 0, 0, retention_table },
	{ "classes", CT_CLASSES, 0, 0, 0, 0, 0, 0, NULL },
	{ "audit", CT_GROUP, 0, 0, 0, 0, 0, 0, audit_table },
	{ "segments", CT_GROUP, 0, 0, 0, 0, 0, 0, segments_table },
	END
};

static const char *const lifecycle_names[LC_COUNT] = {
	[LC_B2B] = "b2b",
	[LC_VIP] = "vip",
	[LC_LAPSED] = "lapsed",
	[LC_REPEAT] = "repeat",
	[LC_FIRST_TIME] = "first_time",
	[LC_SUBSCRIBER] = "subscriber",
};

static const char *const vip_metric_names[] = {
	[VIP_NET_SPEND] = "net_spend",
	[VIP_ORDER_COUNT] = "order_count",
	[VIP_MARGIN] = "margin",
};

/* A load in progress: the errors so far, and min_value for the end. */
struct conf_load {
	struct conf		*c;
	struct buf		 errs;
	int			 nerrs;
	config_setting_t	*vip_min;
	char			 vip_min_path[256];
	config_setting_t	*classes;
};

static void
load_error(struct conf_load *ld, const config_setting_t *s, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
load_error(struct conf_load *ld, const config_setting_t *s, const char *path,
    const char *fmt, ...)
{
	const char *file = config_setting_source_file(s);
	va_list ap;

	buf_printf(&ld->errs, "%s:%u: %s: ", file ? file : ld->c->path,
	    config_setting_source_line(s), path);
	va_start(ap, fmt);
	buf_vprintf(&ld->errs, fmt, ap);
	va_end(ap);
	buf_putc(&ld->errs, '\n');
	ld->nerrs++;
}

/* OUT = A SEP B, cut to LEN: setting paths for messages. */
static void
path_join(char *out, size_t len, const char *a, const char *sep,
    const char *b)
{
	const char *parts[3] = { a, sep, b };
	size_t n = 0, i;
	const char *p;

	for (i = 0; i < 3; i++)
		for (p = parts[i]; *p != '\0' && n + 1 < len; p++)
			out[n++] = *p;
	out[n] = '\0';
}

static void *
field(struct conf *c, size_t off)
{
	return (char *)c + off;
}

void
conf_free_strlist(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
free_kv_str(struct conf_kv_str *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

static int
get_int(const config_setting_t *s, int64_t *v)
{
	int t = config_setting_type(s);

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return -1;
	*v = config_setting_get_int64(s);
	return 0;
}

/* A category name as imports store it; "" when nothing is left. */
static int
load_category(struct conf_load *ld, const config_setting_t *s,
    const char *path, const char *in, char *out)
{
	if (parse_slug(in, out, CONF_NAME_MAX) == -1) {
		load_error(ld, s, path, "'%s' is not a category name", in);
		return -1;
	}
	return 0;
}

static void
load_strlist(struct conf_load *ld, const config_setting_t *s,
    const char *path, const struct conf_setting *t)
{
	char ***list = field(ld->c, t->off), **v;
	size_t *n = field(ld->c, t->noff), i, len;
	const char *e;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		load_error(ld, s, path, "expected a list of strings");
		return;
	}
	len = (size_t)config_setting_length(s);
	v = xcalloc(len + 1, sizeof(*v));
	for (i = 0; i < len; i++) {
		e = config_setting_get_string_elem(s, (int)i);
		if (e == NULL || *e == '\0') {
			load_error(ld, s, path, "element %zu is not a"
			    " non-empty string", i + 1);
			conf_free_strlist(v, i);
			return;
		}
		v[i] = xstrdup(e);
	}
	conf_free_strlist(*list, *n);
	*list = v;
	*n = len;
}

static void
load_priority(struct conf_load *ld, const config_setting_t *s,
    const char *path)
{
	enum conf_lifecycle p[LC_COUNT], lc;
	unsigned seen = 0;
	const char *e;
	int i, len;

	len = config_setting_is_array(s) || config_setting_is_list(s) ?
	    config_setting_length(s) : -1;
	if (len != LC_COUNT) {
		load_error(ld, s, path, "expected all six segments, highest"
		    " first: b2b, vip, lapsed, repeat, first_time,"
		    " subscriber in some order");
		return;
	}
	for (i = 0; i < len; i++) {
		e = config_setting_get_string_elem(s, i);
		if (e == NULL || conf_lifecycle_parse(e, &lc) == -1) {
			load_error(ld, s, path, "element %d: '%s' is not a"
			    " lifecycle segment", i + 1, e ? e : "?");
			return;
		}
		if (seen & (1u << lc)) {
			load_error(ld, s, path, "'%s' is listed twice", e);
			return;
		}
		seen |= 1u << lc;
		p[i] = lc;
	}
	memcpy(ld->c->seg.priority, p, sizeof(p));
}

static void
load_days_map(struct conf_load *ld, const config_setting_t *s,
    const char *path, const struct conf_setting *t)
{
	struct conf_kv_int *v;
	config_setting_t *e;
	char epath[256];
	int64_t days = 0;
	int i, len, bad = 0;

	if (!config_setting_is_group(s)) {
		load_error(ld, s, path, "expected a group: { coffee = 60; }");
		return;
	}
	len = config_setting_length(s);
	v = xcalloc((size_t)len + 1, sizeof(*v));
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		path_join(epath, sizeof(epath), path, ".",
		    config_setting_name(e));
		if (load_category(ld, e, epath, config_setting_name(e),
		    v[i].name) == -1) {
			bad = 1;
			continue;
		}
		if (get_int(e, &days) == -1) {
			load_error(ld, e, epath, "expected an integer");
			bad = 1;
		} else if (days < t->min || days > t->max) {
			load_error(ld, e, epath, "%lld is out of range"
			    " %lld..%lld", (long long)days, (long long)t->min,
			    (long long)t->max);
			bad = 1;
		}
		v[i].value = days;
	}
	if (bad) {
		free(v);
		return;
	}
	free(ld->c->seg.lapsed.category_days);
	ld->c->seg.lapsed.category_days = v;
	ld->c->seg.lapsed.ncategory_days = (size_t)len;
}

/* ( { KEYNAME = "..."; category = "..."; }, ... ) */
static void
load_kv_map(struct conf_load *ld, const config_setting_t *s,
    const char *path, const struct conf_setting *t, const char *keyname)
{
	struct conf_kv_str **list = field(ld->c, t->off), *v;
	size_t *n = field(ld->c, t->noff);
	config_setting_t *e, *m;
	const char *key, *cat;
	char epath[256];
	int i, j, len, bad = 0;

	if (!config_setting_is_list(s)) {
		load_error(ld, s, path, "expected a list: ( { %s = \"...\";"
		    " category = \"...\"; } )", keyname);
		return;
	}
	len = config_setting_length(s);
	v = xcalloc((size_t)len + 1, sizeof(*v));
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		snprintf(epath, sizeof(epath), "%s[%d]", path, i + 1);
		if (!config_setting_is_group(e)) {
			load_error(ld, e, epath, "expected { %s = \"...\";"
			    " category = \"...\"; }", keyname);
			bad = 1;
			continue;
		}
		for (j = 0; j < config_setting_length(e); j++) {
			m = config_setting_get_elem(e, (unsigned)j);
			if (strcmp(config_setting_name(m), keyname) != 0 &&
			    strcmp(config_setting_name(m), "category") != 0) {
				load_error(ld, m, epath, "%s: unknown setting",
				    config_setting_name(m));
				bad = 1;
			}
		}
		key = NULL;
		cat = NULL;
		if (!config_setting_lookup_string(e, keyname, &key) ||
		    *key == '\0' ||
		    !config_setting_lookup_string(e, "category", &cat)) {
			load_error(ld, e, epath, "needs a non-empty %s and a"
			    " category, both strings", keyname);
			bad = 1;
			continue;
		}
		if (load_category(ld, e, epath, cat, v[i].value) == -1) {
			bad = 1;
			continue;
		}
		v[i].key = xstrdup(key);
		if (strcmp(keyname, "keyword") == 0) {
			char *p;

			for (p = v[i].key; *p != '\0'; p++)
				*p = (char)tolower((unsigned char)*p);
		}
	}
	if (bad) {
		free_kv_str(v, (size_t)len);
		return;
	}
	free_kv_str(*list, *n);
	*list = v;
	*n = (size_t)len;
}

static int
is_currency(const char *s)
{
	return s != NULL && strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' &&
	    s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z';
}

static void
load_rates(struct conf_load *ld, const config_setting_t *s, const char *path)
{
	struct conf_rate *v;
	config_setting_t *e;
	char epath[256];
	int i, len, bad = 0;

	if (!config_setting_is_group(s)) {
		load_error(ld, s, path, "expected a group: { EUR = 1.08; }");
		return;
	}
	len = config_setting_length(s);
	v = xcalloc((size_t)len + 1, sizeof(*v));
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		path_join(epath, sizeof(epath), path, ".",
		    config_setting_name(e));
		if (config_setting_type(e) == CONFIG_TYPE_FLOAT)
			v[i].rate = config_setting_get_float(e);
		else if (config_setting_is_number(e))
			v[i].rate = (double)config_setting_get_int64(e);
		if (!is_currency(config_setting_name(e))) {
			load_error(ld, e, epath, "not an ISO 4217 currency"
			    " code");
			bad = 1;
		} else if (!(v[i].rate > 0.0)) {
			load_error(ld, e, epath, "expected a rate above 0");
			bad = 1;
		}
		snprintf(v[i].currency, sizeof(v[i].currency), "%s",
		    config_setting_name(e));
	}
	if (bad) {
		free(v);
		return;
	}
	free(ld->c->seg.rates);
	ld->c->seg.rates = v;
	ld->c->seg.nrates = (size_t)len;
}

int
conf_socket_valid(const char *s)
{
	const char *at;
	char *end;
	long port;

	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0)
		return strchr(s, '/') != NULL;
	if (strncmp(s, "inet:", 5) != 0 && strncmp(s, "inet6:", 6) != 0)
		return 0;
	s = strchr(s, ':') + 1;
	port = strtol(s, &end, 10);
	if (end == s || port < 1 || port > 65535)
		return 0;
	at = end;
	return *at == '\0' || (*at == '@' && at[1] != '\0');
}

/* Sets *OUT to the index of STR in NAMES; -1 when it is not there. */
static int
load_choice(struct conf_load *ld, const config_setting_t *s, const char *path,
    const char *const *names, int *out)
{
	const char *str = config_setting_type(s) == CONFIG_TYPE_STRING ?
	    config_setting_get_string(s) : "";
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(str, names[i]) == 0) {
			*out = i;
			return 0;
		}
	load_error(ld, s, path, "expected \"%s\" or \"%s\"", names[0],
	    names[1]);
	return -1;
}

/* ( { where = "US-FL"; window = "08:00-20:00"; }, ... ) */
static void
load_windows(struct conf_load *ld, const config_setting_t *s,
    const char *path)
{
	struct conf_sms *sms = &ld->c->sms;
	struct conf_window_rule *r;
	const config_setting_t *e;
	const char *where, *win;
	char epath[300];
	int i, n = config_setting_is_list(s) ? config_setting_length(s) : -1;

	if (n < 0) {
		load_error(ld, s, path, "expected a list ( { where; window; },"
		    " ... )");
		return;
	}
	free(sms->windows);
	sms->windows = xcalloc((size_t)n + 1, sizeof(*sms->windows));
	sms->nwindows = 0;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		snprintf(epath, sizeof(epath), "%s.[%d]", path, i);
		r = &sms->windows[sms->nwindows];
		if (!config_setting_is_group(e) || config_setting_length(e) !=
		    2 || config_setting_lookup_string(e, "where", &where) !=
		    CONFIG_TRUE || config_setting_lookup_string(e, "window",
		    &win) != CONFIG_TRUE) {
			load_error(ld, e, epath, "expected { where = \"US-FL\";"
			    " window = \"08:00-20:00\"; }");
			continue;
		}
		if (!conf_where_valid(where)) {
			load_error(ld, e, epath, "where '%s' is not a country"
			    " (\"FR\") or a country and region (\"US-FL\")",
			    where);
			continue;
		}
		if (conf_window_parse(win, &r->w) == -1) {
			load_error(ld, e, epath, "window '%s' is not"
			    " HH:MM-HH:MM, start before end", win);
			continue;
		}
		str_copy(r->where, sizeof(r->where), where);
		sms->nwindows++;
	}
}

static const char *const on_error_names[] = { "tempfail", "accept", NULL };
static const char *const unknown_names[] = { "tempfail", "empty", NULL };
static const char *const dkim_names[] = { "remove", "keep", NULL };

static void load_group(struct conf_load *, const config_setting_t *,
    const char *, const struct conf_setting *);

static void
load_one(struct conf_load *ld, config_setting_t *s, const char *path,
    const struct conf_setting *t)
{
	struct conf_listen listen;
	const char *str;
	int64_t iv;
	double dv;
	char *end;
	int choice;
	int type = config_setting_type(s);

	switch (t->type) {
	case CT_GROUP:
		if (!config_setting_is_group(s))
			load_error(ld, s, path, "expected a group { ... }");
		else
			load_group(ld, s, path, t->group);
		break;
	case CT_INT:
		if (get_int(s, &iv) == -1)
			load_error(ld, s, path, "expected an integer");
		else if (iv < t->min || iv > t->max)
			load_error(ld, s, path, "%lld is out of range"
			    " %lld..%lld", (long long)iv, (long long)t->min,
			    (long long)t->max);
		else
			*(int64_t *)field(ld->c, t->off) = iv;
		break;
	case CT_FLOAT:
		if (type != CONFIG_TYPE_FLOAT && type != CONFIG_TYPE_INT &&
		    type != CONFIG_TYPE_INT64) {
			load_error(ld, s, path, "expected a number");
			break;
		}
		dv = type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s) :
		    (double)config_setting_get_int64(s);
		if (dv <= t->fmin || dv > t->fmax)
			load_error(ld, s, path, "%g is out of range %g..%g",
			    dv, t->fmin, t->fmax);
		else
			*(double *)field(ld->c, t->off) = dv;
		break;
	case CT_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			load_error(ld, s, path, "expected true or false");
		else
			*(int *)field(ld->c, t->off) = config_setting_get_bool(s);
		break;
	case CT_PATH:
		if (type != CONFIG_TYPE_STRING ||
		    *(str = config_setting_get_string(s)) == '\0') {
			load_error(ld, s, path, "expected a non-empty string");
			break;
		}
		free(*(char **)field(ld->c, t->off));
		*(char **)field(ld->c, t->off) = xstrdup(str);
		break;
	case CT_CURRENCY:
		str = type == CONFIG_TYPE_STRING ?
		    config_setting_get_string(s) : NULL;
		if (!is_currency(str))
			load_error(ld, s, path, "expected an ISO 4217 code"
			    " such as \"USD\"");
		else
			memcpy(field(ld->c, t->off), str, 4);
		break;
	case CT_STRLIST:
		load_strlist(ld, s, path, t);
		break;
	case CT_PRIORITY:
		load_priority(ld, s, path);
		break;
	case CT_VIP_METRIC:
		str = type == CONFIG_TYPE_STRING ?
		    config_setting_get_string(s) : "";
		for (iv = 0; iv < 3; iv++)
			if (strcmp(str, vip_metric_names[iv]) == 0)
				break;
		if (iv == 3)
			load_error(ld, s, path, "expected \"net_spend\","
			    " \"order_count\" or \"margin\"");
		else
			ld->c->seg.vip.metric = (enum conf_vip_metric)iv;
		break;
	case CT_VIP_MIN:
		ld->vip_min = s;	/* its unit depends on the metric */
		path_join(ld->vip_min_path, sizeof(ld->vip_min_path), path,
		    "", "");
		break;
	case CT_DAYS_MAP:
		load_days_map(ld, s, path, t);
		break;
	case CT_SKU_MAP:
		load_kv_map(ld, s, path, t, "prefix");
		break;
	case CT_WORD_MAP:
		load_kv_map(ld, s, path, t, "keyword");
		break;
	case CT_RATES:
		load_rates(ld, s, path);
		break;
	case CT_STRING:
	case CT_SOCKET:
	case CT_LISTEN:
	case CT_URL:
		if (type != CONFIG_TYPE_STRING) {
			load_error(ld, s, path, "expected a string");
			break;
		}
		str = config_setting_get_string(s);
		if (t->type == CT_SOCKET && !conf_socket_valid(str)) {
			load_error(ld, s, path, "'%s' is not unix:/PATH or"
			    " inet:PORT@HOST", str);
			break;
		}
		if (t->type == CT_LISTEN && conf_listen_parse(str,
		    &listen) == -1) {
			load_error(ld, s, path, "'%s' is not unix:/PATH,"
			    " IPV4:PORT or [IPV6]:PORT", str);
			break;
		}
		if (t->type == CT_URL && *str != '\0' &&
		    strncmp(str, "https://", 8) != 0 &&
		    strncmp(str, "http://", 7) != 0) {
			load_error(ld, s, path, "'%s' is not an http:// or"
			    " https:// URL", str);
			break;
		}
		free(*(char **)field(ld->c, t->off));
		*(char **)field(ld->c, t->off) = xstrdup(str);
		break;
	case CT_ON_ERROR:
		if (load_choice(ld, s, path, on_error_names, &choice) == 0)
			ld->c->milter.on_store_error =
			    (enum conf_on_error)choice;
		break;
	case CT_MODE:
		str = type == CONFIG_TYPE_STRING ?
		    config_setting_get_string(s) : "";
		errno = 0;
		iv = strtoll(str, &end, 8);
		if (*str == '\0' || *end != '\0' || errno != 0 ||
		    iv < t->min || iv > t->max)
			load_error(ld, s, path, "expected an octal mode as a"
			    " string, such as \"0660\"");
		else
			*(int64_t *)field(ld->c, t->off) = iv;
		break;
	case CT_UNKNOWN:
		load_choice(ld, s, path, unknown_names,
		    &ld->c->milter.unknown_empty);
		break;
	case CT_DKIM:
		if (load_choice(ld, s, path, dkim_names, &choice) == 0)
			ld->c->milter.dkim_signature = (enum conf_dkim)choice;
		break;
	case CT_SMS_DRIVER:
		str = type == CONFIG_TYPE_STRING ?
		    config_setting_get_string(s) : "?";
		for (iv = SMS_OFF; iv <= SMS_WEBHOOK; iv++)
			if (strcmp(str, conf_sms_driver_name(
			    (enum conf_sms_driver)iv)) == 0)
				break;
		if (iv > SMS_WEBHOOK)
			load_error(ld, s, path, "expected \"twilio\","
			    " \"kannel\", \"webhook\" or \"\" (off)");
		else
			ld->c->sms.driver = (enum conf_sms_driver)iv;
		break;
	case CT_WINDOW:
		if (type != CONFIG_TYPE_STRING || conf_window_parse(
		    config_setting_get_string(s), field(ld->c, t->off)) == -1)
			load_error(ld, s, path, "expected hours as a string,"
			    " such as \"08:00-21:00\"");
		break;
	case CT_WINDOWS:
		load_windows(ld, s, path);
		break;
	case CT_CLASSES:
		if (!config_setting_is_group(s))
			load_error(ld, s, path, "expected a group of classes"
			    " { triggered = { cap_count = 0; }; }");
		else
			ld->classes = s;
		break;
	}
}

static void
load_group(struct conf_load *ld, const config_setting_t *g, const char *path,
    const struct conf_setting *table)
{
	const struct conf_setting *t;
	config_setting_t *s;
	char spath[256];
	int i;

	for (i = 0; i < config_setting_length(g); i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		path_join(spath, sizeof(spath), path, *path ? "." : "",
		    config_setting_name(s));
		for (t = table; t->name != NULL; t++)
			if (strcmp(t->name, config_setting_name(s)) == 0)
				break;
		if (t->name == NULL)
			load_error(ld, s, spath, "unknown setting");
		else
			load_one(ld, s, spath, t);
	}
}

/* min_value: money in the base currency, or a number of orders. */
static void
load_vip_min(struct conf_load *ld)
{
	config_setting_t *s = ld->vip_min;
	const char *why;
	int64_t v;

	if (s == NULL)
		return;
	if (ld->c->seg.vip.metric == VIP_ORDER_COUNT) {
		if (get_int(s, &v) == -1 || v < 0)
			load_error(ld, s, ld->vip_min_path, "expected a number"
			    " of orders (metric is order_count)");
		else
			ld->c->seg.vip.min_value = v;
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    parse_money(config_setting_get_string(s), &v, &why) == -1 ||
	    v < 0)
		load_error(ld, s, ld->vip_min_path, "expected an amount as a"
		    " string, such as \"250.00\"");
	else
		ld->c->seg.vip.min_value = v;
}

FILE *
conf_open_secret(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* the file opened, not the path again: it may change in between */
	if (fstat(fileno(fp), &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		return NULL;
	}
	/* a directory opens, and libconfig's reader exits on it */
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		fclose(fp);
		return NULL;
	}
	if (sb.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "%s is readable or writable by group or"
		    " others (chmod 0600 %s)", path, path);
		fclose(fp);
		return NULL;
	}
	return fp;
}

/* conf_has_include on the open FP, which is left at its start. */
static int
conf_has_include_fp(FILE *fp, int *line)
{
	char *text = NULL, *p;
	size_t cap = 0;
	int found = 0;

	*line = 0;
	/* libconfig's rule: ^[ \t]*@include[ \t]+\" */
	while (!found && getline(&text, &cap, fp) != -1) {
		(*line)++;
		for (p = text; *p == ' ' || *p == '\t'; p++)
			;
		found = strncmp(p, "@include", 8) == 0 &&
		    (p[8] == ' ' || p[8] == '\t');
	}
	free(text);
	rewind(fp);
	return found;
}

int
conf_read_credentials(const char *path, config_t *cfg, struct buf *errs)
{
	char why[1024];
	FILE *fp;
	int line, ok;

	if ((fp = conf_open_secret(path, why, sizeof(why))) == NULL) {
		buf_printf(errs, "credentials_file: %s\n", why);
		return -1;
	}
	/* the file checked is the file read: scanned through FP too */
	if (conf_has_include_fp(fp, &line)) {
		buf_printf(errs, "credentials_file: %s:%d: @include: not"
		    " supported\n", path, line);
		fclose(fp);
		return -1;
	}
	config_init(cfg);
	ok = config_read(cfg, fp) == CONFIG_TRUE;
	fclose(fp);
	if (!ok) {
		buf_printf(errs, "credentials_file: %s:%d: %s\n", path,
		    config_error_line(cfg), config_error_text(cfg));
		config_destroy(cfg);
		return -1;
	}
	return 0;
}

/*
 * The copy marker's key: read here so that a missing or short key is a
 * configuration error, found by segmilter -n, not a failure per message.
 * Whoever can read the key can forge a copy's marker and an unsubscribe
 * link; whoever can write it, make segmilter accept their forgeries.
 */
static void
load_outbox_key(struct conf_load *ld, config_t *cfg)
{
	struct conf_outbox *o = &ld->c->outbox;
	config_setting_t *s = config_lookup(cfg, "outbox");
	char why[1024];
	FILE *fp;
	size_t n;

	if (s == NULL)
		s = config_root_setting(cfg);
	if (o->reinject_url[0] != '\0' &&
	    strncmp(o->reinject_url, "smtp://", 7) != 0) {
		load_error(ld, s, "outbox.reinject_url", "'%s' is not"
		    " smtp://HOST:PORT", o->reinject_url);
		return;
	}
	if (o->key_file[0] == '\0') {
		if (o->reinject_url[0] != '\0' ||
		    ld->c->milter.unsubscribe_url[0] != '\0' ||
		    ld->c->milter.bounce_domain[0] != '\0')
			load_error(ld, s, "outbox.key_file", "required with"
			    " outbox.reinject_url, milter.unsubscribe_url or"
			    " milter.bounce_domain: copies, unsubscribe links"
			    " and return paths carry an HMAC");
		if (ld->c->policy.global_holdout_percent > 0)
			load_error(ld, s, "outbox.key_file", "required with"
			    " policy.global_holdout_percent: who is held out"
			    " is drawn with it, so that nobody can steer it");
		return;
	}
	if ((fp = conf_open_secret(o->key_file, why, sizeof(why))) == NULL) {
		load_error(ld, s, "outbox.key_file", "%s", why);
		return;
	}
	n = fread(o->key, 1, sizeof(o->key), fp);
	fclose(fp);
	while (n > 0 && (o->key[n - 1] == '\n' || o->key[n - 1] == '\r'))
		n--;
	if (n < 16)
		load_error(ld, s, "outbox.key_file", "%s: a key of at least"
		    " 16 bytes is needed (e.g. openssl rand -hex 32 > %s)",
		    o->key_file, o->key_file);
	o->keylen = n;
}

/*
 * milter.bounce_domain: what follows '@' in a return path, so a domain an
 * address may have; checked as the address a return path makes, with a
 * whole token, so that one too long for a path is refused here.
 */
static void
load_bounce_domain(struct conf_load *ld, config_t *cfg)
{
	const char *d = ld->c->milter.bounce_domain, *why;
	config_setting_t *s = config_lookup(cfg, "milter.bounce_domain");
	char path[PARSE_EMAIL_MAX + 2], norm[PARSE_EMAIL_MAX + 1];
	size_t n;

	if (d[0] == '\0')
		return;
	n = (size_t)snprintf(path, sizeof(path), BOUNCE_LOCAL "+%0*d@%s",
	    BOUNCE_TOKEN_LEN, 0, d);
	if (n > PARSE_EMAIL_MAX)
		why = "too long for a return path";
	else if (strchr(d, '@') != NULL)
		why = "a domain, not an address";
	else if (parse_email(path, norm, sizeof(norm), &why) == 0)
		return;
	load_error(ld, s, "milter.bounce_domain", "'%s': %s", d, why);
}

/*
 * sms.dlr_url: Kannel reports deliveries to segfeed, which takes them
 * with the secret segfeed knows (feedback.credentials_file), so the
 * driver puts that in the URL; read after the feedback group.
 */
static void
load_sms_dlr(struct conf_load *ld, config_t *cfg)
{
	struct conf *c = ld->c;
	config_setting_t *s = config_lookup(cfg, "sms.dlr_url");

	if (c->sms.dlr_url[0] == '\0')
		return;
	if (c->sms.driver != SMS_KANNEL)
		load_error(ld, s, "sms.dlr_url", "Kannel's only: the driver is"
		    " %s", conf_sms_driver_name(c->sms.driver));
	else if (c->feedback.kannel_secret[0] == '\0')
		load_error(ld, s, "sms.dlr_url", "needs kannel_secret in"
		    " feedback.credentials_file: segfeed takes reports only"
		    " with it");
	else
		str_copy(c->sms.dlr_secret, sizeof(c->sms.dlr_secret),
		    c->feedback.kannel_secret);
}

/*
 * The classes, each the policy group's thresholds with its own group's
 * overrides: read into a scratch copy of the configuration through the
 * policy settings' own table, so that each is checked and reported as
 * any other setting.
 */
static void
load_classes(struct conf_load *ld)
{
	struct conf *c = ld->c, scratch;
	config_setting_t *g;
	char path[256];
	const char *name;
	int i, n;

	if (ld->classes == NULL)
		return;
	n = config_setting_length(ld->classes);
	c->classes = xcalloc((size_t)n + 1, sizeof(*c->classes));
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(ld->classes, (unsigned)i);
		name = config_setting_name(g);
		snprintf(path, sizeof(path), "classes.%s", name);
		if (strcmp(name, "promotional") == 0) {
			load_error(ld, g, path, "the policy group is the"
			    " promotional class's");
			continue;
		}
		if (!config_setting_is_group(g) ||
		    strlen(name) >= CONF_NAME_MAX) {
			load_error(ld, g, path, "expected a group { cap_count"
			    " = ...; }");
			continue;
		}
		scratch = *c;
		ld->c = &scratch;
		load_group(ld, g, path, class_table);
		ld->c = c;
		snprintf(c->classes[c->nclasses].name, CONF_NAME_MAX, "%s",
		    name);
		c->classes[c->nclasses++].policy = scratch.policy;
	}
}

const struct conf_policy *
conf_class_policy(const struct conf *c, const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0' || strcmp(name, "promotional") == 0)
		return &c->policy;
	for (i = 0; i < c->nclasses; i++)
		if (strcmp(c->classes[i].name, name) == 0)
			return &c->classes[i].policy;
	return NULL;
}

int64_t
conf_cap_window_longest(const struct conf *c)
{
	int64_t h = c->policy.cap_window_hours;
	size_t i;

	for (i = 0; i < c->nclasses; i++)
		if (c->classes[i].policy.cap_window_hours > h)
			h = c->classes[i].policy.cap_window_hours;
	return h;
}

/*
 * retention.horizon_days: past every window in which a rule counts what
 * closing a campaign removes (deliveries for the frequency cap, SMS jobs
 * for the 30-day cap, orders for the report's attribution), so that no
 * decision or report of a campaign still open changes.
 */
static void
load_retention(struct conf_load *ld, config_t *cfg)
{
	const struct conf *c = ld->c;
	int64_t h = c->retention.horizon_days, need;

	if (h == 0)
		return;
	need = 31;
	if (conf_cap_window_longest(c) / 24 + 1 > need)
		need = conf_cap_window_longest(c) / 24 + 1;
	if (c->report.attribution_days + 1 > need)
		need = c->report.attribution_days + 1;
	if (h < need)
		load_error(ld, config_lookup(cfg, "retention.horizon_days"),
		    "retention.horizon_days", "%lld: at least %lld (0 keeps"
		    " everything): the longest window a rule or the report"
		    " counts in must end after it", (long long)h,
		    (long long)need);
}

/* Each line of ERR (a group's check) as an error at S's line. */
static void
load_errors(struct conf_load *ld, config_setting_t *s, const char *group,
    char *err)
{
	char *line, *next;

	for (line = err; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		load_error(ld, s, group, "%s", line);
	}
}

/* With a feedback group, what segfeed needs of the rest of the file,
 * reported at the group's line. */
static void
load_feedback(struct conf_load *ld, config_t *cfg)
{
	config_setting_t *s = config_lookup(cfg, "feedback");
	char err[1024];

	if (s == NULL)
		return;
	ld->c->feedback.configured = 1;
	if (conf_feedback_check(ld->c, err, sizeof(err)) == -1)
		load_errors(ld, s, "feedback", err);
}

/* What the driver needs, and the credentials, read here so that
 * segmilter -n finds a missing or unreadable file. */
static void
load_sms(struct conf_load *ld, config_t *cfg)
{
	config_setting_t *s = config_lookup(cfg, "sms");
	char err[1024];

	if (s == NULL)
		s = config_root_setting(cfg);
	if (conf_sms_check(ld->c, err, sizeof(err)) == -1)
		load_errors(ld, s, "sms", err);
}

static int
conf_hash_file(const char *path, unsigned char *out, char *err,
    size_t errlen)
{
	unsigned char chunk[8192];
	EVP_MD_CTX *md;
	FILE *fp;
	size_t n;
	unsigned int len;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	md = digest_sha256_begin();
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		EVP_DigestUpdate(md, chunk, n);
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s\n", path, strerror(errno));
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

int
conf_has_include(const char *path, int *line)
{
	FILE *fp;
	int found;

	*line = 0;
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	found = conf_has_include_fp(fp, line);
	fclose(fp);
	return found;
}

/*
 * audit.archive_dir: absolute, since segctl runs from anywhere (the
 * timer's unit from /) and a relative one would scatter the archives.
 */
static void
load_audit(struct conf_load *ld, config_t *cfg)
{
	const char *dir = ld->c->audit.archive_dir;

	if (*dir != '\0' && *dir != '/')
		load_error(ld, config_lookup(cfg, "audit.archive_dir"),
		    "audit.archive_dir", "'%s' is not an absolute path", dir);
}

int
conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	struct conf_load ld;
	config_t cfg;
	int line;

	memset(&ld, 0, sizeof(ld));
	ld.c = conf_defaults();
	ld.c->path = xstrdup(path);
	if (conf_hash_file(path, ld.c->hash, err, errlen) == -1) {
		conf_free(ld.c);
		return -1;
	}
	if (conf_has_include(path, &line)) {
		snprintf(err, errlen, "%s:%d: @include: not supported, the"
		    " configuration is one file\n", path, line);
		conf_free(ld.c);
		return -1;
	}
	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		snprintf(err, errlen, "%s:%d: %s\n", config_error_file(&cfg) ?
		    config_error_file(&cfg) : path, config_error_line(&cfg),
		    config_error_text(&cfg));
		config_destroy(&cfg);
		conf_free(ld.c);
		return -1;
	}
	buf_init(&ld.errs, 64 * 1024);
	load_group(&ld, config_root_setting(&cfg), "", top_table);
	load_vip_min(&ld);
	load_outbox_key(&ld, &cfg);
	load_bounce_domain(&ld, &cfg);
	load_sms(&ld, &cfg);
	load_feedback(&ld, &cfg);
	load_classes(&ld);
	load_retention(&ld, &cfg);
	load_sms_dlr(&ld, &cfg);
	load_audit(&ld, &cfg);
	config_destroy(&cfg);
	if (ld.nerrs > 0) {
		snprintf(err, errlen, "%s", buf_str(&ld.errs));
		buf_free(&ld.errs);
		conf_free(ld.c);
		return -1;
	}
	buf_free(&ld.errs);
	*out = ld.c;
	return 0;
}

static char **
strlist(const char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(*out));
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

/* The host's name: a relay's default name in a fleet's outbox. */
static char *
conf_hostname(void)
{
	char name[256];

	if (gethostname(name, sizeof(name)) == -1 || name[0] == '\0')
		return xstrdup("relay");
	name[sizeof(name) - 1] = '\0';
	return xstrdup(name);
}

struct conf *
conf_defaults(void)
{
	static const enum conf_lifecycle priority[LC_COUNT] = {
		LC_B2B, LC_VIP, LC_LAPSED, LC_REPEAT, LC_FIRST_TIME,
		LC_SUBSCRIBER
	};
	static const struct conf_kv_int cycles[] = {
		{ "coffee", 60 }, { "skincare", 90 }, { "furniture", 365 },
	};
	static const char *const account_types[] = { "b2b", "wholesale" };
	static const char *const tags[] = { "wholesale", "b2b" };
	struct conf *c = xcalloc(1, sizeof(*c));
	struct conf_segments *s = &c->seg;

	c->store_path = xstrdup("/var/lib/segmilter/store.db");
	c->store_timeout_ms = 5000;
	c->milter.socket = xstrdup("unix:/run/segmilter/segmilter.sock");
	c->milter.socket_mode = 0660;
	c->milter.user = xstrdup("segmilter");
	c->milter.campaign_header = xstrdup("X-Campaign-ID");
	c->milter.campaigns_dir = xstrdup(SEGM_SYSCONFDIR
	    "/segmilter/campaigns");
	c->milter.spool_dir = xstrdup("/var/tmp");
	c->milter.spool_memory_kb = 1024;
	c->milter.timeout_s = 600;
	c->milter.on_store_error = ON_ERROR_TEMPFAIL;
	c->milter.unknown_empty = 0;
	c->milter.unsubscribe_url = xstrdup("");
	c->milter.bounce_domain = xstrdup("");
	c->policy.fatigue_unanswered = 10;
	c->policy.fatigue_cadence_days = 14;
	c->policy.cap_count = 1;
	c->policy.cap_window_hours = 16;
	c->policy.bounce_limit = 1;
	c->policy.soft_bounce_limit = 3;
	c->policy.soft_bounce_days = 30;
	c->report.attribution_days = 5;
	c->report.sms_attribution_days = 1;
	c->report.min_effect_points = 2;
	c->retention.horizon_days = 730;
	c->audit.archive_dir = xstrdup("");
	c->outbox.reinject_url = xstrdup("");
	c->outbox.key_file = xstrdup("");
	c->outbox.workers = 2;
	c->outbox.retry_base_s = 30;
	c->outbox.retry_max_s = 3600;
	c->outbox.max_age_hours = 72;
	c->outbox.relay_name = conf_hostname();
	conf_sms_defaults(&c->sms);
	conf_feedback_defaults(&c->feedback);
	memcpy(s->priority, priority, sizeof(priority));
	s->vip.metric = VIP_NET_SPEND;
	s->vip.top_percent = 10.0;
	s->vip.min_value = 0;
	s->vip.min_orders = 1;
	s->lapsed.default_days = 120;
	s->lapsed.ncategory_days = sizeof(cycles) / sizeof(cycles[0]);
	s->lapsed.category_days = xreallocarray(NULL,
	    s->lapsed.ncategory_days, sizeof(cycles[0]));
	memcpy(s->lapsed.category_days, cycles, sizeof(cycles));
	s->lapsed.adapt_to_interval = 0;
	s->lapsed.interval_factor = 2.0;
	s->lapsed.adapt_min_orders = 3;
	s->lapsed.due_days = 7;
	s->cart.window_hours = 72;
	s->cart.min_age_minutes = 60;
	s->interest.window_days = 90;
	s->b2b.account_types = strlist(account_types, 2);
	s->b2b.naccount_types = 2;
	s->b2b.tags = strlist(tags, 2);
	s->b2b.ntags = 2;
	s->b2b.company_domains = strlist(NULL, 0);
	s->b2b.tax_exempt = 1;
	s->b2b.bulk_line_quantity = 24;
	s->b2b.bulk_orders_min = 2;
	memcpy(s->base_currency, "USD", 4);
	return c;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->classes);
	free(c->store_path);
	free(c->milter.socket);
	free(c->milter.user);
	free(c->milter.campaign_header);
	free(c->milter.campaigns_dir);
	free(c->milter.spool_dir);
	free(c->milter.unsubscribe_url);
	free(c->milter.bounce_domain);
	free(c->outbox.reinject_url);
	free(c->outbox.key_file);
	free(c->outbox.relay_name);
	free(c->audit.archive_dir);
	explicit_bzero(c->outbox.key, sizeof(c->outbox.key));
	conf_sms_free(&c->sms);
	conf_feedback_free(&c->feedback);
	free(c->seg.lapsed.category_days);
	conf_free_strlist(c->seg.b2b.account_types, c->seg.b2b.naccount_types);
	conf_free_strlist(c->seg.b2b.tags, c->seg.b2b.ntags);
	conf_free_strlist(c->seg.b2b.company_domains, c->seg.b2b.ncompany_domains);
	free_kv_str(c->seg.sku_prefixes, c->seg.nsku_prefixes);
	free_kv_str(c->seg.name_keywords, c->seg.nname_keywords);
	free(c->seg.rates);
	free(c);
}

const char *
conf_lifecycle_name(enum conf_lifecycle lc)
{
	return lc < LC_COUNT ? lifecycle_names[lc] : "?";
}

int
conf_lifecycle_parse(const char *name, enum conf_lifecycle *out)
{
	int i;

	for (i = 0; i < LC_COUNT; i++)
		if (strcmp(name, lifecycle_names[i]) == 0) {
			*out = (enum conf_lifecycle)i;
			return 0;
		}
	return -1;
}

const char *
conf_vip_metric_name(enum conf_vip_metric m)
{
	return m <= VIP_MARGIN ? vip_metric_names[m] : "?";
}

void
conf_hash_hex(const struct conf *c, char *out)
{
	str_hex(c->hash, sizeof(c->hash), out);
}

int64_t
conf_lapsed_days(const struct conf_segments *s, const char *category)
{
	size_t i;

	for (i = 0; category != NULL && i < s->lapsed.ncategory_days; i++)
		if (strcmp(category, s->lapsed.category_days[i].name) == 0)
			return s->lapsed.category_days[i].value;
	return s->lapsed.default_days;
}

/* CURRENCY's rate in S, NULL when it has none. */
static const struct conf_rate *
rate_find(const struct conf_segments *s, const char *currency)
{
	size_t i;

	for (i = 0; currency != NULL && i < s->nrates; i++)
		if (strcmp(currency, s->rates[i].currency) == 0)
			return &s->rates[i];
	return NULL;
}

double
conf_rate(const struct conf_segments *s, const char *currency)
{
	const struct conf_rate *r = rate_find(s, currency);

	return r != NULL ? r->rate : 1.0;
}

int
conf_rate_known(const struct conf_segments *s, const char *currency)
{
	return currency == NULL || *currency == '\0' ||
	    strcmp(currency, s->base_currency) == 0 ||
	    rate_find(s, currency) != NULL;
}
