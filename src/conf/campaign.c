/*
 * campaign.c - loading and checking the campaign files.
 *
 * Files are read in name order so that two runs report problems (and a
 * duplicate id) the same way.  As in conf.c, walking the file's settings
 * rather than a list of expected ones is what rejects unknown keys.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "buf.h"
#include "campaign.h"
#include "conf_int.h"
#include "expr.h"
#include "parse.h"
#include "str.h"
#include "template.h"
#include "xalloc.h"

struct campaign_load {
	struct buf	 errs;
	int		 nerrs;
	const char	*file;
};

static void
campaign_error(struct campaign_load *ld, const config_setting_t *s,
    const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
campaign_error(struct campaign_load *ld, const config_setting_t *s,
    const char *path, const char *fmt, ...)
{
	va_list ap;

	if (s != NULL)
		buf_printf(&ld->errs, "%s:%u: %s%s", ld->file,
		    config_setting_source_line(s), path, *path ? ": " : "");
	else
		buf_printf(&ld->errs, "%s: %s%s", ld->file, path,
		    *path ? ": " : "");
	va_start(ap, fmt);
	buf_vprintf(&ld->errs, fmt, ap);
	va_end(ap);
	buf_putc(&ld->errs, '\n');
	ld->nerrs++;
}

static void
free_variant(struct campaign_variant *v)
{
	size_t i;

	for (i = 0; i < v->nvalues; i++) {
		free(v->values[i].name);
		free(v->values[i].value);
	}
	free(v->values);
	expr_free(v->match);
}

static void
free_campaign(struct campaign *c)
{
	size_t i;

	free(c->file);
	for (i = 0; i < c->ninclude; i++)
		expr_free(c->include[i]);
	free(c->include);
	for (i = 0; i < c->nexclude; i++)
		expr_free(c->exclude[i]);
	free(c->exclude);
	for (i = 0; i < c->sms.nsegments; i++)
		expr_free(c->sms.segments[i]);
	free(c->sms.segments);
	for (i = 0; i < c->nvariants; i++)
		free_variant(&c->variants[i]);
	free(c->variants);
	free(c->variant_match);
	free_variant(&c->dflt);
	free(c->names);
	free(c->sms.text);
}

/* A segment name as segment.c spells them: a lowercase slug. */
static int
valid_name(const char *s)
{
	char slug[CONF_NAME_MAX];

	return parse_slug(s, slug, sizeof(slug)) == 0 && strcmp(s, slug) == 0;
}

static int
valid_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || strchr("._-:", s[n])))
			return 0;
	return n > 0 && n < CAMPAIGN_ID_MAX;
}

/* Notes NAME, used at S's line as WHERE, for campaign_set_check. */
static void
note_name(struct campaign *c, const char *name, const config_setting_t *s,
    const char *where)
{
	struct campaign_name *cn;

	c->names = xreallocarray(c->names, c->nnames + 1, sizeof(*c->names));
	cn = &c->names[c->nnames++];
	cn->name = name;
	cn->line = config_setting_source_line(s);
	cn->where = where;
}

/*
 * TEXT, found at S, compiled, its names checked as segment names and
 * noted as WHERE for campaign_set_check; NULL when it does not compile.
 * Problems are reported at PATH, PREFIX ("element 2: ") before each.
 */
static struct expr *
load_expr(struct campaign_load *ld, struct campaign *c,
    const config_setting_t *s, const char *path, const char *where,
    const char *prefix, const char *text)
{
	const char *const *names;
	struct expr *e;
	char why[160];
	size_t k, n;

	if (expr_parse(text, &e, why, sizeof(why)) == -1) {
		campaign_error(ld, s, path, "%s'%s': %s", prefix, text, why);
		return NULL;
	}
	names = expr_names(e, &n);
	for (k = 0; k < n; k++)
		if (!valid_name(names[k]))
			campaign_error(ld, s, path, "%s'%s' is not a segment"
			    " name", prefix, names[k]);
		else
			note_name(c, names[k], s, where);
	return e;
}

/* A list of audience expressions (expr.h). */
static void
load_exprs(struct campaign_load *ld, struct campaign *c,
    const config_setting_t *s, const char *path, const char *where,
    struct expr ***out, size_t *n)
{
	const config_setting_t *elem;
	const char *text;
	struct expr *e;
	char prefix[32];
	int i, len;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		campaign_error(ld, s, path, "expected a list of segment"
		    " names or expressions");
		return;
	}
	len = config_setting_length(s);
	*out = xcalloc((size_t)len + 1, sizeof(**out));
	for (i = 0; i < len; i++) {
		elem = config_setting_get_elem(s, (unsigned)i);
		if ((text = config_setting_get_string_elem(s, i)) == NULL) {
			campaign_error(ld, s, path, "element %d: expected a"
			    " string", i + 1);
			continue;
		}
		snprintf(prefix, sizeof(prefix), "element %d: ", i + 1);
		if ((e = load_expr(ld, c, elem, path, where, prefix,
		    text)) != NULL)
			(*out)[(*n)++] = e;
	}
}

static void
load_audience(struct campaign_load *ld, const config_setting_t *g,
    struct campaign *c)
{
	config_setting_t *s;
	const char *name;
	char path[64];
	int i;

	if (!config_setting_is_group(g)) {
		campaign_error(ld, g, "audience", "expected a group {"
		    " include = [...]; exclude = [...]; }");
		return;
	}
	for (i = 0; i < config_setting_length(g); i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		name = config_setting_name(s);
		snprintf(path, sizeof(path), "audience.%s", name);
		if (strcmp(name, "include") == 0)
			load_exprs(ld, c, s, path, "audience.include",
			    &c->include, &c->ninclude);
		else if (strcmp(name, "exclude") == 0)
			load_exprs(ld, c, s, path, "audience.exclude",
			    &c->exclude, &c->nexclude);
		else
			campaign_error(ld, s, path, "unknown setting");
	}
}

/*
 * A variant's match setting (S: NULL for none, then its name) into
 * V->match.
 */
static void
load_match(struct campaign_load *ld, struct campaign *c,
    const config_setting_t *g, const config_setting_t *s,
    struct campaign_variant *v)
{
	char path[192];

	snprintf(path, sizeof(path), "variants.%s.match", v->name);
	if (s == NULL)
		v->match = load_expr(ld, c, g, path, "variants", "", v->name);
	else if (config_setting_type(s) != CONFIG_TYPE_STRING)
		campaign_error(ld, s, path, "expected an expression such as"
		    " \"language_de & currency_chf\"");
	else
		v->match = load_expr(ld, c, s, path, "variants.match", "",
		    config_setting_get_string(s));
}

static void
load_variant(struct campaign_load *ld, struct campaign *c,
    const config_setting_t *g, struct campaign_variant *v)
{
	const config_setting_t *match = NULL;
	config_setting_t *s;
	const char *val, *why;
	char path[192];
	int i, len;

	snprintf(v->name, sizeof(v->name), "%s", config_setting_name(g));
	if (!config_setting_is_group(g)) {
		campaign_error(ld, g, "variants", "%s: expected a group"
		    " { offer = \"...\"; }", v->name);
		return;
	}
	len = config_setting_length(g);
	v->values = xcalloc((size_t)len + 1, sizeof(*v->values));
	for (i = 0; i < len; i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		snprintf(path, sizeof(path), "variants.%s.%s", v->name,
		    config_setting_name(s));
		/* a value of that name would be a placeholder nobody uses */
		if (strcmp(config_setting_name(s), "send_after") != 0 &&
		    str_distance(config_setting_name(s), "send_after") <= 2) {
			campaign_error(ld, s, path, "did you mean send_after?");
			continue;
		}
		if (strcmp(config_setting_name(s), "match") == 0) {
			if (c == NULL)
				campaign_error(ld, s, path, "the default"
				    " variant is everyone's: it takes no"
				    " match");
			match = s;
			continue;
		}
		if (strcmp(config_setting_name(s), "send_local") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING ||
			    conf_local_parse(config_setting_get_string(s),
			    &v->local) == -1)
				campaign_error(ld, s, path, "expected a local"
				    " time such as \"10:00\" or a window such"
				    " as \"09:00-11:00\"");
			else
				v->has_local = 1;
			continue;
		}
		if (strcmp(config_setting_name(s), "send_after") == 0) {
			why = "expected a string";
			if (config_setting_type(s) != CONFIG_TYPE_STRING ||
			    conf_due_parse(config_setting_get_string(s),
			    &v->send_after, &why) == -1)
				campaign_error(ld, s, path, "%s", why);
			continue;
		}
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			campaign_error(ld, s, path, "expected a string");
			continue;
		}
		val = config_setting_get_string(s);
		if (!parse_utf8_valid(val, strlen(val))) {
			campaign_error(ld, s, path, "not valid UTF-8");
			continue;
		}
		v->values[v->nvalues].name = xstrdup(config_setting_name(s));
		v->values[v->nvalues].value = xstrdup(val);
		v->nvalues++;
	}
	if (c != NULL)
		load_match(ld, c, g, match, v);
}

static void
load_variants(struct campaign_load *ld, const config_setting_t *g,
    struct campaign *c)
{
	config_setting_t *s;
	int i, len, have_default = 0;

	if (!config_setting_is_group(g)) {
		campaign_error(ld, g, "variants", "expected a group of"
		    " variants { vip = { ... }; default = { ... }; }");
		return;
	}
	len = config_setting_length(g);
	c->variants = xcalloc((size_t)len + 1, sizeof(*c->variants));
	c->variant_match = xcalloc((size_t)len + 1,
	    sizeof(*c->variant_match));
	for (i = 0; i < len; i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		if (strcmp(config_setting_name(s), "default") == 0) {
			load_variant(ld, NULL, s, &c->dflt);
			have_default = 1;
			continue;
		}
		if (!valid_name(config_setting_name(s))) {
			campaign_error(ld, s, "variants", "'%s' is not a"
			    " segment name", config_setting_name(s));
			continue;
		}
		load_variant(ld, c, s, &c->variants[c->nvariants]);
		if (c->variants[c->nvariants].match == NULL) {
			free_variant(&c->variants[c->nvariants]);
			memset(&c->variants[c->nvariants], 0,
			    sizeof(c->variants[0]));
			continue;
		}
		c->variant_match[c->nvariants] =
		    c->variants[c->nvariants].match;
		c->nvariants++;
	}
	if (!have_default)
		campaign_error(ld, g, "variants", "a default variant is"
		    " required: default = { ... };");
}

/*
 * Whether TEXT says how to opt out: the word STOP, in any case, which
 * segfeed and the gateways take as an opt-out (US carriers refuse
 * marketing texts without it).
 */
static int
says_stop(const char *text)
{
	const char *p;

	for (p = text; (p = strcasestr(p, "stop")) != NULL; p += 4)
		if ((p == text || !isalpha((unsigned char)p[-1])) &&
		    !isalpha((unsigned char)p[4]))
			return 1;
	return 0;
}

static void
load_sms(struct campaign_load *ld, const config_setting_t *g,
    struct campaign *c)
{
	config_setting_t *s;
	const char *name, *why, *text;
	char path[64], err[256];
	int i;

	if (!config_setting_is_group(g)) {
		campaign_error(ld, g, "sms", "expected a group { segments ="
		    " [...]; text = \"...\"; }");
		return;
	}
	for (i = 0; i < config_setting_length(g); i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		name = config_setting_name(s);
		snprintf(path, sizeof(path), "sms.%s", name);
		if (strcmp(name, "segments") == 0) {
			load_exprs(ld, c, s, path, "sms.segments",
			    &c->sms.segments, &c->sms.nsegments);
		} else if (strcmp(name, "text") == 0) {
			text = config_setting_type(s) == CONFIG_TYPE_STRING ?
			    config_setting_get_string(s) : NULL;
			if (text == NULL || *text == '\0')
				campaign_error(ld, s, path, "expected a"
				    " non-empty string");
			else if (!parse_utf8_valid(text, strlen(text)))
				campaign_error(ld, s, path, "not valid UTF-8");
			else if (template_check(text, strlen(text), NULL,
			    NULL, err, sizeof(err)) == -1)
				campaign_error(ld, s, path, "%s", err);
			else if (!says_stop(text))
				campaign_error(ld, s, path, "no opt-out"
				    " wording: say how to stop, such as \"Reply"
				    " STOP to opt out\"");
			else
				c->sms.text = xstrdup(text);
		} else if (strcmp(name, "send_after") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING ||
			    parse_time(config_setting_get_string(s),
			    &c->sms.send_after, &why) == -1)
				campaign_error(ld, s, path, "expected a time"
				    " such as \"2026-12-01T09:00:00Z\"");
		} else if (strcmp(name, "channel") == 0) {
			text = config_setting_type(s) == CONFIG_TYPE_STRING ?
			    config_setting_get_string(s) : "";
			if (strcmp(text, "email_and_sms") == 0)
				c->sms.channel = CHANNEL_WITH_EMAIL;
			else if (strcmp(text, "sms_if_no_email") == 0)
				c->sms.channel = CHANNEL_IF_NO_EMAIL;
			else if (strcmp(text, "sms") == 0)
				c->sms.channel = CHANNEL_SMS_ONLY;
			else
				campaign_error(ld, s, path, "expected"
				    " \"email_and_sms\", \"sms_if_no_email\""
				    " or \"sms\"");
		} else {
			campaign_error(ld, s, path, "unknown setting");
		}
	}
	if (c->sms.nsegments == 0)
		campaign_error(ld, g, "sms.segments", "required: the segments"
		    " an SMS is for, such as [ \"cart_abandoner\" ]");
	if (config_setting_get_member(g, "text") == NULL)
		campaign_error(ld, g, "sms.text", "required");
}

/* A share in percent, to two decimals, into hundredths: 0, or -1. */
static int
load_share(struct campaign_load *ld, const config_setting_t *s,
    const char *path, int *out)
{
	double v;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else
		v = -1;
	/*
	 * Hundredths exactly: 12.345 is a typo, not a share.  Compared with
	 * a tolerance: 1.1 * 100 is not 110 in binary floating point.
	 */
	if (!(v >= 0 && v <= 100) || fabs(v * 100 - round(v * 100)) > 1e-6) {
		campaign_error(ld, s, path, "expected a percentage from 0 to"
		    " 100, to at most two decimals");
		return -1;
	}
	*out = (int)lround(v * 100);
	return 0;
}

/* stop_if = [ "ordered" ]: the goals that stop a copy before it goes. */
static void
load_goals(struct campaign_load *ld, const config_setting_t *g,
    struct campaign *c)
{
	const config_setting_t *s;
	const char *name;
	unsigned goal;
	int i;

	if (!config_setting_is_array(g)) {
		campaign_error(ld, g, "stop_if", "expected a list such as"
		    " [ \"ordered\" ]");
		return;
	}
	for (i = 0; i < config_setting_length(g); i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		name = config_setting_get_string(s);
		if (name == NULL || (goal = conf_goal_parse(name)) == 0)
			campaign_error(ld, s, "stop_if", "%s: expected"
			    " \"ordered\"", name != NULL ? name : "?");
		else
			c->goals |= goal;
	}
}

static void
load_arms(struct campaign_load *ld, const config_setting_t *g,
    struct campaign *c)
{
	struct campaign_arms *a = &c->arms;
	config_setting_t *s;
	const char *name;
	char path[64];
	int i, bad = 0;

	if (!config_setting_is_group(g)) {
		campaign_error(ld, g, "arms", "expected a group { tailored ="
		    " 80; broad = 10; none = 10; }");
		return;
	}
	for (i = 0; i < config_setting_length(g); i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		name = config_setting_name(s);
		snprintf(path, sizeof(path), "arms.%s", name);
		if (strcmp(name, "tailored") == 0)
			bad |= load_share(ld, s, path, &a->tailored);
		else if (strcmp(name, "broad") == 0)
			bad |= load_share(ld, s, path, &a->broad);
		else if (strcmp(name, "none") == 0)
			bad |= load_share(ld, s, path, &a->none);
		else if (strcmp(name, "experiment") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING ||
			    !valid_id(config_setting_get_string(s)))
				campaign_error(ld, s, path, "expected letters,"
				    " digits and . _ - : (at most %d)",
				    CAMPAIGN_ID_MAX - 1);
			else
				snprintf(a->experiment,
				    sizeof(a->experiment), "%s",
				    config_setting_get_string(s));
		} else
			campaign_error(ld, s, path, "unknown setting");
	}
	if (!bad && a->tailored + a->broad + a->none != CAMPAIGN_ARMS_WHOLE)
		campaign_error(ld, g, "arms", "tailored, broad and none add"
		    " up to %d.%02d%%, not 100%%",
		    (a->tailored + a->broad + a->none) / 100,
		    (a->tailored + a->broad + a->none) % 100);
	a->set = 1;
}

static void
load_campaign(struct campaign_load *ld, config_t *cfg, struct campaign *c)
{
	config_setting_t *root = config_root_setting(cfg), *s;
	const char *name;
	int i, have_id = 0, have_variants = 0;

	snprintf(c->dflt.name, sizeof(c->dflt.name), "default");
	for (i = 0; i < config_setting_length(root); i++) {
		s = config_setting_get_elem(root, (unsigned)i);
		name = config_setting_name(s);
		if (strcmp(name, "id") == 0) {
			have_id = 1;
			if (config_setting_type(s) != CONFIG_TYPE_STRING ||
			    !valid_id(config_setting_get_string(s)))
				campaign_error(ld, s, "id", "expected letters,"
				    " digits and . _ - : (at most %d)",
				    CAMPAIGN_ID_MAX - 1);
			else
				snprintf(c->id, sizeof(c->id), "%s",
				    config_setting_get_string(s));
		} else if (strcmp(name, "audience") == 0) {
			load_audience(ld, s, c);
		} else if (strcmp(name, "variants") == 0) {
			have_variants = 1;
			load_variants(ld, s, c);
		} else if (strcmp(name, "sms") == 0) {
			load_sms(ld, s, c);
		} else if (strcmp(name, "class") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING ||
			    !valid_name(config_setting_get_string(s)))
				campaign_error(ld, s, name, "expected a class"
				    " name such as \"triggered\"");
			else
				snprintf(c->class_name, sizeof(c->class_name),
				    "%s", config_setting_get_string(s));
			c->class_line = config_setting_source_line(s);
		} else if (strcmp(name, "arms") == 0) {
			load_arms(ld, s, c);
		} else if (strcmp(name, "stop_if") == 0) {
			load_goals(ld, s, c);
		} else {
			campaign_error(ld, s, name, "unknown setting");
		}
	}
	if (!have_id)
		campaign_error(ld, NULL, "id", "missing");
	else if (c->arms.set && c->arms.experiment[0] == '\0')
		snprintf(c->arms.experiment, sizeof(c->arms.experiment), "%s",
		    c->id);
	if (!have_variants)
		campaign_error(ld, NULL, "variants", "missing: at least"
		    " default = { ... };");
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf names in DIR, sorted; NULL with ERR. */
static char **
list_files(const char *dir, size_t *n, char *err, size_t errlen)
{
	struct dirent *de;
	char **v = NULL;
	size_t len, cap = 0;
	DIR *d;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s\n", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (*n + 1 >= cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	qsort(v, *n, sizeof(*v), compare_names);
	return v;
}

/* How far a slip may go: one edit in a short name, two in a longer. */
static size_t
slip_max(const char *name)
{
	return strlen(name) <= 4 ? 1 : 2;
}

/* Keeps K as *BEST when it is nearer NAME than the best so far. */
static void
nearer(const char *name, const char *k, const char **best, size_t *dist)
{
	size_t d = str_distance(name, k);

	if (d < *dist) {
		*dist = d;
		*best = k;
	}
}

static const char *const facet_prefixes[] = {
	"country_", "language_", "currency_"
};
/* a category's buying cycle: "lapsed_coffee", "due_coffee" */
static const char *const cycle_prefixes[] = { "lapsed_", "due_" };

/* The configured category nearest NAME, into *BEST and *DIST. */
static void
nearest_category(const struct conf_segments *s, const char *name,
    const char **best, size_t *dist)
{
	size_t i;

	for (i = 0; i < s->lapsed.ncategory_days; i++)
		nearer(name, s->lapsed.category_days[i].name, best, dist);
	for (i = 0; i < s->nsku_prefixes; i++)
		nearer(name, s->sku_prefixes[i].value, best, dist);
	for (i = 0; i < s->nname_keywords; i++)
		nearer(name, s->name_keywords[i].value, best, dist);
}

/* "lapsed_cofee": the category after a cycle prefix misspelt. */
static int
cycle_slip(const char *name, const struct conf_segments *s,
    const char *prefix, char *suggest, size_t len)
{
	const char *cat = name + strlen(prefix), *best = NULL;
	size_t dist = (size_t)-1;

	nearest_category(s, cat, &best, &dist);
	if (dist == 0 || best == NULL || dist > slip_max(cat))
		return 0;
	snprintf(suggest, len, "%s%s", prefix, best);
	return 1;
}

/*
 * What NAME was meant to be, when it is no segment or facet that C knows
 * but a slip away from one: the name, into SUGGEST; else 0 (known, or a
 * category the shop's data may bring).
 */
static int
name_slip(const char *name, const struct conf *c, char *suggest,
    size_t len)
{
	const struct conf_segments *s = &c->seg;
	const char *best = NULL, *us;
	size_t dist = (size_t)-1, i, p;
	char fixed[CONF_NAME_MAX + 16];

	for (i = 0; i < sizeof(facet_prefixes) / sizeof(facet_prefixes[0]);
	    i++)
		if (strncmp(name, facet_prefixes[i],
		    strlen(facet_prefixes[i])) == 0)
			return 0;
	for (i = 0; i < sizeof(cycle_prefixes) / sizeof(cycle_prefixes[0]);
	    i++)
		if (strncmp(name, cycle_prefixes[i],
		    strlen(cycle_prefixes[i])) == 0)
			return cycle_slip(name, s, cycle_prefixes[i], suggest,
			    len);
	for (i = 0; i < LC_COUNT; i++)
		nearer(name, conf_lifecycle_name((enum conf_lifecycle)i), &best,
		    &dist);
	nearer(name, "cart_abandoner", &best, &dist);
	nearest_category(s, name, &best, &dist);
	if (dist == 0)
		return 0;
	if (best != NULL && dist <= slip_max(name)) {
		snprintf(suggest, len, "%s", best);
		return 1;
	}
	/* "contry_de", "lapsd_coffee": a prefix misspelt */
	if ((us = strchr(name, '_')) == NULL)
		return 0;
	p = (size_t)(us - name) + 1;
	snprintf(fixed, sizeof(fixed), "%.*s", (int)p, name);
	for (i = 0; i < sizeof(facet_prefixes) / sizeof(facet_prefixes[0]);
	    i++) {
		if (str_distance(fixed, facet_prefixes[i]) <= 2) {
			snprintf(suggest, len, "%s%s", facet_prefixes[i],
			    name + p);
			return 1;
		}
	}
	/* "due_" is too short to tell a slip from a category's name */
	if (str_distance(fixed, cycle_prefixes[0]) == 1) {
		snprintf(suggest, len, "%s%s", cycle_prefixes[0], name + p);
		return 1;
	}
	return 0;
}

/* 1 when a variant of C holds each recipient's copy to a time of
 * theirs: send_after from a fact, or send_local. */
static int
campaign_held_per_recipient(const struct campaign *c)
{
	size_t i;

	for (i = 0; i < c->nvariants; i++)
		if (c->variants[i].send_after.from != DUE_FIXED ||
		    c->variants[i].has_local)
			return 1;
	return c->dflt.send_after.from != DUE_FIXED || c->dflt.has_local;
}

/*
 * What campaign C needs from the configuration CF: arms need
 * outbox.key_file, a copy held per recipient re-injection; a name a slip
 * away from a segment or facet is an error that names it.
 */
static void
check_campaign(struct campaign_load *ld, const struct campaign *c,
    const struct conf *cf)
{
	const struct campaign_name *cn;
	char suggest[CONF_NAME_MAX + 16];
	size_t j;

	if (c->class_name[0] != '\0' && conf_class_policy(cf,
	    c->class_name) == NULL) {
		buf_printf(&ld->errs, "%s:%u: class: '%s' is not one of the"
		    " classes of the configuration (classes = { ... }) nor"
		    " promotional\n", c->file, c->class_line, c->class_name);
		ld->nerrs++;
	}
	if (campaign_held_per_recipient(c) &&
	    cf->outbox.reinject_url[0] == '\0') {
		buf_printf(&ld->errs, "%s: send_after from a fact or send_local"
		    " holds each recipient's copy in the outbox:"
		    " outbox.reinject_url is required\n", c->file);
		ld->nerrs++;
	}
	if (c->sms.text != NULL && campaign_held_per_recipient(c)) {
		buf_printf(&ld->errs, "%s: sms: a text does not wait for each"
		    " recipient's send_after from a fact or send_local: send"
		    " it in a campaign of its own\n", c->file);
		ld->nerrs++;
	}
	if (c->sms.text != NULL && c->sms.channel == CHANNEL_SMS_ONLY &&
	    cf->sms.driver == SMS_OFF) {
		buf_printf(&ld->errs, "%s: sms.channel: \"sms\" with"
		    " sms.driver off: the segments it names would get neither"
		    " email nor SMS\n", c->file);
		ld->nerrs++;
	}
	if (c->arms.set && cf->outbox.keylen == 0) {
		buf_printf(&ld->errs, "%s: arms: outbox.key_file is required:"
		    " who falls in which arm is drawn with it, so that nobody"
		    " can steer it\n", c->file);
		ld->nerrs++;
	}
	for (j = 0; j < c->nnames; j++) {
		cn = &c->names[j];
		if (!name_slip(cn->name, cf, suggest, sizeof(suggest)))
			continue;
		buf_printf(&ld->errs, "%s:%u: %s: '%s' is no segment or facet:"
		    " did you mean '%s'?\n", c->file, cn->line, cn->where,
		    cn->name, suggest);
		ld->nerrs++;
	}
}

int
campaign_set_load(const char *dir, const struct conf *cf,
    struct campaign_set **out, char *err, size_t errlen)
{
	struct campaign_set *set;
	struct campaign_load ld;
	struct campaign *c;
	char **names, path[4096];
	struct stat sb;
	size_t n, i, j;
	config_t cfg;
	int line;

	if ((names = list_files(dir, &n, err, errlen)) == NULL)
		return -1;
	set = xcalloc(1, sizeof(*set));
	set->v = xcalloc(n + 1, sizeof(*set->v));
	memset(&ld, 0, sizeof(ld));
	buf_init(&ld.errs, 64 * 1024);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		c = &set->v[set->n++];
		c->file = xstrdup(path);
		ld.file = c->file;
		config_init(&cfg);
		/* a directory named x.conf: libconfig's reader exits on it */
		if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode)) {
			buf_printf(&ld.errs, "%s: not a regular file\n", path);
			ld.nerrs++;
		} else if (conf_has_include(path, &line)) {
			buf_printf(&ld.errs, "%s:%d: @include: not supported,"
			    " a campaign is one file\n", path, line);
			ld.nerrs++;
		} else if (config_read_file(&cfg, path) != CONFIG_TRUE) {
			buf_printf(&ld.errs, "%s:%d: %s\n", path,
			    config_error_line(&cfg), config_error_text(&cfg));
			ld.nerrs++;
		} else {
			load_campaign(&ld, &cfg, c);
			if (cf != NULL)
				check_campaign(&ld, c, cf);
		}
		config_destroy(&cfg);
		for (j = 0; c->id[0] != '\0' && j + 1 < set->n; j++)
			if (strcmp(set->v[j].id, c->id) == 0) {
				buf_printf(&ld.errs, "%s: id: '%s' is also"
				    " the id of %s\n", path, c->id,
				    set->v[j].file);
				ld.nerrs++;
			}
	}
	conf_free_strlist(names, n);
	if (ld.nerrs > 0) {
		snprintf(err, errlen, "%s", buf_str(&ld.errs));
		buf_free(&ld.errs);
		campaign_set_free(set);
		return -1;
	}
	buf_free(&ld.errs);
	*out = set;
	return 0;
}

void
campaign_set_free(struct campaign_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		free_campaign(&set->v[i]);
	free(set->v);
	free(set);
}

const struct campaign *
campaign_find(const struct campaign_set *set, const char *id)
{
	size_t i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (strcmp(set->v[i].id, id) == 0)
			return &set->v[i];
	return NULL;
}

static const char *
variant_value(const struct campaign_variant *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->nvalues; i++)
		if (strcmp(v->values[i].name, name) == 0)
			return v->values[i].value;
	return NULL;
}

const char *
campaign_value(const struct campaign *c, int variant, const char *name)
{
	const char *v = NULL;

	if (variant >= 0 && (size_t)variant < c->nvariants)
		v = variant_value(&c->variants[variant], name);
	return v != NULL ? v : variant_value(&c->dflt, name);
}

const struct conf_window *
campaign_local(const struct campaign *c, int variant)
{
	const struct campaign_variant *v = variant >= 0 &&
	    (size_t)variant < c->nvariants ? &c->variants[variant] : &c->dflt;

	return v->has_local ? &v->local : NULL;
}

const struct conf_due *
campaign_due(const struct campaign *c, int variant)
{
	if (variant >= 0 && (size_t)variant < c->nvariants)
		return &c->variants[variant].send_after;
	return &c->dflt.send_after;
}

const char *
campaign_variant_name(const struct campaign *c, int variant)
{
	if (variant >= 0 && (size_t)variant < c->nvariants)
		return c->variants[variant].name;
	return "default";
}

int
campaign_variant_find(const struct campaign *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nvariants; i++)
		if (strcmp(c->variants[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
campaign_variant_value(const struct campaign *c, const char *variant,
    const char *name)
{
	return campaign_value(c, campaign_variant_find(c, variant), name);
}

const struct conf_policy *
campaign_policy(const struct campaign *c, const struct conf *cf)
{
	const struct conf_policy *pol = conf_class_policy(cf, c->class_name);

	return pol != NULL ? pol : &cf->policy;
}
