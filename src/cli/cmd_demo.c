/*
 * cmd_demo.c - segctl demo-data: a synthetic store in real export formats;
 * with --outcomes CAMPAIGN, what that campaign's recipients then order,
 * with a known true effect per segment and arm (demo.h), for the lift
 * report to be checked against.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "cli.h"
#include "conf.h"
#include "demo.h"
#include "parse.h"
#include "store_report.h"

#define DEMO_USAGE	"usage: segctl demo-data [--customers N] [--seed S]" \
	" DIR | --outcomes CAMPAIGN [--seed S] FILE"

struct simulate {
	struct demo_outcomes	*o;
	const struct campaign	*c;
	int64_t			 recipients, ordered;
};

static int
simulate_one(const struct store_outcome *so, void *arg)
{
	struct simulate *x = arg;
	struct demo_recipient r;
	char email[PARSE_EMAIL_MAX + 1];
	const char *why;

	/* an erased customer's row has no address left to order under */
	if (parse_email(so->recipient, email, sizeof(email), &why) == -1)
		return 0;
	memset(&r, 0, sizeof(r));
	r.customer_id = so->customer_id;
	r.email = so->recipient;
	r.segment = so->segment;
	r.arm = so->arm;
	r.at = so->at;
	if (x->c != NULL && strcmp(so->decision, "held_out") != 0)
		r.code = campaign_variant_value(x->c, so->variant, "code");
	x->recipients++;
	x->ordered += demo_outcomes_add(x->o, &r);
	return 0;
}

static int
simulate(struct cli *cli, const char *campaign, uint64_t seed,
    const char *path)
{
	static const char *const segments[] = { "lapsed", "vip", "repeat",
	    "first_time", "subscriber", "b2b" };
	struct campaign_set *set = NULL;
	struct simulate x;
	struct store *st;
	struct conf *cf;
	char err[4096];
	size_t i;
	int rc;

	if ((cf = cli_conf(cli)) == NULL ||
	    (st = cli_store(cli, STORE_READONLY)) == NULL)
		return 1;
	memset(&x, 0, sizeof(x));
	if (campaign_set_load(cf->milter.campaigns_dir, NULL, &set, err,
	    sizeof(err)) == 0)
		x.c = campaign_find(set, campaign);
	x.o = demo_outcomes_open(path, campaign, seed,
	    cf->report.attribution_days * 86400, err, sizeof(err));
	if (x.o == NULL) {
		cli_warnx("%s", err);
		campaign_set_free(set);
		store_close(st);
		return 1;
	}
	/* a window of 0: the recipients alone, not their orders */
	rc = store_campaign_outcomes(st, campaign, 0, simulate_one, &x);
	if (rc == -1)
		cli_warnx("%s", store_error(st));
	if (demo_outcomes_close(x.o, err, sizeof(err)) == -1) {
		cli_warnx("%s", err);
		rc = -1;
	}
	campaign_set_free(set);
	store_close(st);
	if (rc == -1)
		return 1;
	if (x.recipients == 0) {
		cli_warnx("campaign '%s': nobody delivered or held out",
		    campaign);
		return 1;
	}
	if (!cli->quiet) {
		printf("%s: %lld of %lld recipients of %s ordered within %lld"
		    " days (seed %llu); the truth, the chance of an order:\n"
		    "%-12s %8s %8s %8s\n", path, (long long)x.ordered,
		    (long long)x.recipients, campaign,
		    (long long)cf->report.attribution_days,
		    (unsigned long long)seed, "segment", "none", "broad",
		    "tailored");
		for (i = 0; i < sizeof(segments) / sizeof(segments[0]); i++)
			printf("%-12s %7.2f%% %7.2f%% %7.2f%%\n", segments[i],
			    100 * demo_truth(segments[i], "none"),
			    100 * demo_truth(segments[i], "broad"),
			    100 * demo_truth(segments[i], "tailored"));
	}
	return 0;
}

int
cmd_demo_data(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "customers", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "outcomes", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *outcomes = NULL;
	struct demo_params p;
	const char *why;
	char err[1024];
	int64_t v;
	int ch;

	memset(&p, 0, sizeof(p));
	p.customers = 1000;
	p.seed = 1;
	p.now = cli->now;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_int(optarg, 1, 100000000, &v, &why) == -1) {
				cli_warnx("--customers: '%s': %s", optarg, why);
				return 2;
			}
			p.customers = (uint64_t)v;
			break;
		case 's':
			if (parse_int(optarg, 0, INT64_MAX, &v, &why) == -1) {
				cli_warnx("--seed: '%s': %s", optarg, why);
				return 2;
			}
			p.seed = (uint64_t)v;
			break;
		case 'o':
			outcomes = optarg;
			break;
		default:
			cli_warnx("%s", DEMO_USAGE);
			return 2;
		}
	}
	if (argc - optind != 1) {
		cli_warnx("%s", DEMO_USAGE);
		return 2;
	}
	if (outcomes != NULL)
		return simulate(cli, outcomes, p.seed, argv[optind]);
	if (demo_write(&p, argv[optind], err, sizeof(err)) == -1) {
		cli_warnx("%s", err);
		return 1;
	}
	if (!cli->quiet)
		printf("%s: %llu customers (seed %llu): customers.csv"
		    " orders.csv products.csv events.csv consent.csv"
		    " engagement.csv\n", argv[optind],
		    (unsigned long long)p.customers,
		    (unsigned long long)p.seed);
	return 0;
}
