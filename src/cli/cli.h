/*
 * cli.h - what the segctl command files share.
 *
 * segctl.c parses the global options into a struct cli and dispatches to
 * a command from its table; commands report their own errors on stderr,
 * prefixed "segctl: ", and return the process exit status.
 */
#ifndef SEGM_CLI_H
#define SEGM_CLI_H

#include <stdint.h>

struct conf;
struct store;

struct cli {
	const char	*conf_path;	/* -c, or NULL for the default */
	const char	*store_path;	/* -s overrides the configuration */
	int64_t		 now;		/* --now, else the clock */
	int		 quiet;
	struct conf	*conf;		/* loaded by cli_conf() */
};

/* Loads the configuration once; NULL after reporting why. */
struct conf	*cli_conf(struct cli *cli);
/* The store's path: -s, else the configuration's; NULL if reported. */
const char	*cli_store_path(struct cli *cli);
/* Opens the store named by -s or the configuration; NULL if reported. */
struct store	*cli_store(struct cli *cli, int flags);
void	 cli_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int	 cmd_init(struct cli *cli, int argc, char **argv);
int	 cmd_import(struct cli *cli, int argc, char **argv);
int	 cmd_segments(struct cli *cli, int argc, char **argv);
int	 cmd_explain(struct cli *cli, int argc, char **argv);
int	 cmd_demo_data(struct cli *cli, int argc, char **argv);
int	 cmd_check(struct cli *cli, int argc, char **argv);
int	 cmd_audit(struct cli *cli, int argc, char **argv);
int	 cmd_preview(struct cli *cli, int argc, char **argv);
int	 cmd_report(struct cli *cli, int argc, char **argv);
int	 cmd_outbox(struct cli *cli, int argc, char **argv);
int	 cmd_unsubscribe(struct cli *cli, int argc, char **argv);
int	 cmd_optout(struct cli *cli, int argc, char **argv);
int	 cmd_bounce(struct cli *cli, int argc, char **argv);
int	 cmd_webhook(struct cli *cli, int argc, char **argv);
int	 cmd_customer(struct cli *cli, int argc, char **argv);

#endif
