/*
 * fuzz_conf.c - the configuration and campaign files, as segmilter -n,
 * a start and a reload read them: the input written as segmilter.conf
 * and loaded (conf_load, with the sms group's checks and the files it
 * names), and written as the one campaign file of a campaigns directory
 * and loaded (campaign_set_load), then every SMS text of the campaigns
 * rendered as the load does (render_sms_check).  Operators write these
 * files, and campaign files are often generated from a shop's data:
 * a typo or a stray byte must be refused with a reason, never crash a
 * reload of the running milter.
 *
 * Beyond crashes and leaks: a refused file must say why; what loads must
 * answer sanely (SMS windows within the day, rates above 0, every
 * campaign found by its own id, values of every variant readable, due
 * times and local windows in range, only known goals).
 *
 * The input is also written as a credentials file and loaded as both
 * sms.credentials_file (webhook driver) and feedback.credentials_file
 * by a fixed configuration: secrets files are read by the same libconfig
 * and refused as strictly.
 *
 * "@dir@" in the input stands for the fuzzer's own directory, made once
 * per process and removed at exit, so that seeds can name the key and
 * credentials files it holds (0600, one per driver, one readable by
 * anyone); every input overwrites the two files it is written to.
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "campaign.h"
#include "conf.h"
#include "daemon.h"
#include "render.h"

#define DIR_TOKEN	"@dir@"

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char conf_path[96], campaigns[96], campaign_path[128];
static char cred_path[96], cred_conf_path[96];

/* Files the input may name as @dir@/NAME, and their contents. */
static const struct {
	const char	*name;
	const char	*text;
	mode_t		 mode;
} files[] = {
	{ "key", "0123456789abcdef0123456789abcdef\n", 0600 },
	{ "short.key", "0123456789\n", 0600 },
	{ "twilio.cred", "account_sid = \"AC00000000000000000000000000000000"
	    "\";\nauth_token = \"fuzz\";\n", 0600 },
	{ "kannel.cred", "username = \"fuzz\";\npassword = \"fuzz\";\n",
	    0600 },
	{ "webhook.cred", "secret = \"fuzz secret\";\n", 0600 },
	{ "open.cred", "secret = \"anyone can read this\";\n", 0644 },
	{ "include.cred", "secret = \"x\";\n@include \"/\"\n", 0600 },
	{ "feedback.cred", "twilio_auth_token = \"fuzz\";\n"
	    "kannel_secret = \"fuzz\";\nshopify_secret = \"fuzz\";\n", 0600 },
	{ "page.html", "<p>{{email}}</p>\n", 0600 },
};
#define NFILES	(sizeof(files) / sizeof(files[0]))

static void
cleanup(void)
{
	char path[128];
	size_t i;

	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		unlink(path);
	}
	unlink(campaign_path);
	unlink(cred_path);
	unlink(cred_conf_path);
	rmdir(campaigns);
	unlink(conf_path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[128];
	size_t i;
	FILE *fp;

	(void)argc;
	(void)argv;
	/*
	 * libconfig's @include and credentials_file open whatever path
	 * the input names: /dev/stdin must not wait for a terminal.
	 */
	if (freopen("/dev/null", "r", stdin) == NULL) {
		perror("/dev/null");
		exit(1);
	}
	snprintf(dir, sizeof(dir), "/tmp/segm-fuzz-conf-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(cleanup);
	snprintf(conf_path, sizeof(conf_path), "%s/segmilter.conf", dir);
	snprintf(campaigns, sizeof(campaigns), "%s/campaigns", dir);
	snprintf(campaign_path, sizeof(campaign_path), "%s/fuzz.conf",
	    campaigns);
	if (mkdir(campaigns, 0700) == -1) {
		perror(campaigns);
		exit(1);
	}
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		if ((fp = fopen(path, "w")) == NULL ||
		    fputs(files[i].text, fp) == EOF || fclose(fp) != 0 ||
		    chmod(path, files[i].mode) == -1) {
			perror(path);
			exit(1);
		}
	}
	snprintf(cred_path, sizeof(cred_path), "%s/input.cred", dir);
	snprintf(cred_conf_path, sizeof(cred_conf_path), "%s/cred.conf", dir);
	if ((fp = fopen(cred_conf_path, "w")) == NULL || fprintf(fp,
	    "store = \"%s/store.db\";\n"
	    "milter = { unsubscribe_url = \"https://shop.example/u/\"; };\n"
	    "outbox = { key_file = \"%s/key\"; };\n"
	    "sms = { driver = \"webhook\"; url = \"https://gw.example/sms\";\n"
	    "  credentials_file = \"%s\"; };\n"
	    "feedback = { public_url = \"https://shop.example/\";\n"
	    "  page_template = \"%s/page.html\"; credentials_file = \"%s\"; };\n",
	    dir, dir, cred_path, dir, cred_path) < 0 || fclose(fp) != 0) {
		perror(cred_conf_path);
		exit(1);
	}
	render_init();
	return 0;
}

/* The input with every @dir@ replaced, into PATH; 0 or -1. */
static int
write_input(const char *path, const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *tok;
	size_t toklen = strlen(DIR_TOKEN);
	FILE *fp;
	int rc = 0;

	if ((fp = fopen(path, "wb")) == NULL)
		return -1;
	while (p < end) {
		tok = memmem(p, (size_t)(end - p), DIR_TOKEN, toklen);
		if (tok == NULL)
			tok = end;
		if (fwrite(p, 1, (size_t)(tok - p), fp) != (size_t)(tok - p))
			rc = -1;
		if (tok == end)
			break;
		if (fputs(dir, fp) == EOF)
			rc = -1;
		p = tok + toklen;
	}
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

static void
check_conf(const struct conf *c)
{
	static const char *const where[][2] = {
		{ "", "" }, { "US", "" }, { "US", "FL" }, { "us", "fl" },
		{ "DE", "BE" }, { "FR", "" }, { "", "FL" }
	};
	static const char *const currencies[] = {
		"USD", "EUR", "GBP", "JPY", "", "usd"
	};
	struct conf_window w;
	char hash[65];
	size_t i;

	conf_hash_hex(c, hash);
	if (strlen(hash) != 64)
		abort();
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		w = conf_sms_window(&c->sms, where[i][0], where[i][1]);
		if (w.start < 0 || w.start > w.end || w.end > 24 * 60)
			abort();
	}
	for (i = 0; i < sizeof(currencies) / sizeof(currencies[0]); i++)
		if (!(conf_rate(&c->seg, currencies[i]) > 0.0))
			abort();
	(void)conf_lapsed_days(&c->seg, "coffee");
	for (i = 0; i < LC_COUNT; i++)
		if (conf_lifecycle_name(c->seg.priority[i])[0] == '?')
			abort();
}

static void
check_campaigns(const struct conf *c, const struct campaign_set *set)
{
	static const char *const names[] = {
		"offer", "code", "headline", "send_after", "", "default"
	};
	const struct campaign *cp;
	const struct conf_due *due;
	const struct conf_window *w;
	struct buf report, errs;
	size_t i, k;
	int v;

	for (i = 0; i < set->n; i++) {
		cp = &set->v[i];
		if (campaign_find(set, cp->id) != cp ||
		    (cp->goals & ~CONF_GOAL_ORDERED) != 0)
			abort();
		for (v = -1; v <= (int)cp->nvariants; v++) {
			if (campaign_variant_name(cp, v) == NULL)
				abort();
			/* what loads is in range: a due time's fact and
			 * offset, a local window inside the day */
			due = campaign_due(cp, v);
			if (due->from >= DUE_NFROM || (due->from != DUE_FIXED &&
			    (due->at < 0 || due->at > 366 * 86400)))
				abort();
			if ((w = campaign_local(cp, v)) != NULL &&
			    (w->start < 0 || w->start >= w->end ||
			    w->end > 24 * 60))
				abort();
			for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
				(void)campaign_value(cp, v, names[k]);
		}
	}
	buf_init(&report, 1024 * 1024);
	buf_init(&errs, 64 * 1024);
	if (render_sms_check(c, set, &report, &errs) == -1 && errs.len == 0)
		abort();
	buf_free(&report);
	buf_free(&errs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct campaign_set *set;
	struct conf *c, *dflt;
	char err[8192];

	if (write_input(conf_path, data, size) == -1 ||
	    write_input(campaign_path, data, size) == -1)
		abort();

	err[0] = '\0';
	if (conf_load(conf_path, &c, err, sizeof(err)) == 0)
		check_conf(c);
	else if (err[0] == '\0')
		abort();	/* refused without a reason */
	else
		c = NULL;	/* not set by a failed load */

	/* the campaigns under that configuration, or the defaults */
	dflt = conf_defaults();
	err[0] = '\0';
	if (campaign_set_load(campaigns, c != NULL ? c : dflt, &set, err,
	    sizeof(err)) == 0) {
		check_campaigns(c != NULL ? c : dflt, set);
		campaign_set_free(set);
	} else if (err[0] == '\0') {
		abort();
	}
	conf_free(dflt);
	conf_free(c);

	/* the input as the secrets file of both groups */
	if (write_input(cred_path, data, size) == -1 ||
	    chmod(cred_path, 0600) == -1)
		abort();
	err[0] = '\0';
	if (conf_load(cred_conf_path, &c, err, sizeof(err)) == 0)
		conf_free(c);
	else if (err[0] == '\0')
		abort();
	return 0;
}
