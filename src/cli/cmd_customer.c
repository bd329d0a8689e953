/*
 * cmd_customer.c - a customer's rights over their data, by hand:
 *
 * segctl customer export EMAIL: everything the store holds about them,
 * as one JSON document (store_customer_rows), to answer Shopify's
 * customers/data_request, which segfeed(8) logs, or an access request.
 *
 * segctl customer redact [--yes] EMAIL: their personal data erased (a
 * GDPR erasure that did not come as Shopify's customers/redact, which
 * segfeed applies itself), with the same audit_redact() segfeed uses.
 * Without --yes it only says what would go, from a transaction it rolls
 * back.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "audit.h"
#include "cli.h"
#include "conf.h"
#include "parse.h"
#include "store_audit.h"
#include "store_lookup.h"

static void
redact_print(const char *email, int64_t id, const struct store_redaction *r,
    int done)
{
	printf("%s (customer %lld) %s: %lld audit rows blanked, %lld ledger"
	    " rows, %lld outbox jobs, %lld consent rows, %lld events\n",
	    email, (long long)id, done ? "erased" : "would be erased",
	    (long long)r->audit_rows, (long long)r->ledger_rows,
	    (long long)r->jobs, (long long)r->consent_rows,
	    (long long)r->events);
	if (r->audit_unsealed > 0)
		printf("%lld audit rows from before schema version 12 keep"
		    " their recipient: the chain hashed it as it is\n",
		    (long long)r->audit_unsealed);
}

static int
customer_redact(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 }
	};
	char email[PARSE_EMAIL_MAX + 1], hash[65], head[AUDIT_ANCHOR_MAX];
	struct store_redaction r;
	struct audit_chain ch;
	struct store *st;
	struct conf *cf;
	const char *why;
	int64_t id;
	int c, yes = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "y", opts, NULL)) != -1) {
		if (c != 'y') {
			cli_warnx("usage: segctl customer redact [--yes] EMAIL");
			return 2;
		}
		yes = 1;
	}
	if (argc - optind != 1) {
		cli_warnx("usage: segctl customer redact [--yes] EMAIL");
		return 2;
	}
	if (parse_email(argv[optind], email, sizeof(email), &why) == -1) {
		cli_warnx("'%s': %s", argv[optind], why);
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL || (st = cli_store(cli, 0)) == NULL)
		return 1;
	conf_hash_hex(cf, hash);
	if (store_begin(st) == -1 ||
	    (rc = store_customer_find(st, email, &id)) == -1) {
		cli_warnx("%s", store_error(st));
		store_rollback(st);
		store_close(st);
		return 1;
	}
	if (rc == 1) {
		store_rollback(st);
		store_close(st);
		cli_warnx("%s: no such customer: nothing to erase", email);
		return 1;
	}
	if (audit_begin(st, &ch) == -1) {
		cli_warnx("%s", store_error(st));
		store_rollback(st);
		store_close(st);
		return 1;
	}
	rc = audit_redact(st, &ch, id, cli->now, "segctl customer redact", hash, &r);
	if (rc == 0 && yes)
		rc = store_commit(st);
	else
		store_rollback(st);
	audit_anchor_format(&ch, head, sizeof(head));
	audit_end(&ch);
	if (rc == -1) {
		cli_warnx("%s: %s", email, store_error(st));
		store_rollback(st);
		store_close(st);
		return 1;
	}
	if (yes && (rc = store_checkpoint_truncate(st)) != 0)
		cli_warnx("the erased bytes stay in the WAL until its next"
		    " full checkpoint: %s", rc == 1 ? "a reader holds it" :
		    store_error(st));
	store_close(st);
	redact_print(email, id, &r, yes);
	if (yes)
		printf("%s\n", head);
	else
		printf("nothing changed: run again with --yes to erase\n");
	return 0;
}

struct export {
	JsonBuilder	*b;
	const char	*table;		/* the member open, NULL: none */
};

/* A time column ("at", "created_at", ...): written as ISO 8601. */
static int
is_time(const char *name)
{
	size_t n = strlen(name);

	return strcmp(name, "at") == 0 ||
	    (n > 3 && strcmp(name + n - 3, "_at") == 0);
}

static int
export_row(const char *table, int n, const char *const *names,
    const char *const *values, void *arg)
{
	struct export *x = arg;
	char when[32];
	int i, single = strcmp(table, "customer") == 0;

	if (x->table == NULL || strcmp(x->table, table) != 0) {
		if (x->table != NULL && strcmp(x->table, "customer") != 0)
			json_builder_end_array(x->b);
		json_builder_set_member_name(x->b, table);
		if (!single)
			json_builder_begin_array(x->b);
		x->table = table;
	}
	json_builder_begin_object(x->b);
	for (i = 0; i < n; i++) {
		json_builder_set_member_name(x->b, names[i]);
		if (values[i] == NULL)
			json_builder_add_null_value(x->b);
		else if (is_time(names[i])) {
			format_time(strtoll(values[i], NULL, 10), when,
			    sizeof(when));
			json_builder_add_string_value(x->b, when);
		} else
			json_builder_add_string_value(x->b, values[i]);
	}
	json_builder_end_object(x->b);
	return 0;
}

static int
customer_export(struct cli *cli, int argc, char **argv)
{
	char email[PARSE_EMAIL_MAX + 1], dir[PATH_MAX], why[512];
	struct export x = { NULL, NULL };
	struct store *st;
	const char *bad;
	int64_t id;
	int rc;

	if (argc != 2) {
		cli_warnx("usage: segctl customer export EMAIL");
		return 2;
	}
	if (parse_email(argv[1], email, sizeof(email), &bad) == -1) {
		cli_warnx("'%s': %s", argv[1], bad);
		return 2;
	}
	if (cli_archive_dir(cli, dir, sizeof(dir)) == -1 ||
	    (st = cli_store(cli, STORE_READONLY)) == NULL)
		return 1;
	if ((rc = store_customer_find(st, email, &id)) != 0) {
		if (rc == 1)
			cli_warnx("%s: no such customer: the store holds"
			    " nothing under this address", email);
		else
			cli_warnx("%s", store_error(st));
		store_close(st);
		return 1;
	}
	x.b = json_builder_new();
	json_builder_begin_object(x.b);
	/* the rows archived too: an access request is owed them all */
	if ((rc = store_customer_rows(st, id, export_row, &x)) != 0)
		snprintf(why, sizeof(why), "%s", store_error(st));
	else
		rc = audit_archive_rows(st, *dir ? dir : NULL, id, export_row,
		    &x, why, sizeof(why));
	if (x.table != NULL && strcmp(x.table, "customer") != 0)
		json_builder_end_array(x.b);
	json_builder_end_object(x.b);
	if (rc != 0) {
		cli_warnx("%s", why);
		g_object_unref(x.b);
		store_close(st);
		return 1;
	}
	store_close(st);
	rc = cli_json_print(x.b);
	g_object_unref(x.b);
	return rc == -1 ? 1 : 0;
}

int
cmd_customer(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "export") == 0)
		return customer_export(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "redact") == 0)
		return customer_redact(cli, argc - 1, argv + 1);
	cli_warnx("usage: segctl customer export EMAIL |"
	    " customer redact [--yes] EMAIL");
	return 2;
}
