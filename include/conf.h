/*
 * conf - segmilter.conf (libconfig syntax): loading, validation, defaults.
 *
 * Every setting is described once, in a table in src/conf/conf.c, with its
 * type, default and bounds.  Loading rejects unknown keys, wrong types and
 * out-of-range values; every problem is reported as FILE:LINE: message,
 * all of them, not just the first.  A missing file is an error: defaults
 * apply only to settings absent from a file that exists (conf_defaults()
 * gives a configuration with no file at all, for tests and the demo).
 *
 * The loaded struct conf is immutable: code that reloads builds a new one
 * and swaps it in.  Ownership: conf_load() and conf_defaults() return a
 * struct the caller frees with conf_free().
 */
#ifndef SEGM_CONF_H
#define SEGM_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_NAME_MAX	64	/* segment, category and facet names */

/* Lifecycle segments, in no particular order; priority is configured. */
enum conf_lifecycle {
	LC_B2B,
	LC_VIP,
	LC_LAPSED,
	LC_REPEAT,
	LC_FIRST_TIME,
	LC_SUBSCRIBER,
	LC_COUNT
};

enum conf_vip_metric {
	VIP_NET_SPEND,		/* lifetime spend less refunds */
	VIP_ORDER_COUNT,	/* completed orders */
	VIP_MARGIN		/* net spend less product cost */
};

/*
 * When a campaign's copy is due (a variant's send_after): a fixed time,
 * or a fact of each recipient's and an offset ("cart_at + 24h"), which
 * sequences timed from events are made of.
 */
enum conf_due_from {
	DUE_FIXED,		/* at: epoch seconds, 0: now */
	DUE_CART,		/* at: the offset from cart_at */
	DUE_FIRST_ORDER,	/* ... from first_order_at */
	DUE_LAST_ORDER,		/* ... from last_order_at */
	DUE_NFROM
};
struct conf_due {
	enum conf_due_from	 from;
	int64_t			 at;
};

/* What stops a campaign's copy for a recipient before it is due
 * (stop_if): their goal met. */
#define CONF_GOAL_ORDERED	0x1u	/* an order since the fact the copy
					   counts from, or since it was
					   decided */

struct conf_kv_int {		/* a name with a number: coffee = 60 */
	char	 name[CONF_NAME_MAX];
	int64_t	 value;
};

struct conf_kv_str {		/* a key with a string: "COF-" = "coffee" */
	char	*key;
	char	 value[CONF_NAME_MAX];
};

struct conf_rate {		/* 1 unit of CURRENCY = RATE base units */
	char	 currency[4];
	double	 rate;
};

struct conf_segments {
	/* lifecycle priority, highest first; always all LC_COUNT entries */
	enum conf_lifecycle	 priority[LC_COUNT];

	struct {
		enum conf_vip_metric metric;
		double		 top_percent;	/* (0, 100] */
		int64_t		 min_value;	/* cents, or orders for count */
		int64_t		 min_orders;
	} vip;

	struct {
		int64_t		 default_days;
		struct conf_kv_int *category_days; /* per-category cycle */
		size_t		 ncategory_days;
		int		 adapt_to_interval;
		double		 interval_factor;
		int64_t		 adapt_min_orders;
		int64_t		 due_days;	/* a category due this soon */
	} lapsed;

	struct {
		int64_t		 window_hours;	/* cart event at most this old */
		int64_t		 min_age_minutes; /* and at least this old */
	} cart;

	struct {
		int64_t		 window_days;
	} interest;

	struct {
		char		**account_types;	/* "b2b", "wholesale" */
		size_t		 naccount_types;
		char		**tags;			/* customer tags */
		size_t		 ntags;
		char		**company_domains;	/* email domains */
		size_t		 ncompany_domains;
		int		 tax_exempt;		/* tax exempt => b2b */
		int64_t		 bulk_line_quantity;	/* 0: off */
		int64_t		 bulk_orders_min;
	} b2b;

	/* category of an order line without one from products */
	struct conf_kv_str	*sku_prefixes;		/* longest prefix wins */
	size_t			 nsku_prefixes;
	struct conf_kv_str	*name_keywords;		/* first match wins */
	size_t			 nname_keywords;

	char			 base_currency[4];
	struct conf_rate	*rates;
	size_t			 nrates;
};

/* Suppression thresholds (see policy.h). */
struct conf_policy {
	int64_t		 fatigue_unanswered;	/* 0: off */
	int64_t		 fatigue_cadence_days;	/* while fatigued */
	int64_t		 cap_count;		/* 0: no cap */
	int64_t		 cap_window_hours;
	int64_t		 bounce_limit;		/* bounces that suppress */
	int64_t		 soft_bounce_limit;	/* soft bounces that do, 0: off */
	int64_t		 soft_bounce_days;	/* ... within this many days */
	double		 global_holdout_percent; /* never mailed, 0: none */
	int64_t		 priority;		/* a class's: its cap and fatigue
						   count the deliveries of
						   classes of this priority or
						   more (promotional: 0) */
};

enum conf_on_error {
	ON_ERROR_TEMPFAIL,	/* the MTA keeps the message and retries */
	ON_ERROR_ACCEPT		/* the message goes out untouched */
};

/* A campaign message that arrives signed (DKIM-Signature): tailoring it
 * breaks the signature. */
enum conf_dkim {
	DKIM_REMOVE,	/* the signatures go, said in the log */
	DKIM_KEEP	/* the message is not rewritten at all */
};

/* The daemon: where it listens, as whom, and how it treats failures. */
struct conf_milter {
	char		*socket;	/* unix:PATH or inet:PORT@HOST */
	int64_t		 socket_mode;	/* of a unix socket */
	char		*user;		/* "": keep the starting user */
	char		*campaign_header;
	char		*campaigns_dir;
	char		*spool_dir;	/* bodies past spool_memory_kb */
	int64_t		 spool_memory_kb;
	int64_t		 timeout_s;	/* libmilter's MTA read timeout */
	enum conf_on_error on_store_error;
	int		 unknown_empty;	/* unknown placeholders render "" */
	char		*unsubscribe_url; /* one-click link, token appended;
					   "": no List-Unsubscribe */
	char		*bounce_domain;	/* return paths bounces+TOKEN@ it;
					   "": the sender is kept */
	enum conf_dkim	 dkim_signature;
};

#define CONF_KEY_MAX	128	/* bytes of the copy marker's HMAC key */

/* Tailored copies and their re-injection (empty reinject_url: off). */
struct conf_outbox {
	char		*reinject_url;	/* smtp://127.0.0.1:10026 */
	char		*key_file;	/* the copy marker's HMAC key */
	unsigned char	 key[CONF_KEY_MAX];
	size_t		 keylen;
	int64_t		 workers;
	int64_t		 retry_base_s;	/* first retry after about this */
	int64_t		 retry_max_s;	/* backoff ceiling */
	int64_t		 max_age_hours;	/* then a copy expires */
	int		 split_language; /* a copy per segment and language */
	int		 split_currency;
	char		*relay_name;	/* this relay's, in a fleet's outbox */
};

enum conf_sms_driver {
	SMS_OFF,		/* driver = "": no SMS at all */
	SMS_TWILIO,		/* Twilio's Messages resource */
	SMS_KANNEL,		/* Kannel's sendsms interface */
	SMS_WEBHOOK		/* segmilter's signed JSON POST */
};

/* Allowed sending hours, minutes of the local day: [start, end). */
struct conf_window {
	int		 start;
	int		 end;		/* 1440: midnight */
};

/* A narrower (or wider) window where the recipient lives. */
struct conf_window_rule {
	char		 where[16];	/* "FR" (country), "US-FL" (region) */
	struct conf_window w;
};

#define CONF_SECRET_MAX	256

/* SMS for high-intent segments (see policy.h, gateway.h). */
struct conf_sms {
	enum conf_sms_driver driver;
	char		*url;		/* the gateway's base URL */
	char		*credentials_file;
	char		*from;		/* sender: number or alphanumeric */
	char		*messaging_service_sid;	/* Twilio, instead of from */
	char		*status_callback;	/* Twilio, "" none */
	char		*dlr_url;	/* Kannel's delivery reports: segfeed's
					   /kannel/dlr, "" none */
	char		*ca_file;	/* "": the system's CAs */
	int64_t		 connect_timeout_s;
	int64_t		 timeout_s;
	int64_t		 max_parts;	/* longest text, in SMS parts */
	int64_t		 cap_day;	/* SMS per customer per 24 h */
	int64_t		 cap_month;	/* ... per 30 days */
	int64_t		 max_age_hours;	/* then a job expires */
	char		*zoneinfo;	/* the tz database */
	struct conf_window window;	/* default allowed hours */
	struct conf_window_rule *windows;
	size_t		 nwindows;
	/* from credentials_file; never logged */
	char		 user[CONF_SECRET_MAX];	/* account SID, username */
	char		 secret[CONF_SECRET_MAX]; /* token, password, key */
	/* feedback.credentials_file's kannel_secret, for dlr_url */
	char		 dlr_secret[CONF_SECRET_MAX];
};

/* segfeed(8), the feedback listener. */
struct conf_feedback {
	char		*listen;	/* "127.0.0.1:12580", "[::1]:12580",
					   "unix:/run/segfeed/segfeed.sock" */
	char		*public_url;	/* "https://shop.example": the page's
					   form action; "": relative */
	char		*page_template;	/* the unsubscribe page, HTML */
	int64_t		 max_body_kb;	/* larger request bodies: 413 */
	int64_t		 fewer_days;	/* the cadence "fewer emails" sets */
	int64_t		 threads;	/* libmicrohttpd's pool */
	char		*credentials_file;	/* the gateways' secrets */
	char		*sms_help_text;	/* HELP's answer; "" none */
	char		*lmtp_listen;	/* bounces by LMTP, as listen; ""
					   none */
	char		*quarantine_dir; /* reports not recorded; "" none */
	int		 configured;	/* the file has a feedback group */
	/*
	 * From credentials_file; never logged.  "" leaves that gateway's
	 * endpoint off (404): an endpoint without its secret would take
	 * anybody's word.
	 */
	char		 twilio_auth_token[CONF_SECRET_MAX];
	char		 kannel_secret[CONF_SECRET_MAX];
	char		 shopify_secret[CONF_SECRET_MAX];
};

/* Where feedback.listen says to listen. */
struct conf_listen {
	int		 is_unix;
	char		 path[108];	/* sun_path */
	char		 host[64];	/* an IPv4 or IPv6 literal */
	int		 port;
};

/* The path (and query name) an unsubscribe link names, the token after
 * it: "https://shop.example/u/" -> "/u/", ""; ".../u?t=" -> "/u", "t". */
struct conf_unsub_route {
	char		 path[256];
	char		 query[64];	/* "": the token ends the path */
};

/* What segctl report measures a campaign's arms by (lift.h). */
struct conf_report {
	int64_t		 attribution_days;	/* after the decision */
	int64_t		 sms_attribution_days;	/* after the SMS */
	double		 min_effect_points;	/* worth detecting */
};

/*
 * How long a campaign's records stay (store_retention.h):
 * one idle for HORIZON_DAYS is closed by segctl prune; 0 keeps all.
 * Longer than every window a rule counts deliveries, jobs or orders in
 * (conf_load checks), so that closing changes no decision.
 */
struct conf_retention {
	int64_t		 horizon_days;
};

/* The audit log's archives (audit.h, audit_archive). */
struct conf_audit {
	char		*archive_dir;	/* "": "audit-archive" beside the store */
};

/*
 * A campaign class (campaign.h: class = "triggered"): the frequency cap
 * and fatigue of the policy group, overridden where its group says, so
 * that a cart reminder is not capped away by the week's newsletters.
 * Consent, unsubscribes, bounces, a customer's own cadence and quiet
 * hours hold for every class.  Campaigns without a class are
 * "promotional": the policy group itself.
 */
struct conf_class {
	char		 name[CONF_NAME_MAX];
	struct conf_policy policy;
};

struct conf {
	char			*path;		/* NULL for conf_defaults() */
	char			*store_path;
	int64_t			 store_timeout_ms;	/* busy timeout */
	struct conf_milter	 milter;
	struct conf_policy	 policy;
	struct conf_outbox	 outbox;
	struct conf_sms		 sms;
	struct conf_feedback	 feedback;
	struct conf_report	 report;
	struct conf_retention	 retention;
	struct conf_class	*classes;
	size_t			 nclasses;
	struct conf_audit	 audit;
	struct conf_segments	 seg;
	unsigned char		 hash[32];	/* SHA-256 of the file */
};

/* Returns 0 and *out, or -1 with every problem in ERR, one per line. */
int	 conf_load(const char *path, struct conf **out, char *err,
	    size_t errlen);
struct conf *conf_defaults(void);
/* The thresholds of class NAME ("" or "promotional": the policy
 * group's); NULL when there is no such class. */
const struct conf_policy *conf_class_policy(const struct conf *c,
	    const char *name);
/* The longest cap window of the policy and every class, in hours: how
 * far back the store must keep every delivery (store_deliveries_window). */
int64_t	 conf_cap_window_longest(const struct conf *c);
void	 conf_free(struct conf *c);

const char *conf_lifecycle_name(enum conf_lifecycle lc);
int	 conf_lifecycle_parse(const char *name, enum conf_lifecycle *out);
const char *conf_vip_metric_name(enum conf_vip_metric m);
/* 1 when S is what libmilter's smfi_setconn accepts (unix:/PATH,
 * local:/PATH, inet:PORT@HOST, inet6:...), checked before it is tried. */
int	 conf_socket_valid(const char *s);
/* The file's SHA-256 in hex into OUT (65 bytes): audit rows carry it. */
void	 conf_hash_hex(const struct conf *c, char *out);

/* Cycle days for CATEGORY: its configured value, or the default. */
int64_t	 conf_lapsed_days(const struct conf_segments *s, const char *category);
const char *conf_sms_driver_name(enum conf_sms_driver d);
/* "08:00-21:00" into *W; 0, or -1 when it is not HH:MM-HH:MM with
 * start before end (end may be 24:00). */
int	 conf_window_parse(const char *s, struct conf_window *w);
/*
 * The window for a recipient in COUNTRY and REGION (either may be ""):
 * the rule for "COUNTRY-REGION", else for "COUNTRY", else the default.
 * With the region unknown, that narrowed by each of the country's
 * regional rules, since any of them may be the one that applies; empty
 * (start == end, never allowed) when they share no minute.
 */
struct conf_window conf_sms_window(const struct conf_sms *s,
	    const char *country, const char *region);

/* feedback.listen into *L: 0, or -1 when it is not unix:/PATH,
 * IPV4:PORT or [IPV6]:PORT. */
int	 conf_listen_parse(const char *s, struct conf_listen *l);
/*
 * The route of milter.unsubscribe_url: http(s)://HOST[:PORT]/PATH,
 * optionally ending in ?NAME= (the token the query's NAME).  0, or -1
 * with why in ERR.
 */
int	 conf_unsub_route(const char *url, struct conf_unsub_route *r,
	    char *err, size_t errlen);

/*
 * A send_after: "2026-12-01T09:00:00Z" (parse.h's times), or a fact and
 * an offset in minutes, hours or days ("cart_at + 24h", "last_order_at
 * + 7d", "first_order_at"), into *D.  0, or -1 with why in *ERR.
 */
int	 conf_due_parse(const char *s, struct conf_due *d, const char **err);
/* The fact D counts from ("cart_at"), "" for a fixed time. */
const char *conf_due_from_name(enum conf_due_from f);
/* A send_local: "10:00" (that minute) or "10:00-12:00" into *W; 0, or -1
 * when it is neither. */
int	 conf_local_parse(const char *s, struct conf_window *w);
/* The stop_if goal NAME ("ordered") as its bit, 0 when none. */
unsigned conf_goal_parse(const char *name);

/* Rate to the base currency, 1.0 for the base or an unknown currency. */
double	 conf_rate(const struct conf_segments *s, const char *currency);
/* 1 when CURRENCY is none, the base currency or rated; 0 when conf_rate()
 * can only guess 1:1. */
int	 conf_rate_known(const struct conf_segments *s, const char *currency);

#endif
