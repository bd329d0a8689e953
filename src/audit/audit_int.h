/*
 * audit_int.h - what the files of src/audit/ share; not for other
 * modules: the row's hashed form and its seal (audit.c), and reading an
 * archive (archive.c) for verify and export.
 */
#ifndef SEGM_AUDIT_INT_H
#define SEGM_AUDIT_INT_H

#include "audit.h"

struct audit_hasher *audit_hasher_new(void);
void	 audit_hasher_free(struct audit_hasher *h);
/* Whether A hashes the seal of its personal data (form 2, a customer's). */
int	 audit_sealed(const struct store_audit *a);
/* A's hash, given A->prev_hash, into OUT (AUDIT_HASH_LEN + 1 bytes). */
void	 audit_hash(struct audit_hasher *h, const struct store_audit *a,
	    char *out);
/* The seal of A's recipient, detail and consent under KEY into OUT. */
void	 audit_seal(struct audit_hasher *h, const unsigned char *key,
	    const struct store_audit *a, char *out);

/*
 * Reads the archive REC in DIR and calls FN for each of its rows in
 * order, as store_audit_scan would have: the personal data of a sealed
 * row decrypted under its customer's key, or empty when that key was
 * erased (A->key says which).  The file must be whole, end with the row
 * REC names and hash to REC's SHA256: checked before any row reaches FN
 * when SHOWN (what is shown to someone, export and disclosure: nothing
 * of an edited file), after the rows otherwise (verify: a row says
 * where the edit is).  0; FN's non-zero; 1 when the file is missing,
 * unreadable or damaged, WHY (LEN bytes) saying so and naming it; -1 on
 * a store error.
 */
int	 audit_archive_read(struct store *st, const char *dir,
	    const struct store_audit_archive *rec, int shown,
	    store_audit_fn fn, void *arg, char *why, size_t len);

#endif
