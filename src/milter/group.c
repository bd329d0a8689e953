/*
 * group.c - the values and sections one rendering sees: a group of kept
 * recipients (a variant's, a part's), for the body, the copies, the SMS
 * texts and the preview alike.
 */
#include <string.h>

#include "msg_int.h"
#include "xalloc.h"

/* Template callbacks over a group. */
static const char *
group_value(void *arg, const char *name)
{
	const struct milter_group *g = arg;
	const char *v = campaign_value(g->c, g->variant, name);

	if (v != NULL || g->single == NULL || g->withheld)
		return v;
	if (strcmp(name, "first_name") == 0)
		v = g->single->r->first_name;
	else if (strcmp(name, "last_name") == 0)
		v = g->single->r->last_name;
	else if (strcmp(name, "company") == 0)
		v = g->single->r->company;
	else if (strcmp(name, "email") == 0)
		v = g->single->email;
	return v != NULL && *v != '\0' ? v : NULL;
}

static int
group_flag(void *arg, const char *name)
{
	const struct milter_group *g = arg;
	size_t i;

	for (i = 0; i < g->nflags; i++)
		if (strcmp(g->flags[i], name) == 0)
			return 1;
	return 0;
}

void
msg_vars(struct milter_group *g, const struct daemon_env *env,
    struct template_vars *vars)
{
	vars->value = group_value;
	vars->flag = group_flag;
	vars->arg = g;
	vars->unknown_empty = env->conf->milter.unknown_empty;
}

/* ONLY: a variant, MSG_ALL_KEPT; or, with BY_PART, a part index. */
static int
in_group(const struct milter_rcpt *r, int only, int by_part)
{
	if (r->d.reason != POLICY_DELIVER)
		return 0;
	if (by_part)
		return r->part == only;
	return only == MSG_ALL_KEPT || r->d.variant == only;
}

static size_t
group_build(struct milter_msg *m, const struct campaign *c, int only,
    int by_part, struct milter_group *g, int *mixed)
{
	const struct milter_rcpt *first = NULL;
	size_t i, j, kept = 0;

	memset(g, 0, sizeof(*g));
	g->c = c;
	*mixed = 0;
	for (i = 0; i < m->nrcpts; i++) {
		if (!in_group(&m->rcpts[i], only, by_part))
			continue;
		if (first == NULL) {
			first = &m->rcpts[i];
			g->variant = first->d.variant;
		} else if (m->rcpts[i].d.variant != g->variant) {
			*mixed = 1;
		}
		kept++;
	}
	if (*mixed)
		g->variant = -1;
	if (first == NULL)
		return 0;
	g->single = kept == 1 ? first : NULL;
	g->flags = xcalloc(first->flags->n + 1, sizeof(*g->flags));
	for (j = 0; j < first->flags->n; j++) {
		for (i = 0; i < m->nrcpts; i++)
			if (in_group(&m->rcpts[i], only, by_part) &&
			    !segment_flags_has(m->rcpts[i].flags,
			    first->flags->ptr[j]))
				break;
		if (i == m->nrcpts)
			g->flags[g->nflags++] = first->flags->ptr[j];
	}
	return kept;
}

size_t
msg_group(struct milter_msg *m, const struct campaign *c, int only,
    struct milter_group *g, int *mixed)
{
	return group_build(m, c, only, 0, g, mixed);
}

void
msg_part_group(struct milter_msg *m, const struct campaign *c, int p,
    struct milter_group *g)
{
	int mixed;

	group_build(m, c, p, 1, g, &mixed);
}
