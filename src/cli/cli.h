/*
 * cli.h - what the segctl command files share.
 *
 * segctl.c parses the global options into a struct cli and dispatches to
 * a command from its table; commands report their own errors on stderr,
 * prefixed "segctl: ", and return the process exit status.
 */
#ifndef SEGM_CLI_H
#define SEGM_CLI_H

#include <stddef.h>
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
/*
 * Where the audit archives are, into DIR (LEN bytes): audit.archive_dir,
 * else "audit-archive" beside the store; "" for a PostgreSQL store
 * without audit.archive_dir (none yet).  0, or -1 if reported.
 */
int	 cli_archive_dir(struct cli *cli, char *dir, size_t len);
/* Opens the store named by -s or the configuration; NULL if reported. */
struct store	*cli_store(struct cli *cli, int flags);
void	 cli_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --format: text (each command's own), csv or json; report's html
 * too, which cli_format_parse never returns.  0, or -1 for another. */
enum cli_format { CLI_TEXT, CLI_CSV, CLI_JSON, CLI_HTML };
int	 cli_format_parse(const char *s, enum cli_format *out);

/*
 * Listings as CSV or JSON (rows.c): cli_rows_begin writes the header
 * (CSV) or opens the array (JSON), cli_rows_add a row of N values (NULL:
 * empty, JSON null), cli_rows_end the rest to standard output: 0, or -1
 * when it could not be written.
 */
struct cli_column {
	const char	*name;
	int		 numeric;	/* a JSON number, not a string */
};
struct cli_rows;
struct cli_rows *cli_rows_begin(enum cli_format f,
	    const struct cli_column *cols, size_t n);
void	 cli_rows_add(struct cli_rows *r, const char *const *values);
int	 cli_rows_end(struct cli_rows *r);
/* B's document to standard output, pretty-printed: 0, or -1. */
struct _JsonBuilder;
int	 cli_json_print(struct _JsonBuilder *b);

int	 cmd_init(struct cli *cli, int argc, char **argv);
int	 cmd_import(struct cli *cli, int argc, char **argv);
int	 cmd_segments(struct cli *cli, int argc, char **argv);
int	 cmd_explain(struct cli *cli, int argc, char **argv);
int	 cmd_demo_data(struct cli *cli, int argc, char **argv);
int	 cmd_check(struct cli *cli, int argc, char **argv);
int	 cmd_info(struct cli *cli, int argc, char **argv);
int	 cmd_store(struct cli *cli, int argc, char **argv);
int	 cmd_prune(struct cli *cli, int argc, char **argv);
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
