/*
 * optout.c - SMS replies, as a gateway's inbound log exports them: a
 * STOP (or one of its synonyms) opts the number out from the time it was
 * received, whoever the number belongs to in the store.
 *
 *   phone,received_at,text        (also From / Body / date_sent headers)
 *   +15551234567,2026-11-20T18:02:11Z,STOP
 *
 * Only the whole reply counts, one word, any case, as carriers and
 * gateways read it (Twilio's defaults and the CTIA list): "stop" opts
 * out, "please stop texting me on weekends" is for a human to read and
 * is skipped, not guessed at.  Other replies (HELP, START) are skipped
 * too: a START is not consent evidence this store can keep.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "import_int.h"

enum { OC_PHONE, OC_AT, OC_TEXT };

static const struct import_column optout_cols[] = {
	[OC_PHONE] = { { "phone", "from", "From" }, 1 },
	[OC_AT] = { { "received_at", "date_sent", "DateSent" }, 1 },
	[OC_TEXT] = { { "text", "body", "Body" }, 1 },
};

static const char *const stop_words[] = {
	"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
	"OPTOUT", NULL
};

/* 1 if TEXT, trimmed of blanks and a final '.' or '!', is a stop word. */
static int
is_stop(const char *text)
{
	char word[32];
	size_t n, i;

	while (isspace((unsigned char)*text))
		text++;
	n = strlen(text);
	while (n > 0 && (isspace((unsigned char)text[n - 1]) ||
	    text[n - 1] == '.' || text[n - 1] == '!'))
		n--;
	if (n == 0 || n >= sizeof(word))
		return 0;
	memcpy(word, text, n);
	word[n] = '\0';
	for (i = 0; stop_words[i] != NULL; i++)
		if (strcasecmp(word, stop_words[i]) == 0)
			return 1;
	return 0;
}

static int
optout_record(struct import_ctx *ctx)
{
	char phone[24], detail[160];
	const char *why, *v, *text;
	int64_t at;
	int rc;

	v = import_col(ctx, OC_PHONE);
	if (*v == '\0')
		return import_bad(ctx, "phone: missing");
	if (parse_phone(v, NULL, phone, sizeof(phone), &why) == -1 ||
	    phone[0] != '+')
		return import_bad(ctx, "phone: '%s': %s", v, *why ? why :
		    "not in international form");
	v = import_col(ctx, OC_AT);
	if (*v == '\0')
		return import_bad(ctx, "received_at: missing");
	if (parse_time(v, &at, &why) == -1)
		return import_bad(ctx, "received_at: '%s': %s", v, why);
	text = import_col(ctx, OC_TEXT);
	if (!is_stop(text)) {
		ctx->stats->skipped++;
		return 0;
	}
	snprintf(detail, sizeof(detail), "reply '%.32s' at %s:%lu", text,
	    ctx->path, ctx->row.line);
	rc = store_phone_mark(ctx->st, phone, PHONE_OPTED_OUT, "sms_reply",
	    detail, at, NULL);
	if (rc == -1)
		return import_store_fail(ctx);
	import_tally(ctx, rc == 0 ? STORE_INSERTED : STORE_UNCHANGED);
	return 0;
}

const struct import_format import_optout_native = {
	"optout", IMPORT_OPTOUT, NULL, optout_cols,
	sizeof(optout_cols) / sizeof(optout_cols[0]), optout_record, NULL, NULL,
	NULL, NULL
};
