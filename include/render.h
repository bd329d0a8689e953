/*
 * render - tailoring a whole message, MIME-correctly, for one variant.
 *
 * A message is parsed once (render_parse) and can then be rendered for
 * several variants (render_apply), as a split message needs.  Only
 * text/plain and text/html parts that are not attachments are touched:
 * their transfer encoding (quoted-printable, base64) and charset are
 * decoded, the template is rendered in UTF-8, and the result is encoded
 * back into the part's charset (UTF-8 when the original cannot hold the
 * text) and transfer encoding (7bit that gains 8-bit text becomes
 * quoted-printable).  Every other part, attachments above all, is written
 * back as it came.  The Subject is decoded from RFC 2047, rendered as a
 * header (CR/LF in a value is refused) and encoded again.
 *
 * Messages the renderer cannot be sure of (GMime's critical parser
 * warnings, an unknown charset or transfer encoding in a text part) are
 * refused by render_parse with a reason; the caller passes them through
 * untouched and logs the reason.
 *
 * Bytes in and out are those of the milter: CRLF line ends.  The input
 * is the caller's memory (the milter's spool: in memory, or a mapped
 * temporary file), borrowed until render_free and never copied whole; the
 * output goes to a writer function in pieces, so that a 50 MB message
 * never needs two copies in memory.
 *
 * render_init() is called once, before any thread starts.
 */
#ifndef SEGM_RENDER_H
#define SEGM_RENDER_H

#include <stddef.h>

#include "template.h"

struct render_msg;

void	 render_init(void);

/* What render_apply changed, beyond the body it wrote. */
struct render_result {
	char	*subject;		/* new Subject value, or NULL */
	char	*content_type;		/* new top-level values, or NULL */
	char	*transfer_encoding;
	int	 body_changed;		/* 0: the body came out the same */
	unsigned parts;			/* text parts rendered */
};

/*
 * Parses the LEN bytes at DATA, which stay the caller's and must outlive
 * the result.  NULL with ERR when the message must pass untouched.
 */
struct render_msg *render_parse(const char *data, size_t len, char *err,
	    size_t errlen);
void	 render_free(struct render_msg *m);

/* The decoded Subject (UTF-8), "" when there is none. */
const char *render_subject(const struct render_msg *m);
/* 1 when the Subject or a text part uses one of NAMES (N of them). */
int	 render_uses(const struct render_msg *m, const char *const *names,
	    size_t n);
/* Text parts found: plain and HTML. */
void	 render_count(const struct render_msg *m, unsigned *plain,
	    unsigned *html);

/*
 * Renders M for VARS.  The new body (everything after the top-level
 * header, CRLF) is handed to PUT(ARG, bytes, n) in order, in pieces; PUT
 * returns 0, or -1 to stop.  RES says what else changed, and the caller
 * frees it with render_result_free().  Returns 0, or -1 with ERR
 * ("part 2 (text/html): line 4: unknown placeholder {{x}}", or "writing
 * the body failed" when PUT stopped it).
 */
int	 render_apply(struct render_msg *m, const struct template_vars *vars,
	    int (*put)(void *arg, const void *p, size_t n), void *arg,
	    struct render_result *res, char *err, size_t errlen);
void	 render_result_free(struct render_result *res);
/*
 * Every template error render_apply would meet in M with VARS, each
 * once (template_errors), in the message's order, to REPORT with the
 * line of the message it is on (the line of the tag it is about; a
 * base64 part's first line, since its lines are not the text's) and
 * WHAT ("Subject: ...", "part 2 (text/html): ...").  Returns how many.
 */
size_t	 render_errors(const struct render_msg *m,
	    const struct template_vars *vars,
	    void (*report)(void *arg, unsigned long line, const char *what),
	    void *arg);
/*
 * Text part I as the last render_apply rendered it (UTF-8, LF), and
 * whether it is HTML; NULL past the last part or before any rendering.
 */
const char *render_text(const struct render_msg *m, size_t i, int *html);

/*
 * Renders one text in the header context and encodes it per RFC 2047,
 * folded for a header line.  Caller frees *OUT.
 */
int	 render_header(const char *utf8, const struct template_vars *vars,
	    char **out, char *err, size_t errlen);

/*
 * SMS text: how a text travels, for the limit on parts and for the
 * gateway's coding.  GSM-7 when every character is in the GSM 03.38
 * alphabet (the extension characters ^ { } \\ [ ] ~ | and the euro sign
 * take two septets), 160 septets in one part, 153 in each part of a
 * longer one; otherwise UCS-2, 70 UTF-16 units in one part, 67 in each
 * part of a longer one.  An escape pair or a surrogate pair never
 * straddles two parts, as phones would not reassemble it.
 */
enum render_sms_coding {
	RENDER_SMS_GSM7,
	RENDER_SMS_UCS2
};

struct render_sms_size {
	enum render_sms_coding coding;
	size_t		 chars;		/* characters */
	size_t		 units;		/* septets, or UTF-16 units */
	size_t		 parts;
};

/* 0 and *OUT for TEXT (LEN bytes of UTF-8), or -1 if it is not UTF-8. */
int	 render_sms_size(const char *text, size_t len,
	    struct render_sms_size *out);
const char *render_sms_coding_name(enum render_sms_coding c);

/* An SMS text's rendering, however many parts it takes. */
#define RENDER_SMS_TEXT_MAX	(16 * 1024)	/* far over 10 parts of UCS-2 */

struct buf;
struct campaign_set;
struct conf;
/*
 * Renders every campaign's SMS text for each of its variants (customer
 * names empty, so defaults count) and reports its coding and parts into
 * REPORT; a text that fails or is over sms.max_parts goes into ERRS as
 * FILE: problem.  0, or -1 when ERRS got anything.
 */
int	 render_sms_check(const struct conf *conf,
	    const struct campaign_set *set, struct buf *report,
	    struct buf *errs);

#endif
