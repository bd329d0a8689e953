/*
 * facts.c - what policy judges a recipient by, from what the store
 * returned (daemon.h): the milter's decisions and segctl explain's read
 * the same fields.
 */
#include <string.h>

#include "daemon.h"
#include "policy.h"
#include "store_lookup.h"

void
daemon_policy_facts(struct policy_facts *f, const struct store_recipient *r)
{
	memset(f, 0, sizeof(*f));
	f->found = r->customer_id != 0;
	f->customer_id = r->customer_id;
	f->email_consent = r->has_consent && r->consent_granted;
	f->consent_at = r->consent_at;
	f->unsubscribed_at = r->unsubscribed_at;
	f->bounces = r->bounces_since_consent;
	f->complained_at = r->complained_at;
	f->soft_bounce_at = r->soft_bounce_at;
	f->nsoft_bounces = r->nsoft_bounces;
	f->unanswered = r->unanswered;
	f->last_delivery_at = r->last_delivery_at;
	f->min_gap_days = r->min_gap_days;
	f->deliveries_in_window = r->in_window;
	f->campaign_delivered_at = r->campaign_at;
	f->campaign_closed_at = r->campaign_closed_at;
	f->cart_at = r->has_segment && r->seg.cart_abandoner ?
	    r->seg.cart_at : 0;
	f->first_order_at = r->first_order_at;
	f->last_order_at = r->last_order_at;
}
