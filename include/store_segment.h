/*
 * store_segment - segmentation's side of the store (src/store/facts.c,
 * segments.c): the facts of each customer that segment_classify() reads,
 * and the generations of segments it writes.  A rebuild scans every
 * customer in one snapshot and writes a new generation beside the
 * published one; a live refresh replaces one customer's row in place.
 *
 * Used by src/segment/ (segment_rebuild, segment_refresh) and by segctl
 * segments and explain.  Conventions: store.h.
 */
#ifndef SEGM_STORE_SEGMENT_H
#define SEGM_STORE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"
#include "store.h"

/*
 * Facts for segmentation.  store_facts_scan() calls FN for every customer
 * in id order inside one read transaction, so the rebuild sees one
 * snapshot; a non-zero return from FN stops the scan and is returned.
 * The facts and their strings are valid only during the call.
 */
typedef int (*store_facts_fn)(const struct segment_facts *facts, void *arg);
int	 store_facts_scan(struct store *st, store_facts_fn fn, void *arg);
/* How many customers a scan would see now, for a progress bar. */
int	 store_facts_count(struct store *st, int64_t *n);
int	 store_facts_get(struct store *st, int64_t customer_id,
	    store_facts_fn fn, void *arg);

/*
 * A new generation of segments, written beside the current one in short
 * batches (the milter's writes never wait long) and published by one small
 * transaction: readers see the old generation or the new, never a mix.
 */
struct store_rebuild;

/* 0; 1 when another relay of the fleet is rebuilding (store_error()
 * says so); or -1. */
int	 store_rebuild_begin(struct store *st, struct store_rebuild **out);
int	 store_rebuild_add(struct store_rebuild *rb, int64_t customer_id,
	    const struct segment_result *res);
/*
 * The K-th highest VIP value among eligible rows, and how many are eligible;
 * with K = 0 only the count.
 */
int	 store_rebuild_kth_value(struct store_rebuild *rb, int64_t k,
	    int64_t *value, int64_t *eligible);
/*
 * Rows are added with a provisional lifecycle that assumes nobody is VIP.
 * store_rebuild_assign calls PICK for every eligible row whose VIP value
 * is at least THRESHOLD, with its provisional lifecycle OLD, and stores
 * the lifecycle and flags PICK decides.
 */
typedef enum conf_lifecycle (*store_pick_fn)(unsigned flags, int eligible,
	    int64_t value, enum conf_lifecycle old, unsigned *flags_out,
	    void *arg);
int	 store_rebuild_assign(struct store_rebuild *rb, int64_t threshold,
	    store_pick_fn pick, void *arg);

struct store_segment_meta {
	int64_t		 generation;
	int64_t		 built_at;
	int64_t		 customers;
	int64_t		 vip_threshold;
	int64_t		 vip_eligible;
	char		 vip_metric[16];
	double		 vip_top_percent;
	char		 config_hash[65];	/* hex SHA-256 */
};

/* Publishes the generation and removes the previous one; frees RB. */
int	 store_rebuild_commit(struct store_rebuild *rb,
	    const struct store_segment_meta *meta);
/* Drops what was written; frees RB.  Safe on NULL. */
void	 store_rebuild_abort(struct store_rebuild *rb);

/* The current generation's metadata; 1 if segments were never built. */
int	 store_segment_meta(struct store *st, struct store_segment_meta *m);
/* A customer's materialised segment; 1 if none in this generation. */
int	 store_segment_get(struct store *st, int64_t customer_id,
	    struct segment_result *res);
/*
 * Replaces a customer's row (and interests) with RES in the published
 * generation, and with BUILDING (the same, its lifecycle picked as if
 * nobody were VIP, as a rebuild's first pass writes it: its second pass
 * decides VIP) in a newer one a rebuild is writing, whose own row for
 * them, from an older snapshot, then yields to it (segment_refresh).
 * Nothing when no generation was ever published.  In the caller's
 * transaction.
 */
int	 store_segment_put(struct store *st, int64_t customer_id,
	    const struct segment_result *res,
	    const struct segment_result *building);

/* Counts per lifecycle segment and facet value, for `segctl segments`. */
typedef int (*store_count_fn)(const char *facet, const char *value,
	    int64_t count, void *arg);
int	 store_segment_counts(struct store *st, store_count_fn fn, void *arg);

#endif
