/*
 * mime.c - walking a message with GMime and rendering its text parts.
 *
 * GMime parses the message in place (a persistent stream over the
 * caller's bytes) and says where each text part's header block and
 * content lie.  A rendered message is written by splicing: the original
 * bytes from part to part, and for each text part its newly encoded
 * content (and its header block, when the charset or the transfer
 * encoding changed).  Everything else - preamble, boundaries,
 * attachments, epilogue - is the original byte for byte (CRLF line
 * ends, which the milter's bytes have), by construction; and the bulk of
 * a message costs a copy instead of GMime's writer and its two line-end
 * filters (440,000 of 1.36 million instructions per 20 KB message).
 * Each text part's decoded UTF-8 text is kept as the template, so the
 * message can be rendered for one variant after another.
 *
 * Line ends: decoded text is held with LF only; what is written gains
 * the CR back before every bare LF (crlf_put).
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "buf.h"
#include "render.h"
#include "xalloc.h"

#define RENDER_PART_MAX	(64 * 1024 * 1024)	/* one rendered text part */
/*
 * All text parts of one rendering together: a placeholder can stand for
 * a value a hundred times its length, so the bound grows with the message
 * (a floor for small ones) rather than with the count of its parts.
 */
#define RENDER_BUDGET_MIN	(4 * 1024 * 1024)
#define RENDER_BUDGET_GROWTH	8
#define RENDER_LINE_MAX	998			/* RFC 5322 2.1.1 */
#define MIME_TOKEN_MAX	64	/* a media type or parameter name */
#define MIME_VALUE_MAX	256	/* a parameter value */
#define MIME_PARAMS_MAX	16	/* parameters of a text part's type */

struct render_part {
	GMimePart		*part;
	int			 html;
	int			 top;		/* the message's own part */
	char			*charset;	/* as declared, NULL if none */
	GMimeContentEncoding	 encoding;
	char			*text;		/* decoded UTF-8, LF line ends */
	size_t			 len;
	char			*rendered;	/* the last render_apply's */
	const char		*out_charset;	/* and its charset, encoding */
	GMimeContentEncoding	 out_encoding;
	size_t			 head;		/* its header block, in data */
	size_t			 start;		/* its content: [start, end) */
	size_t			 end;
};

struct render_msg {
	GMimeMessage		*msg;
	GMimeObject		*top;
	GByteArray		*array;		/* wraps data, does not own it */
	const char		*data;		/* the caller's message */
	size_t			 datalen;
	size_t			 body;		/* where the body starts */
	struct render_part	*parts;		/* in the order of the bytes */
	size_t			 nparts;
	char			*subject;	/* decoded UTF-8 */
	char			 why[256];	/* first reason to refuse */
};

void
render_init(void)
{
	g_mime_init();
}

static int
is_utf8(const char *charset)
{
	return charset == NULL || strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "utf8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0;
}

/* Converts IN from charset FROM to TO, appending to OUT; -1 if it can't. */
static int
mime_iconv(const char *from, const char *to, const char *in, size_t len,
    struct buf *out)
{
	char chunk[4096], *ip = (char *)in, *op;
	size_t il = len, ol;
	iconv_t cd;
	int rc = 0;

	if ((cd = iconv_open(to, from)) == (iconv_t)-1)
		return -1;
	while (rc == 0) {
		op = chunk;
		ol = sizeof(chunk);
		if (iconv(cd, il > 0 ? &ip : NULL, &il, &op, &ol) ==
		    (size_t)-1 && errno != E2BIG)
			rc = -1;
		if (buf_append(out, chunk, sizeof(chunk) - ol) == -1)
			rc = -1;
		if (il == 0 && ol == sizeof(chunk))
			break;
	}
	iconv_close(cd);
	return rc;
}

/*
 * The byte scans below run over every text part of every message: they
 * go eight bytes or a memchr() at a time rather than byte by byte.
 */
static int
has_8bit(const char *p, size_t n)
{
	uint64_t w;
	size_t i;

	for (i = 0; i + sizeof(w) <= n; i += sizeof(w)) {
		memcpy(&w, p + i, sizeof(w));
		if (w & UINT64_C(0x8080808080808080))
			return 1;
	}
	for (; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

static int
has_long_line(const char *p, size_t n)
{
	const char *end = p + n, *nl;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl - p > RENDER_LINE_MAX)
			return 1;
	}
	return 0;
}

/* CRLF to LF in place (a bare CR stays); returns the new length. */
static size_t
crlf_to_lf(char *s, size_t n)
{
	char *p = s, *out = s, *end = s + n, *cr;
	size_t k;

	while ((cr = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		/* up to the CR, and the CR itself unless an LF follows */
		k = (size_t)(cr - p) + (cr + 1 < end && cr[1] == '\n' ? 0 : 1);
		memmove(out, p, k);
		out += k;
		p = cr + 1;
	}
	k = (size_t)(end - p);
	memmove(out, p, k);
	return (size_t)(out - s) + k;
}

static void
mime_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
    gpointer arg)
{
	struct render_msg *m = arg;
	const char *what;

	switch (code) {
	case GMIME_WARN_INVALID_CONTENT_TYPE:
		what = "invalid Content-Type";
		break;
	case GMIME_WARN_MALFORMED_MULTIPART:
		what = "multipart without parts";
		break;
	case GMIME_WARN_TRUNCATED_MESSAGE:
		what = "truncated message";
		break;
	case GMIME_WARN_MALFORMED_MESSAGE:
		what = "malformed message";
		break;
	case GMIME_CRIT_INVALID_HEADER_NAME:
		what = "invalid header name";
		break;
	case GMIME_CRIT_CONFLICTING_HEADER:
		what = "conflicting header";
		break;
	case GMIME_CRIT_CONFLICTING_PARAMETER:
		what = "conflicting parameter";
		break;
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		what = "multipart without a boundary";
		break;
	case GMIME_CRIT_NESTING_OVERFLOW:
		what = "MIME nested too deep";
		break;
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		what = "part without headers or content";
		break;
	default:
		return;		/* harmless for rendering */
	}
	if (m->why[0] == '\0')
		snprintf(m->why, sizeof(m->why), "%s%s%s%s at byte %lld", what,
		    item ? " '" : "", item ? item : "", item ? "'" : "",
		    (long long)offset);
}

/* Length of the line end at DATA[AT], if one is there. */
static size_t
newline_at(const struct render_msg *m, size_t at)
{
	if (at < m->datalen && m->data[at] == '\n')
		return 1;
	if (at + 1 < m->datalen && m->data[at] == '\r' &&
	    m->data[at + 1] == '\n')
		return 2;
	return 0;
}

/*
 * Where PART's header block and content lie in the message's bytes.  The
 * content is the substream GMime keeps of the input; the header block
 * starts at the first header, or, for a part without headers, is the
 * blank line before the content.  0, or -1 if GMime's offsets do not
 * describe the bytes.
 */
static int
mime_locate(struct render_msg *m, GMimePart *part, GMimeStream *content,
    struct render_part *p)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(
	    GMIME_OBJECT(part));
	gint64 off, first = -1;
	int i, n = g_mime_header_list_get_count(hl);
	size_t blank;

	if (content->bound_start < 0 ||
	    (gint64)m->datalen < content->bound_start)
		return -1;
	p->start = (size_t)content->bound_start;
	p->end = content->bound_end < 0 ? m->datalen :
	    (size_t)content->bound_end;
	if (p->end < p->start || p->end > m->datalen)
		return -1;
	if (p->top)
		return 0;	/* its header is the message's */
	for (i = 0; i < n; i++) {
		off = g_mime_header_get_offset(
		    g_mime_header_list_get_header_at(hl, i));
		if (off >= 0 && (first == -1 || off < first))
			first = off;
	}
	if (first >= 0) {
		p->head = (size_t)first;
		return p->head <= p->start ? 0 : -1;
	}
	blank = p->start >= 2 && m->data[p->start - 2] == '\r' ? 2 : 1;
	if (p->start < blank || newline_at(m, p->start - blank) != blank)
		return -1;
	p->head = p->start - blank;
	return 0;
}

/* A token of RFC 2045 5.1, of at most MAX bytes. */
static int
is_token(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n == max || (unsigned char)s[n] <= ' ' ||
		    (unsigned char)s[n] >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", s[n]) != NULL)
			return 0;
	return n > 0;
}

/* Printable ASCII, spaces included, of at most MAX bytes. */
static int
is_printable(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n == max || (unsigned char)s[n] < ' ' ||
		    (unsigned char)s[n] >= 0x7f)
			return 0;
	return 1;
}

/*
 * A text part's Content-Type is written back by mime_type_value when its
 * charset changes, never by GMime's encoder: given a long parameter name
 * and a value that is not ASCII, GMime 3.2's parameter encoder grows a
 * string until GLib aborts the process.  So a text part is taken only if
 * its type can be written as it came: tokens for the type and the names,
 * short printable ASCII values, a bounded count.  Otherwise the message
 * passes untouched with the reason.  0, or -1 with m->why set.
 */
static int
mime_check_type(struct render_msg *m, GMimeContentType *ct)
{
	GMimeParamList *pl = g_mime_content_type_get_parameters(ct);
	GMimeParam *prm;
	const char *name, *v;
	int i, n = pl != NULL ? g_mime_param_list_length(pl) : 0;

	if (!is_token(g_mime_content_type_get_media_type(ct),
	    MIME_TOKEN_MAX) ||
	    !is_token(g_mime_content_type_get_media_subtype(ct),
	    MIME_TOKEN_MAX)) {
		snprintf(m->why, sizeof(m->why), "Content-Type of a text part"
		    " is not a plain type/subtype");
		return -1;
	}
	if (n > MIME_PARAMS_MAX) {
		snprintf(m->why, sizeof(m->why), "Content-Type of a text part"
		    " has over %d parameters", MIME_PARAMS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		prm = g_mime_param_list_get_parameter_at(pl, i);
		name = g_mime_param_get_name(prm);
		v = g_mime_param_get_value(prm);
		if (!is_token(name, MIME_TOKEN_MAX)) {
			snprintf(m->why, sizeof(m->why), "Content-Type"
			    " parameter name '%.*s' is not a short token",
			    MIME_TOKEN_MAX, name);
			return -1;
		}
		if (v == NULL || !is_printable(v, MIME_VALUE_MAX)) {
			snprintf(m->why, sizeof(m->why), "Content-Type"
			    " parameter '%s' is not short printable ASCII",
			    name);
			return -1;
		}
	}
	return 0;
}

/* "; NAME=VALUE", quoted where VALUE is not a token, folded near 76. */
static int
mime_put_param(struct buf *b, size_t *col, const char *name,
    const char *value)
{
	struct buf prm;
	int rc = 0;

	buf_init(&prm, MIME_TOKEN_MAX + 2 * MIME_VALUE_MAX + 4);
	rc |= buf_printf(&prm, "%s=", name);
	if (is_token(value, MIME_VALUE_MAX))
		rc |= buf_puts(&prm, value);
	else {
		rc |= buf_putc(&prm, '"');
		for (; *value != '\0'; value++) {
			if (*value == '"' || *value == '\\')
				rc |= buf_putc(&prm, '\\');
			rc |= buf_putc(&prm, *value);
		}
		rc |= buf_putc(&prm, '"');
	}
	if (*col + 2 + prm.len > 76) {
		rc |= buf_puts(b, ";\n\t");
		*col = 1;
	} else {
		rc |= buf_puts(b, "; ");
		*col += 2;
	}
	rc |= buf_append(b, buf_str(&prm), prm.len);
	*col += prm.len;
	buf_free(&prm);
	return rc != 0 ? -1 : 0;
}

/*
 * CT as a Content-Type value (LF-folded) with CHARSET for its charset
 * parameter, every other parameter as it came; caller frees.  NULL only
 * past the cap, which mime_check_type's bounds keep out of reach.
 */
static char *
mime_type_value(GMimeContentType *ct, const char *charset)
{
	GMimeParamList *pl = g_mime_content_type_get_parameters(ct);
	GMimeParam *prm;
	const char *v;
	struct buf b;
	size_t col;
	int i, n = pl != NULL ? g_mime_param_list_length(pl) : 0;
	int rc = 0, seen = 0;

	buf_init(&b, MIME_PARAMS_MAX * (MIME_TOKEN_MAX + 2 * MIME_VALUE_MAX +
	    8) + 2 * MIME_TOKEN_MAX + 64);
	rc |= buf_printf(&b, "%s/%s", g_mime_content_type_get_media_type(ct),
	    g_mime_content_type_get_media_subtype(ct));
	col = sizeof("Content-Type: ") - 1 + b.len;
	for (i = 0; i < n; i++) {
		prm = g_mime_param_list_get_parameter_at(pl, i);
		v = g_mime_param_get_value(prm);
		if (strcasecmp(g_mime_param_get_name(prm), "charset") == 0) {
			if (seen++)
				continue;
			v = charset;
		}
		rc |= mime_put_param(&b, &col, g_mime_param_get_name(prm), v);
	}
	if (!seen)
		rc |= mime_put_param(&b, &col, "charset", charset);
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* Decodes a text part into P->text; sets m->why if it cannot. */
static void
mime_take_part(struct render_msg *m, GMimePart *part, int html)
{
	struct render_part *p, where;
	GMimeDataWrapper *w;
	GMimeStream *mem;
	GByteArray *ba;
	const char *cs, *cte;
	struct buf text;

	cte = g_mime_object_get_header(GMIME_OBJECT(part),
	    "Content-Transfer-Encoding");
	if (cte != NULL && g_mime_content_encoding_from_string(cte) ==
	    GMIME_CONTENT_ENCODING_DEFAULT) {
		snprintf(m->why, sizeof(m->why), "unknown transfer encoding"
		    " '%s'", cte);
		return;
	}
	if (mime_check_type(m, g_mime_object_get_content_type(
	    GMIME_OBJECT(part))) == -1)
		return;
	if ((w = g_mime_part_get_content(part)) == NULL)
		return;		/* an empty part: nothing to render */
	memset(&where, 0, sizeof(where));
	where.top = GMIME_OBJECT(part) == m->top;
	if (mime_locate(m, part, g_mime_data_wrapper_get_stream(w),
	    &where) == -1) {
		snprintf(m->why, sizeof(m->why), "cannot locate a text part's"
		    " bytes");
		return;
	}
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));

	buf_init(&text, RENDER_PART_MAX);
	cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part),
	    "charset");
	if (is_utf8(cs)) {
		if (has_8bit((const char *)ba->data, ba->len) &&
		    !g_utf8_validate((const char *)ba->data, ba->len, NULL)) {
			snprintf(m->why, sizeof(m->why), "text part is not"
			    " valid %s", cs ? cs : "us-ascii or UTF-8");
			goto out;
		}
		if (buf_append(&text, ba->data, ba->len) == -1)
			snprintf(m->why, sizeof(m->why), "text part too big");
	} else if (mime_iconv(g_mime_charset_iconv_name(cs), "UTF-8",
	    (const char *)ba->data, ba->len, &text) == -1) {
		snprintf(m->why, sizeof(m->why), "cannot decode charset '%s'",
		    cs);
	}
	if (m->why[0] != '\0')
		goto out;

	/* CRLF to LF: the encoders below treat a bare CR as data */
	text.len = crlf_to_lf(text.data, text.len);

	m->parts = xreallocarray(m->parts, m->nparts + 1, sizeof(*m->parts));
	p = &m->parts[m->nparts++];
	*p = where;
	p->part = part;
	p->html = html;
	p->charset = cs != NULL ? xstrdup(cs) : NULL;
	p->encoding = g_mime_part_get_content_encoding(part);
	p->len = text.len;
	p->text = buf_take(&text);
out:
	buf_free(&text);
	g_object_unref(mem);
}

static void
mime_visit(GMimeObject *parent, GMimeObject *obj, gpointer arg)
{
	struct render_msg *m = arg;
	GMimeContentType *ct;

	(void)parent;
	if (m->why[0] != '\0' || !GMIME_IS_PART(obj))
		return;
	if (g_mime_part_is_attachment(GMIME_PART(obj)))
		return;
	ct = g_mime_object_get_content_type(obj);
	if (g_mime_content_type_is_type(ct, "text", "plain"))
		mime_take_part(m, GMIME_PART(obj), 0);
	else if (g_mime_content_type_is_type(ct, "text", "html"))
		mime_take_part(m, GMIME_PART(obj), 1);
}

/*
 * The parts in the order of the bytes, none inside another, all inside
 * the body: what splicing needs.  GMime visits parts in that order, so
 * this only refuses offsets that cannot be.
 */
static int
mime_check_order(const struct render_msg *m)
{
	size_t i, at = m->body, from;

	for (i = 0; i < m->nparts; i++) {
		from = m->parts[i].top ? m->parts[i].start : m->parts[i].head;
		if (from < at)
			return -1;
		at = m->parts[i].end;
	}
	return 0;
}

struct render_msg *
render_parse(const char *data, size_t len, char *err, size_t errlen)
{
	struct render_msg *m;
	GMimeParserOptions *opts;
	GMimeStream *stream;
	GMimeParser *parser;
	const char *subject;
	gint64 end;

	if (len > G_MAXUINT) {
		snprintf(err, errlen, "message over %u bytes", G_MAXUINT);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->data = data;
	m->datalen = len;
	/* GMime reads the caller's bytes where they are, without a copy */
	m->array = g_byte_array_new_take((guint8 *)data, len);
	stream = g_mime_stream_mem_new_with_byte_array(m->array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	opts = g_mime_parser_options_new();
	g_mime_parser_options_set_warning_callback(opts, mime_warning, m);
	m->msg = g_mime_parser_construct_message(parser, opts);
	end = g_mime_parser_get_headers_end(parser);
	g_object_unref(parser);
	g_object_unref(stream);
	if (m->msg == NULL && m->why[0] == '\0')
		snprintf(m->why, sizeof(m->why), "not a MIME message");
	if (m->msg != NULL && m->why[0] == '\0') {
		if (end < 0 || (gint64)len < end)
			end = (gint64)len;
		m->body = (size_t)end + newline_at(m, (size_t)end);
		m->top = g_mime_message_get_mime_part(m->msg);
		g_mime_message_foreach(m->msg, mime_visit, m);
		subject = g_mime_message_get_subject(m->msg);
		m->subject = xstrdup(subject != NULL ? subject : "");
		if (m->why[0] == '\0' && mime_check_order(m) == -1)
			snprintf(m->why, sizeof(m->why), "text parts out of"
			    " order");
	}
	g_mime_parser_options_free(opts);
	if (m->why[0] != '\0') {
		snprintf(err, errlen, "%s", m->why);
		render_free(m);
		return NULL;
	}
	return m;
}

void
render_free(struct render_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nparts; i++) {
		free(m->parts[i].charset);
		free(m->parts[i].text);
		free(m->parts[i].rendered);
	}
	free(m->parts);
	free(m->subject);
	if (m->msg != NULL)
		g_object_unref(m->msg);
	/* the wrapper only: the bytes are the caller's */
	g_byte_array_free(m->array, FALSE);
	free(m);
}

struct uses {
	const char *const	*names;
	size_t			 n;
	int			 found;
};

static void
uses_name(void *arg, const char *name, int is_section)
{
	struct uses *u = arg;
	size_t i;

	for (i = 0; !is_section && i < u->n; i++)
		if (strcmp(name, u->names[i]) == 0)
			u->found = 1;
}

int
render_uses(const struct render_msg *m, const char *const *names, size_t n)
{
	struct uses u = { names, n, 0 };
	char err[256];
	size_t i;

	template_check(m->subject, strlen(m->subject), uses_name, &u, err,
	    sizeof(err));
	for (i = 0; !u.found && i < m->nparts; i++)
		template_check(m->parts[i].text, m->parts[i].len, uses_name,
		    &u, err, sizeof(err));
	return u.found;
}

const char *
render_text(const struct render_msg *m, size_t i, int *html)
{
	if (i >= m->nparts)
		return NULL;
	if (html != NULL)
		*html = m->parts[i].html;
	return m->parts[i].rendered;
}

const char *
render_subject(const struct render_msg *m)
{
	return m->subject;
}

void
render_count(const struct render_msg *m, unsigned *plain, unsigned *html)
{
	size_t i;

	*plain = *html = 0;
	for (i = 0; i < m->nparts; i++)
		(*(m->parts[i].html ? html : plain))++;
}

/* Where render_apply's bytes go. */
struct mime_out {
	int	(*put)(void *arg, const void *p, size_t n);
	void	*arg;
};

static int
buf_put(void *arg, const void *p, size_t n)
{
	return buf_append(arg, p, n);
}

/*
 * P's N bytes with a CR before every LF that has none, in runs between
 * the LFs.  0, or -1 when the writer fails.
 */
static int
crlf_put(const struct mime_out *o, const char *p, size_t n)
{
	const char *end = p + n, *nl, *run = p;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == run || nl[-1] != '\r') {
			if (o->put(o->arg, run, (size_t)(nl - run)) == -1 ||
			    o->put(o->arg, "\r\n", 2) == -1)
				return -1;
			run = nl + 1;
		}
		p = nl + 1;
	}
	return run < end ? o->put(o->arg, run, (size_t)(end - run)) : 0;
}

/* TEXT in transfer encoding ENC (not 7bit, 8bit or binary), into OUT. */
static int
mime_encode(GMimeContentEncoding enc, const char *text, size_t len,
    struct buf *out)
{
	GMimeEncoding state;
	size_t max;

	g_mime_encoding_init_encode(&state, enc);
	max = g_mime_encoding_outlen(&state, len);
	if (buf_reserve(out, max) == -1)
		return -1;
	out->len += g_mime_encoding_flush(&state, text, len,
	    out->data + out->len);
	out->data[out->len] = '\0';
	return 0;
}

/*
 * Renders P: its content, encoded, into CONTENT (LF line ends), and the
 * charset and transfer encoding it now needs into P->out_charset (NULL
 * for none) and P->out_encoding.  The GMime part is left as it came.
 * The rendered text's length is taken from *BUDGET, which it may not
 * exceed.
 */
static int
mime_render_part(struct render_part *p, size_t index,
    const struct template_vars *vars, size_t *budget, struct buf *content,
    char *err, size_t errlen)
{
	GMimeContentEncoding enc = p->encoding;
	const char *charset = p->charset;
	struct buf out, conv, crlf, *final = &out;
	struct mime_out to_crlf = { buf_put, &crlf };
	char why[256];
	int rc = -1;

	buf_init(&out, *budget);
	buf_init(&conv, RENDER_PART_MAX);
	if (template_render(p->text, p->len, p->html ? TEMPLATE_HTML :
	    TEMPLATE_TEXT, vars, &out, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "part %zu (text/%s): %s", index + 1,
		    p->html ? "html" : "plain", why);
		goto out;
	}
	/* back into the declared charset, or UTF-8 when it cannot hold it */
	if (is_utf8(charset)) {
		if (has_8bit(buf_str(&out), out.len) && (charset == NULL ||
		    strcasecmp(charset, "us-ascii") == 0))
			charset = "utf-8";
	} else if (mime_iconv("UTF-8", g_mime_charset_iconv_name(charset),
	    buf_str(&out), out.len, &conv) == 0)
		final = &conv;
	else
		charset = "utf-8";

	if ((enc == GMIME_CONTENT_ENCODING_DEFAULT ||
	    enc == GMIME_CONTENT_ENCODING_7BIT) &&
	    has_8bit(buf_str(final), final->len))
		enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	if ((enc == GMIME_CONTENT_ENCODING_DEFAULT ||
	    enc == GMIME_CONTENT_ENCODING_7BIT ||
	    enc == GMIME_CONTENT_ENCODING_8BIT) &&
	    has_long_line(buf_str(final), final->len))
		enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	p->out_charset = charset;
	p->out_encoding = enc;

	switch (enc) {
	case GMIME_CONTENT_ENCODING_DEFAULT:
	case GMIME_CONTENT_ENCODING_7BIT:
	case GMIME_CONTENT_ENCODING_8BIT:
	case GMIME_CONTENT_ENCODING_BINARY:
		if (buf_append(content, buf_str(final), final->len) == -1)
			goto too_big;
		break;
	case GMIME_CONTENT_ENCODING_BASE64:
		/* base64 text is CRLF before it is encoded (RFC 2045 6.8) */
		buf_init(&crlf, RENDER_PART_MAX);
		if (crlf_put(&to_crlf, buf_str(final), final->len) == -1) {
			buf_free(&crlf);
			goto too_big;
		}
		buf_free(&conv);
		conv = crlf;
		final = &conv;
		/* FALLTHROUGH */
	default:
		if (mime_encode(enc, buf_str(final), final->len, content) == -1)
			goto too_big;
		break;
	}
	*budget -= out.len;
	free(p->rendered);
	p->rendered = buf_take(&out);
	rc = 0;
	goto out;
too_big:
	snprintf(err, errlen, "part %zu (text/%s): over %d bytes rendered",
	    index + 1, p->html ? "html" : "plain", RENDER_PART_MAX);
out:
	buf_free(&out);
	buf_free(&conv);
	return rc;
}

/* Folds an encoded header value at blanks so lines stay near 78. */
static char *
fold_header(const char *v)
{
	struct buf b;
	size_t col = sizeof("Subject: ") - 1;
	const char *p, *sp;

	buf_init(&b, 64 * 1024);
	for (p = v; *p != '\0'; p = sp) {
		sp = strchr(p + 1, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		/* the fold goes before the blank, which stays: unfolding
		 * removes the line break alone (RFC 5322, 2.2.3) */
		if (p != v && *p == ' ' && col + (size_t)(sp - p) > 76) {
			buf_puts(&b, "\n");
			col = 0;
		}
		buf_append(&b, p, (size_t)(sp - p));
		col += (size_t)(sp - p);
	}
	return buf_take(&b);
}

/*
 * UTF8 as RFC 2047 encoded words where needed, folded; caller frees.
 * In UTF-8: left to choose, GMime picks the smallest charset per word,
 * and one Subject came out in windows-1251, iso-8859-15 and UTF-8.
 */
static char *
encode_header(const char *utf8)
{
	char *enc, *out;

	enc = g_mime_utils_header_encode_text(NULL, utf8, "utf-8");
	out = fold_header(enc);
	g_free(enc);
	return out;
}

int
render_header(const char *utf8, const struct template_vars *vars,
    char **out, char *err, size_t errlen)
{
	struct buf b;

	buf_init(&b, 16 * 1024);
	if (template_render(utf8, strlen(utf8), TEMPLATE_HEADER, vars, &b,
	    err, errlen) == -1) {
		buf_free(&b);
		return -1;
	}
	*out = encode_header(buf_str(&b));
	buf_free(&b);
	return 0;
}

/*
 * The original bytes [FROM, TO).  Through crlf_put too: the milter's
 * bytes are CRLF already, but a message read from a file may not be.
 */
static int
mime_copy(const struct render_msg *m, const struct mime_out *o, size_t from,
    size_t to)
{
	return to > from ? crlf_put(o, m->data + from, to - from) : 0;
}

/* Whether the field name at H (LEN bytes, blanks allowed) is NAME. */
static int
field_is(const char *h, size_t len, const char *name)
{
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	return len == strlen(name) && strncasecmp(h, name, len) == 0;
}

static int
mime_put_field(const struct mime_out *o, const char *name, const char *value)
{
	return o->put(o->arg, name, strlen(name)) == -1 ||
	    o->put(o->arg, ": ", 2) == -1 ||
	    crlf_put(o, value, strlen(value)) == -1 ||
	    o->put(o->arg, "\r\n", 2) == -1 ? -1 : 0;
}

/*
 * P's header block as it came, but for the fields TYPE and CTE replace
 * (each NULL when it stays): a replaced field is written where it first
 * was, or added at the end of the block, and its repeats are dropped.
 */
static int
mime_put_head(const struct render_msg *m, const struct render_part *p,
    const char *type, const char *cte, const struct mime_out *o)
{
	const char *h = m->data + p->head, *end = m->data + p->start;
	const char *eol, *colon;
	const char *names[2] = { "Content-Type", "Content-Transfer-Encoding" };
	const char *values[2] = { type, cte };
	int done[2] = { type == NULL, cte == NULL };
	int i, skip = 0, rc = 0;

	for (; h < end && *h != '\r' && *h != '\n'; h = eol) {
		eol = memchr(h, '\n', (size_t)(end - h));
		eol = eol != NULL ? eol + 1 : end;
		if (*h != ' ' && *h != '\t') {
			colon = memchr(h, ':', (size_t)(eol - h));
			skip = 0;
			for (i = 0; i < 2 && colon != NULL; i++) {
				if (values[i] == NULL ||
				    !field_is(h, (size_t)(colon - h), names[i]))
					continue;
				skip = 1;
				if (!done[i]++)
					rc |= mime_put_field(o, names[i],
					    values[i]);
			}
		}
		if (!skip)
			rc |= crlf_put(o, h, (size_t)(eol - h));
	}
	for (i = 0; i < 2; i++)
		if (!done[i])
			rc |= mime_put_field(o, names[i], values[i]);
	rc |= o->put(o->arg, "\r\n", 2);
	return rc != 0 ? -1 : 0;
}

/*
 * The Content-Type and Content-Transfer-Encoding values P needs as
 * rendered, each NULL when the part's own stays; 0, or -1 when the type
 * cannot be written.  Caller frees *TYPE.
 */
static int
mime_new_head(const struct render_part *p, char **type, const char **cte)
{
	*type = NULL;
	*cte = NULL;
	if (p->out_encoding != p->encoding)
		*cte = g_mime_content_encoding_to_string(p->out_encoding);
	if (p->out_charset == NULL || (p->charset != NULL &&
	    strcasecmp(p->out_charset, p->charset) == 0))
		return 0;
	*type = mime_type_value(g_mime_object_get_content_type(
	    GMIME_OBJECT(p->part)), p->out_charset);
	return *type != NULL ? 0 : -1;
}

int
render_apply(struct render_msg *m, const struct template_vars *vars,
    int (*put)(void *arg, const void *p, size_t n), void *arg,
    struct render_result *res, char *err, size_t errlen)
{
	const struct mime_out o = { put, arg };
	struct render_part *p;
	struct buf subject, content;
	char why[256], *type;
	const char *cte;
	size_t i, at = m->body, budget;

	memset(res, 0, sizeof(*res));
	buf_init(&subject, 16 * 1024);
	if (template_render(m->subject, strlen(m->subject), TEMPLATE_HEADER,
	    vars, &subject, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "Subject: %s", why);
		buf_free(&subject);
		return -1;
	}
	if (strcmp(buf_str(&subject), m->subject) != 0)
		res->subject = encode_header(buf_str(&subject));
	buf_free(&subject);

	budget = m->datalen < RENDER_BUDGET_MIN / RENDER_BUDGET_GROWTH ?
	    RENDER_BUDGET_MIN : m->datalen * RENDER_BUDGET_GROWTH;
	if (budget > RENDER_PART_MAX)
		budget = RENDER_PART_MAX;
	buf_init(&content, RENDER_PART_MAX);
	for (i = 0; i < m->nparts; i++) {
		p = &m->parts[i];
		buf_reset(&content);
		if (mime_render_part(p, i, vars, &budget, &content, err,
		    errlen) == -1)
			goto fail;
		if (mime_new_head(p, &type, &cte) == -1) {
			snprintf(err, errlen, "part %zu: Content-Type too long",
			    i + 1);
			goto fail;
		}
		if (p->top) {
			/* the message's own header: the caller changes it */
			res->content_type = type;
			res->transfer_encoding = cte != NULL ? xstrdup(cte) :
			    NULL;
		} else if (type != NULL || cte != NULL) {
			if (mime_copy(m, &o, at, p->head) == -1 ||
			    mime_put_head(m, p, type, cte, &o) == -1) {
				free(type);
				goto write_fail;
			}
			at = p->start;
			free(type);
		}
		if (mime_copy(m, &o, at, p->start) == -1 ||
		    crlf_put(&o, buf_str(&content), content.len) == -1)
			goto write_fail;
		at = p->end;
		res->parts++;
	}
	if (mime_copy(m, &o, at, m->datalen) == -1)
		goto write_fail;
	buf_free(&content);
	res->body_changed = m->nparts > 0;
	return 0;
write_fail:
	snprintf(err, errlen, "writing the body failed");
fail:
	buf_free(&content);
	render_result_free(res);
	return -1;
}

void
render_result_free(struct render_result *res)
{
	free(res->subject);
	free(res->content_type);
	free(res->transfer_encoding);
	memset(res, 0, sizeof(*res));
}

/* The line of the message that byte AT is on, 1-based. */
static unsigned long
mime_line_of(const struct render_msg *m, size_t at)
{
	unsigned long line = 1;
	const char *p = m->data, *end = m->data + (at < m->datalen ? at :
	    m->datalen);

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p++;
	}
	return line;
}

/*
 * The line of the message that holds the tag at POS of P's decoded text.
 * Decoding keeps a 7bit, 8bit or binary part's lines.  A quoted-printable
 * line ending in "=" goes on in the next line of the message, so the tag
 * is looked for in the lines its decoded line spans: as many times as
 * the decoded line has it before POS, plus one (a tag that a soft break
 * cuts in two is given the decoded line's first line).  A base64 part's
 * lines are not the text's: its first line is given.
 */
static unsigned long
mime_part_line(const struct render_msg *m, const struct render_part *p,
    size_t pos)
{
	unsigned long at = mime_line_of(m, p->start), line = 1, found;
	const char *text = p->text, *bol, *tag, *q;
	size_t i, n, taglen, before = 0, eol;

	for (bol = text, i = 0; i < pos; i++)
		if (text[i] == '\n') {
			line++;
			bol = text + i + 1;
		}
	switch (p->encoding) {
	case GMIME_CONTENT_ENCODING_DEFAULT:
	case GMIME_CONTENT_ENCODING_7BIT:
	case GMIME_CONTENT_ENCODING_8BIT:
	case GMIME_CONTENT_ENCODING_BINARY:
		return at + line - 1;
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		break;
	default:
		return at;
	}
	/* the tag, up to its closing braces or the end of its line */
	tag = text + pos;
	for (taglen = 0; tag[taglen] != '\0' && tag[taglen] != '\n' &&
	    taglen < 64; taglen++)
		if (taglen >= 2 && tag[taglen - 1] == '}' &&
		    tag[taglen - 2] == '}')
			break;
	for (q = bol; (q = memmem(q, (size_t)(tag - q) + taglen - 1, tag,
	    taglen)) != NULL && q < tag; q++)
		before++;
	/* the message's lines, from the part's first, to the decoded line */
	for (i = p->start, n = 1; n < line && i < p->end; i++) {
		if (m->data[i] != '\n')
			continue;
		eol = i > p->start && m->data[i - 1] == '\r' ? i - 1 : i;
		at++;
		if (eol == p->start || m->data[eol - 1] != '=')
			n++;
	}
	/* then along the lines it spans */
	for (found = at; i < p->end; ) {
		for (eol = i; eol < p->end && m->data[eol] != '\n'; eol++)
			;
		for (q = m->data + i; (q = memmem(q, (size_t)(m->data + eol -
		    q), tag, taglen)) != NULL; q++)
			if (before-- == 0)
				return found;
		n = eol > i && m->data[eol - 1] == '\r' ? eol - 1 : eol;
		if (n == i || m->data[n - 1] != '=')
			break;		/* the decoded line ends here */
		i = eol + 1;
		found++;
	}
	return at;
}

struct errors_arg {
	const struct render_msg	*m;
	const struct render_part *p;	/* NULL: the Subject */
	size_t			 index;
	unsigned long		 subject_line;
	void			(*report)(void *, unsigned long, const char *);
	void			*arg;
};

static void
errors_report(void *arg, size_t pos, const char *why)
{
	struct errors_arg *e = arg;
	char what[512];

	if (e->p == NULL) {
		snprintf(what, sizeof(what), "Subject: %s", why);
		e->report(e->arg, e->subject_line, what);
		return;
	}
	snprintf(what, sizeof(what), "part %zu (text/%s): %s", e->index + 1,
	    e->p->html ? "html" : "plain", why);
	e->report(e->arg, mime_part_line(e->m, e->p, pos), what);
}

size_t
render_errors(const struct render_msg *m, const struct template_vars *vars,
    void (*report)(void *arg, unsigned long line, const char *what),
    void *arg)
{
	GMimeHeaderList *hl;
	GMimeHeader *h;
	struct errors_arg e;
	size_t i, n;
	gint64 off;
	int k, count;

	memset(&e, 0, sizeof(e));
	e.m = m;
	e.report = report;
	e.arg = arg;
	e.subject_line = 1;
	hl = g_mime_object_get_header_list(GMIME_OBJECT(m->msg));
	count = g_mime_header_list_get_count(hl);
	for (k = 0; k < count; k++) {
		h = g_mime_header_list_get_header_at(hl, k);
		if (strcasecmp(g_mime_header_get_name(h), "Subject") == 0 &&
		    (off = g_mime_header_get_offset(h)) >= 0) {
			e.subject_line = mime_line_of(m, (size_t)off);
			break;
		}
	}
	n = template_errors(m->subject, strlen(m->subject), TEMPLATE_HEADER,
	    vars, errors_report, &e);
	for (i = 0; i < m->nparts; i++) {
		e.p = &m->parts[i];
		e.index = i;
		n += template_errors(e.p->text, e.p->len, e.p->html ?
		    TEMPLATE_HTML : TEMPLATE_TEXT, vars, errors_report, &e);
	}
	return n;
}
