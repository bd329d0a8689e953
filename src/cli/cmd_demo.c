/*
 * cmd_demo.c - segctl demo-data: a synthetic store in real export formats.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "demo.h"
#include "parse.h"

int
cmd_demo_data(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "customers", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
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
		default:
			cli_warnx("usage: segctl demo-data [--customers N]"
			    " [--seed S] DIR");
			return 2;
		}
	}
	if (argc - optind != 1) {
		cli_warnx("usage: segctl demo-data [--customers N] [--seed S]"
		    " DIR");
		return 2;
	}
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
