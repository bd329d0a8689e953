/*
 * report_out.h - how segctl report writes a lift (lift.h): as text for
 * people, CSV for spreadsheets and JSON for BI tools, the same figures
 * in each.  Money is in the base currency's major units.
 */
#ifndef SEGM_REPORT_OUT_H
#define SEGM_REPORT_OUT_H

#include <stdio.h>

#include <json-glib/json-glib.h>

#include "conf.h"
#include "lift.h"

void	 report_lift_text(FILE *out, const struct lift *l,
	    const struct conf *cf, int by_variant);
/* Rows "cell,..." and "comparison,..." under one header each. */
void	 report_lift_csv(FILE *out, const struct lift *l);
/* Members "cells" and "comparisons" of the object B is building. */
void	 report_lift_json(JsonBuilder *b, const struct lift *l,
	    const struct conf *cf);

#endif
