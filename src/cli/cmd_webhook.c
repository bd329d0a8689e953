/*
 * cmd_webhook.c - segctl webhook test [--url URL]: whether a running
 * segfeed(8) takes the gateways' webhooks as this configuration signs
 * them, before a shop points Shopify, Twilio or Kannel at it.  And
 * segctl webhook prune [--days N]: forget the deliveries (and SMS
 * replies) taken more than N days ago (default 14), whose ids only guard
 * against the gateways' retries, which end within hours; and empty the
 * WAL, where the pages a redaction rewrote (customers/redact) may still
 * hold what it erased.
 *
 * For each gateway whose secret is in feedback.credentials_file, two
 * requests that change nothing: one signed as the gateway signs (it must
 * be answered 2xx) and one signed with a wrong secret (it must be
 * refused 401 or 403).  Shopify gets a shop/update delivery, a topic
 * segfeed answers and ignores; Twilio a status callback and Kannel a
 * delivery report for a message nobody sent.  Requests go to URL (the
 * public one, through the proxy, tests the whole way) or straight to
 * feedback.listen.  Exit 0 when every answer is as expected, 1 when one
 * is not (each said on its line), 2 on usage or configuration errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "digest.h"
#include "store_feedback.h"

#define WEBHOOK_USAGE	"usage: segctl webhook test [--url URL] |" \
			" webhook prune [--days N]"
#define PRUNE_DAYS	14

static const char shopify_body[] = "{\"id\": 0, \"name\": \"segctl webhook"
    " test\", \"email\": \"\"}";
static const char twilio_form[] = "MessageSid=SMsegctlwebhooktest0000000000"
    "000000&MessageStatus=sent";

struct target {
	char	 base[1024];	/* "http://127.0.0.1:12580", no '/' at the end */
	char	 socket[108];	/* a unix socket's path, "" for TCP */
};

static size_t
discard(void *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/*
 * One request to T's PATH: a POST of BODY (NULL: a GET) with HEADERS.
 * The HTTP status, or -1 with why in ERR.
 */
static long
request(const struct target *t, const char *path, const char *body,
    struct curl_slist *headers, char *err, size_t errlen)
{
	char url[1600], cerr[CURL_ERROR_SIZE] = "";
	long status = -1;
	CURL *c;

	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	snprintf(url, sizeof(url), "%s%s", t->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (t->socket[0] != '\0')
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->socket);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s: %s", url, cerr);
	curl_easy_cleanup(c);
	return status;
}

/* Prints one check; 0 when STATUS is what was wanted, else 1. */
static int
judge(const char *gw, const char *what, long status, int want_ok,
    const char *err)
{
	int ok = want_ok ? status >= 200 && status < 300 :
	    status == 401 || status == 403;

	if (status == -1)
		printf("%-8s %-28s FAILED: %s\n", gw, what, err);
	else
		printf("%-8s %-28s %s (%ld)\n", gw, what, ok ? "ok" :
		    want_ok ? "FAILED: refused" : "FAILED: accepted", status);
	return ok ? 0 : 1;
}

/* A Shopify delivery signed with SECRET: its answer's status. */
static long
shopify_send(const struct target *t, const char *secret, char *err,
    size_t errlen)
{
	struct curl_slist *h = NULL;
	char sig[DIGEST_HMAC_B64_MAX], line[256];
	long status;

	if (digest_hmac_b64(EVP_sha256(), secret, shopify_body,
	    sizeof(shopify_body) - 1, sig) == -1) {
		snprintf(err, errlen, "no secret to sign with");
		return -1;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "X-Shopify-Topic: shop/update");
	snprintf(line, sizeof(line), "X-Shopify-Webhook-Id: segctl-test-%lld"
	    "-%ld", (long long)time(NULL), (long)getpid());
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Shopify-Hmac-Sha256: %s", sig);
	h = curl_slist_append(h, line);
	status = request(t, "/shopify/webhook", shopify_body, h, err, errlen);
	curl_slist_free_all(h);
	return status;
}

/*
 * A Twilio status callback signed with TOKEN over the URL Twilio would
 * call, feedback.public_url's (segfeed checks that one).
 */
static long
twilio_send(const struct target *t, const struct conf *cf,
    const char *token, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	char sig[DIGEST_HMAC_B64_MAX], line[256];
	const char *base = cf->feedback.public_url;
	struct buf data;
	size_t n = strlen(base);
	long status;

	/* the form's names and values, sorted by name: Twilio's rule */
	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_init(&data, 4096);
	buf_printf(&data, "%.*s/twilio/statusMessageSidSMsegctlwebhooktest"
	    "0000000000000000MessageStatussent", (int)n, base);
	if (digest_hmac_b64(EVP_sha1(), token, data.data, data.len,
	    sig) == -1) {
		buf_free(&data);
		snprintf(err, errlen, "no token to sign with");
		return -1;
	}
	buf_free(&data);
	h = curl_slist_append(h, "Content-Type:"
	    " application/x-www-form-urlencoded");
	snprintf(line, sizeof(line), "X-Twilio-Signature: %s", sig);
	h = curl_slist_append(h, line);
	status = request(t, "/twilio/status", twilio_form, h, err, errlen);
	curl_slist_free_all(h);
	return status;
}

/* A Kannel delivery report carrying SECRET. */
static long
kannel_send(const struct target *t, const char *secret, char *err,
    size_t errlen)
{
	char path[3 * CONF_SECRET_MAX + 64], *esc;
	long status;
	CURL *c = curl_easy_init();

	if (c == NULL || (esc = curl_easy_escape(c, secret, 0)) == NULL) {
		if (c != NULL)
			curl_easy_cleanup(c);
		snprintf(err, errlen, "curl: out of memory");
		return -1;
	}
	snprintf(path, sizeof(path), "/kannel/dlr?secret=%s&id=segctl-test&"
	    "type=8", esc);
	curl_free(esc);
	curl_easy_cleanup(c);
	status = request(t, path, NULL, NULL, err, errlen);
	return status;
}

/* Where the requests go: URL, else feedback.listen. */
static int
target_of(const struct conf *cf, const char *url, struct target *t)
{
	struct conf_listen l;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (url != NULL) {
		if (strncmp(url, "http://", 7) != 0 &&
		    strncmp(url, "https://", 8) != 0)
			return -1;
		snprintf(t->base, sizeof(t->base), "%s", url);
	} else if (conf_listen_parse(cf->feedback.listen, &l) == -1)
		return -1;
	else if (l.is_unix) {
		snprintf(t->base, sizeof(t->base), "http://localhost");
		snprintf(t->socket, sizeof(t->socket), "%s", l.path);
	} else if (strchr(l.host, ':') != NULL)
		snprintf(t->base, sizeof(t->base), "http://[%s]:%d", l.host,
		    l.port);
	else
		snprintf(t->base, sizeof(t->base), "http://%s:%d", l.host,
		    l.port);
	n = strlen(t->base);
	while (n > 0 && t->base[n - 1] == '/')
		t->base[--n] = '\0';
	return 0;
}

/* segctl webhook prune [--days N] */
static int
webhook_prune(struct cli *cli, const char *days_arg)
{
	struct store *st;
	long long days = PRUNE_DAYS;
	int64_t n = 0;
	char *end;
	int rc;

	if (days_arg != NULL) {
		days = strtoll(days_arg, &end, 10);
		if (*days_arg == '\0' || *end != '\0' || days < 1 ||
		    days > 3650) {
			cli_warnx("--days: '%s' is not 1 to 3650", days_arg);
			return 2;
		}
	}
	if ((st = cli_store(cli, 0)) == NULL)
		return 1;
	if (store_webhook_prune(st, cli->now - (int64_t)days * 86400,
	    &n) == -1) {
		cli_warnx("webhook prune: %s", store_error(st));
		store_close(st);
		return 1;
	}
	rc = store_checkpoint_truncate(st);
	if (rc != 0)
		cli_warnx("webhook prune: WAL not emptied: %s", rc == 1 ?
		    "a reader held on; the next prune tries again" :
		    store_error(st));
	store_close(st);
	if (!cli->quiet)
		printf("%lld deliveries older than %lld days forgotten\n",
		    (long long)n, days);
	return 0;
}

int
cmd_webhook(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "days", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	const char *url = NULL, *days = NULL;
	struct conf_feedback *f;
	struct target t;
	struct conf *cf;
	char err[2400];
	int ch, bad = 0, tried = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'u')
			url = optarg;
		else if (ch == 'd')
			days = optarg;
		else {
			cli_warnx("%s", WEBHOOK_USAGE);
			return 2;
		}
	}
	if (optind == argc - 1 && strcmp(argv[optind], "prune") == 0 &&
	    url == NULL)
		return webhook_prune(cli, days);
	if (optind != argc - 1 || strcmp(argv[optind], "test") != 0 ||
	    days != NULL) {
		cli_warnx("%s", WEBHOOK_USAGE);
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL)
		return 2;
	f = &cf->feedback;
	if (!f->configured) {
		cli_warnx("no feedback group in %s: segfeed is not set up",
		    cf->path);
		return 2;
	}
	if (target_of(cf, url, &t) == -1) {
		cli_warnx("--url: '%s' is not an http:// or https:// URL",
		    url != NULL ? url : f->listen);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (f->shopify_secret[0] != '\0') {
		tried++;
		bad |= judge("shopify", "signed delivery", shopify_send(&t,
		    f->shopify_secret, err, sizeof(err)), 1, err);
		bad |= judge("shopify", "wrongly signed delivery",
		    shopify_send(&t, "not the secret", err, sizeof(err)), 0,
		    err);
	}
	if (f->twilio_auth_token[0] != '\0') {
		tried++;
		bad |= judge("twilio", "signed status callback",
		    twilio_send(&t, cf, f->twilio_auth_token, err,
		    sizeof(err)), 1, err);
		bad |= judge("twilio", "wrongly signed callback",
		    twilio_send(&t, cf, "not the token", err, sizeof(err)), 0,
		    err);
	}
	if (f->kannel_secret[0] != '\0') {
		tried++;
		bad |= judge("kannel", "delivery report", kannel_send(&t,
		    f->kannel_secret, err, sizeof(err)), 1, err);
		bad |= judge("kannel", "report with a wrong secret",
		    kannel_send(&t, "not-the-secret", err, sizeof(err)), 0,
		    err);
	}
	curl_global_cleanup();
	if (tried == 0) {
		cli_warnx("no gateway secret in feedback.credentials_file:"
		    " nothing to test");
		return 2;
	}
	return bad ? 1 : 0;
}
