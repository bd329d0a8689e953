/*
 * utf8 - reading and cutting UTF-8 that came from outside.
 *
 * Customer names come from exports and leave in mail headers, text parts
 * and SMS.  A cut that splits a character makes the whole text invalid:
 * GMime then writes it as it can and the SMS coder refuses it, so the
 * recipient gets no SMS at all (no_text).  Whatever cuts text to fit a
 * buffer cuts where a character starts.
 *
 * The character classes are those a value must not carry into a
 * rendered message: controls move a terminal's cursor or ring its bell,
 * bidirectional overrides make text read in another order than it is.
 *
 * Pure: no I/O, no allocation, no global state.
 */
#ifndef SEGM_UTF8_H
#define SEGM_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The code point at S (LEN bytes left, LEN > 0) into *CP; returns its
 * length in bytes, or 0 when S does not start with well-formed UTF-8
 * (an overlong form, a surrogate, past U+10FFFF, cut short).
 */
size_t	 utf8_decode(const char *s, size_t len, uint32_t *cp);

/*
 * How many of the LEN bytes at S fit in MAX without splitting a
 * character: MAX itself when S[MAX] starts one (or LEN <= MAX), else the
 * start of the character MAX falls in.  Bytes that are not UTF-8 (no
 * lead byte in the three before MAX) are cut at MAX.
 */
size_t	 utf8_cut(const char *s, size_t len, size_t max);

/* 1 for a control character: C0 (U+0000..U+001F), DEL, C1
 * (U+0080..U+009F). */
int	 utf8_is_control(uint32_t cp);

/*
 * 1 for an explicit bidirectional formatting character: the embeddings
 * and overrides U+202A..U+202E and the isolates U+2066..U+2069.  The
 * marks U+200E, U+200F and U+061C are not: they are what right-to-left
 * names legitimately carry, and they cannot reorder text around them.
 */
int	 utf8_is_bidi_control(uint32_t cp);

#endif
