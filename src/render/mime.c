/*
 * mime.c - walking a message with GMime and rendering its text parts.
 *
 * Parsing keeps GMime's stream persistent, so parts that are not rendered
 * (attachments) stay substreams of the input and are written back byte
 * for byte.  Each text part's decoded UTF-8 text is kept as the template,
 * so the message can be rendered for one variant after another.
 *
 * Line ends: decoded text is held with LF only and the body is written
 * through a unix2dos filter, which adds the CR back everywhere and leaves
 * lines that already end in CRLF alone.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "buf.h"
#include "render.h"
#include "xalloc.h"

#define RENDER_PART_MAX	(64 * 1024 * 1024)	/* one rendered text part */
#define RENDER_LINE_MAX	998			/* RFC 5322 2.1.1 */

struct render_part {
	GMimePart		*part;
	int			 html;
	char			*charset;	/* as declared, NULL if none */
	GMimeContentEncoding	 encoding;
	char			*text;		/* decoded UTF-8, LF line ends */
	size_t			 len;
	char			*rendered;	/* the last render_apply's */
};

struct render_msg {
	GMimeMessage		*msg;
	struct render_part	*parts;
	size_t			 nparts;
	char			*subject;	/* decoded UTF-8 */
	char			*top_type;	/* top-level Content-Type */
	GMimeContentEncoding	 top_encoding;
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

/* Decodes a text part into P->text; sets m->why if it cannot. */
static void
mime_take_part(struct render_msg *m, GMimePart *part, int html)
{
	struct render_part *p;
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
	if ((w = g_mime_part_get_content(part)) == NULL)
		return;		/* an empty part: nothing to render */
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
	memset(p, 0, sizeof(*p));
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

/* The Content-Type value of OBJ as GMime writes it, unpadded. */
static char *
mime_type_header(GMimeObject *obj)
{
	return g_strstrip(g_mime_content_type_encode(
	    g_mime_object_get_content_type(obj), NULL));
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

struct render_msg *
render_parse(int fd, char *err, size_t errlen)
{
	struct render_msg *m;
	GMimeParserOptions *opts;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeObject *top;
	const char *subject;
	int dupfd;

	if ((dupfd = dup(fd)) == -1 || lseek(dupfd, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "spool: %s", strerror(errno));
		if (dupfd != -1)
			close(dupfd);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	/* mapped, not read: GMime's fs stream seeks before every read */
	stream = g_mime_stream_mmap_new(dupfd, PROT_READ, MAP_PRIVATE);
	if (stream == NULL)
		stream = g_mime_stream_fs_new(dupfd);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	opts = g_mime_parser_options_new();
	g_mime_parser_options_set_warning_callback(opts, mime_warning, m);
	m->msg = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	g_object_unref(stream);
	if (m->msg == NULL && m->why[0] == '\0')
		snprintf(m->why, sizeof(m->why), "not a MIME message");
	if (m->msg != NULL && m->why[0] == '\0') {
		g_mime_message_foreach(m->msg, mime_visit, m);
		top = g_mime_message_get_mime_part(m->msg);
		if (top != NULL) {
			m->top_type = mime_type_header(top);
			if (GMIME_IS_PART(top))
				m->top_encoding = g_mime_part_get_content_encoding(
				    GMIME_PART(top));
		}
		subject = g_mime_message_get_subject(m->msg);
		m->subject = xstrdup(subject != NULL ? subject : "");
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
	g_free(m->top_type);
	if (m->msg != NULL)
		g_object_unref(m->msg);
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

/* Renders P and sets it as the part's new content. */
static int
mime_render_part(struct render_part *p, size_t index,
    const struct template_vars *vars, char *err, size_t errlen)
{
	GMimeContentEncoding enc = p->encoding;
	GMimeDataWrapper *w;
	GMimeStream *stream;
	const char *charset = p->charset;
	struct buf out, conv, *final = &out;
	char why[256];
	size_t i;
	int rc = -1;

	buf_init(&out, RENDER_PART_MAX);
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
	if (charset != NULL)
		g_mime_object_set_content_type_parameter(GMIME_OBJECT(p->part),
		    "charset", charset);

	if ((enc == GMIME_CONTENT_ENCODING_DEFAULT ||
	    enc == GMIME_CONTENT_ENCODING_7BIT) &&
	    has_8bit(buf_str(final), final->len))
		enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	if ((enc == GMIME_CONTENT_ENCODING_DEFAULT ||
	    enc == GMIME_CONTENT_ENCODING_7BIT ||
	    enc == GMIME_CONTENT_ENCODING_8BIT) &&
	    has_long_line(buf_str(final), final->len))
		enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	/* base64 text is CRLF before it is encoded (RFC 2045 6.8) */
	if (enc == GMIME_CONTENT_ENCODING_BASE64) {
		struct buf crlf;

		buf_init(&crlf, RENDER_PART_MAX);
		for (i = 0; i < final->len; i++)
			if ((final->data[i] == '\n' && buf_putc(&crlf, '\r') ==
			    -1) || buf_putc(&crlf, final->data[i]) == -1)
				break;
		buf_free(&conv);
		conv = crlf;
		final = &conv;
	}
	stream = g_mime_stream_mem_new_with_buffer(buf_str(final),
	    final->len);
	w = g_mime_data_wrapper_new_with_stream(stream,
	    GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(p->part, w);
	g_object_unref(w);
	g_object_unref(stream);
	g_mime_part_set_content_encoding(p->part, enc);
	free(p->rendered);
	p->rendered = xstrdup(buf_str(&out));
	rc = 0;
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
		if (p != v && *p == ' ' && col + (size_t)(sp - p) > 76) {
			buf_puts(&b, "\n\t");
			p++;
			col = 1;
		}
		buf_append(&b, p, (size_t)(sp - p));
		col += (size_t)(sp - p);
	}
	return buf_take(&b);
}

/* UTF8 as RFC 2047 encoded words where needed, folded; caller frees. */
static char *
encode_header(const char *utf8)
{
	char *enc, *out;

	enc = g_mime_utils_header_encode_text(NULL, utf8, NULL);
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

int
render_apply(struct render_msg *m, const struct template_vars *vars,
    int out_fd, struct render_result *res, char *err, size_t errlen)
{
	GMimeFormatOptions *fmt;
	GMimeStream *fs, *stream;
	GMimeFilter *filter;
	GMimeObject *top;
	struct buf subject;
	char why[256], *type;
	size_t i;
	ssize_t n;

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

	for (i = 0; i < m->nparts; i++) {
		if (mime_render_part(&m->parts[i], i, vars, err, errlen) == -1) {
			render_result_free(res);
			return -1;
		}
		res->parts++;
	}
	res->body_changed = m->nparts > 0;

	top = g_mime_message_get_mime_part(m->msg);
	if (top != NULL && GMIME_IS_PART(top)) {
		type = mime_type_header(top);
		if (m->top_type != NULL && strcmp(type, m->top_type) != 0)
			res->content_type = xstrdup(type);
		g_free(type);
		if (g_mime_part_get_content_encoding(GMIME_PART(top)) !=
		    m->top_encoding)
			res->transfer_encoding = xstrdup(
			    g_mime_content_encoding_to_string(
			    g_mime_part_get_content_encoding(GMIME_PART(top))));
	}
	if (top == NULL)
		return 0;
	fmt = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fmt,
	    GMIME_NEWLINE_FORMAT_DOS);
	fs = g_mime_stream_fs_new(out_fd);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(fs), FALSE);
	/* GMime writes a multipart's epilogue with a bare LF */
	stream = g_mime_stream_filter_new(fs);
	filter = g_mime_filter_unix2dos_new(FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(stream), filter);
	n = g_mime_object_write_content_to_stream(top, fmt, stream);
	if (n != -1 && g_mime_stream_flush(stream) == -1)
		n = -1;
	g_object_unref(filter);
	g_object_unref(stream);
	g_object_unref(fs);
	g_mime_format_options_free(fmt);
	if (n == -1) {
		snprintf(err, errlen, "writing the body: %s", strerror(errno));
		render_result_free(res);
		return -1;
	}
	return 0;
}

void
render_result_free(struct render_result *res)
{
	free(res->subject);
	free(res->content_type);
	free(res->transfer_encoding);
	memset(res, 0, sizeof(*res));
}
