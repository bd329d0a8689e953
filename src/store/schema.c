/*
 * schema.c - numbered migrations of the store schema.
 *
 * Migration N brings the schema from version N-1 to N inside one
 * transaction and records N in schema_migrations.  Migrations are only ever
 * appended: a released migration is never edited, so every store reaches
 * the same schema whatever version it started from.
 *
 * A PostgreSQL store starts at PGSQL_BASELINE, from pgsql/schema.sql (the
 * schema SQLite's migrations 1 to 20 reach); each migration after it has
 * a text for each engine.  Relays that start together on a new fleet
 * store take turns under an advisory lock: one creates, the others find
 * it made.
 *
 * Money is in minor units (cents) as integers; times are seconds since the
 * epoch, UTC.  CHECK constraints are written with OR, not IN (...): SQLite
 * builds a temporary table for an IN list on every row written.  Segments are stored per generation so that a rebuild can be
 * written beside the published one (see segments.c).
 */
#include <stdio.h>

#include "store_int.h"

/* A delivery into the summary: a campaign's last, its class's priority
 * the one known (imported sends know none). */
#define DELIVERIES_UPSERT						\
	"ON CONFLICT (customer_id, campaign_id) DO UPDATE SET"		\
	" at = max(at, excluded.at),"					\
	" priority = max(priority, excluded.priority)"

/* In migration 19's triggers: the newest row of the removed one's
 * customer and type, and of a customer's orders. */
#define ENGAGEMENT_NEWEST						\
	"(SELECT coalesce(max(at), 0) FROM engagement"			\
	" WHERE customer_id = old.customer_id AND type = old.type)"
#define ORDER_NEWEST(row)						\
	"(SELECT coalesce(max(created_at), 0) FROM orders"		\
	" WHERE customer_id = " row ".customer_id)"

/*
 * 21: a job being sent names the relay that claimed it, so that a relay
 * starting again takes back its own and no other's (a fleet's relays
 * share the outbox).  PostgreSQL's text columns say their collation
 * (schema.sql); SQLite's BINARY is its default.
 */
#define M21_CLAIMED_BY	"ALTER TABLE outbox ADD COLUMN claimed_by TEXT"

/*
 * 22: on PostgreSQL, a statement's delivered ledger rows go into the
 * summary at once: the relay writes a message's ledger rows 32 to a
 * statement, and a PL/pgSQL call per row cost 25 us of the server's time
 * each (1.3 ms of a 50-recipient message).  A customer twice in one
 * statement (two addresses) counts once, at their last.  SQLite's row
 * trigger is a call within the process: it stays.  An UPDATE's trigger
 * stays a row's (PostgreSQL gives no transition table to a trigger on
 * some columns), and withdrawals and redeliveries are rare.
 */
#define M22_SQLITE	"SELECT 22"
#define M22_PGSQL							\
	"DROP TRIGGER ledger_delivered ON ledger;"			\
	"DROP FUNCTION ledger_delivered();"				\
	"CREATE FUNCTION ledger_delivered() RETURNS trigger"		\
	" LANGUAGE plpgsql AS $$ BEGIN"					\
	"  INSERT INTO deliveries SELECT customer_id, campaign_id,"	\
	"   max(at), max(priority) FROM ledger_new"			\
	"   WHERE decision = 'deliver' AND customer_id <> 0"		\
	"   GROUP BY customer_id, campaign_id"				\
	"  ON CONFLICT (customer_id, campaign_id) DO UPDATE SET"	\
	"   at = GREATEST(deliveries.at, excluded.at),"			\
	"   priority = GREATEST(deliveries.priority, excluded.priority);"	\
	"  RETURN NULL;"						\
	" END $$;"							\
	"CREATE TRIGGER ledger_delivered AFTER INSERT ON ledger"	\
	" REFERENCING NEW TABLE AS ledger_new FOR EACH STATEMENT"	\
	" EXECUTE FUNCTION ledger_delivered()"

static const char *const migrations[] = {
	/* 1: customers, orders, behaviour, consent, engagement, segments */
	"CREATE TABLE customers ("
	"  id INTEGER PRIMARY KEY,"
	"  email TEXT NOT NULL UNIQUE,"
	"  external_id TEXT, first_name TEXT, last_name TEXT, phone TEXT,"
	"  country TEXT, region TEXT, currency TEXT, language TEXT,"
	"  time_zone TEXT,"
	"  account_type TEXT NOT NULL DEFAULT 'retail',"
	"  tax_exempt INTEGER NOT NULL DEFAULT 0,"
	"  company TEXT, tags TEXT, created_at INTEGER);"
	"CREATE TABLE products ("
	"  sku TEXT PRIMARY KEY, handle TEXT, title TEXT, category TEXT,"
	"  cost INTEGER) WITHOUT ROWID;"
	"CREATE TABLE orders ("
	"  id INTEGER PRIMARY KEY,"
	"  ref TEXT NOT NULL UNIQUE,"
	"  customer_id INTEGER NOT NULL REFERENCES customers(id),"
	"  created_at INTEGER NOT NULL,"
	"  financial_status TEXT NOT NULL,"
	"  cancelled_at INTEGER,"
	"  currency TEXT,"
	"  total INTEGER NOT NULL,"
	"  refunded INTEGER NOT NULL DEFAULT 0,"
	"  discount_code TEXT);"
	/* covering: the segment rebuild reads orders through it alone */
	"CREATE INDEX orders_by_customer ON orders(customer_id, created_at,"
	"  id, financial_status, cancelled_at, currency, total, refunded);"
	"CREATE TABLE order_lines ("
	"  order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,"
	"  line_no INTEGER NOT NULL,"
	"  sku TEXT, product TEXT, category TEXT,"
	"  quantity INTEGER NOT NULL, price INTEGER NOT NULL,"
	"  PRIMARY KEY (order_id, line_no)) WITHOUT ROWID;"
	"CREATE TABLE events ("
	"  customer_id INTEGER NOT NULL REFERENCES customers(id),"
	"  at INTEGER NOT NULL,"
	"  type TEXT NOT NULL CHECK (type = 'product_view' OR"
	"    type = 'category_view' OR type = 'add_to_cart' OR"
	"    type = 'checkout_start'),"
	"  sku TEXT NOT NULL DEFAULT '',"
	"  category TEXT, cart_value INTEGER,"
	"  PRIMARY KEY (customer_id, at, type, sku)) WITHOUT ROWID;"
	"CREATE TABLE consent ("
	"  customer_id INTEGER NOT NULL REFERENCES customers(id),"
	"  channel TEXT NOT NULL CHECK (channel = 'email' OR channel = 'sms'),"
	"  granted INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  recorded_at INTEGER NOT NULL,"
	"  evidence TEXT,"
	"  PRIMARY KEY (customer_id, channel)) WITHOUT ROWID;"
	"CREATE TABLE consent_history ("
	"  customer_id INTEGER NOT NULL REFERENCES customers(id),"
	"  channel TEXT NOT NULL CHECK (channel = 'email' OR channel = 'sms'),"
	"  recorded_at INTEGER NOT NULL,"
	"  granted INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  evidence TEXT,"
	"  PRIMARY KEY (customer_id, channel, recorded_at, granted, source))"
	"  WITHOUT ROWID;"
	"CREATE TABLE engagement ("
	"  customer_id INTEGER NOT NULL REFERENCES customers(id),"
	"  campaign_id TEXT NOT NULL,"
	"  type TEXT NOT NULL CHECK (type = 'sent' OR type = 'open' OR"
	"    type = 'click' OR type = 'unsubscribe' OR type = 'bounce' OR"
	"    type = 'sms_optout'),"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (customer_id, campaign_id, type, at)) WITHOUT ROWID;"
	"CREATE TABLE segment_state ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  generation INTEGER NOT NULL,"
	"  built_at INTEGER NOT NULL,"
	"  customers INTEGER NOT NULL,"
	"  vip_threshold INTEGER NOT NULL,"
	"  vip_eligible INTEGER NOT NULL,"
	"  vip_metric TEXT NOT NULL,"
	"  vip_top_percent REAL NOT NULL,"
	"  config_hash TEXT NOT NULL);"
	"CREATE TABLE customer_segments ("
	"  generation INTEGER NOT NULL,"
	"  customer_id INTEGER NOT NULL,"
	"  lifecycle TEXT,"
	"  flags INTEGER NOT NULL,"
	"  orders INTEGER NOT NULL,"
	"  net_spend INTEGER NOT NULL,"
	"  margin INTEGER NOT NULL,"
	"  uncosted_lines INTEGER NOT NULL,"
	"  first_order_at INTEGER NOT NULL,"
	"  last_order_at INTEGER NOT NULL,"
	"  vip_value INTEGER NOT NULL,"
	"  vip_eligible INTEGER NOT NULL,"
	"  cycle_days INTEGER NOT NULL,"
	"  cycle_source TEXT NOT NULL,"
	"  mean_interval_days INTEGER NOT NULL,"
	"  b2b_reason TEXT NOT NULL,"
	"  b2b_detail TEXT NOT NULL,"
	"  cart_abandoner INTEGER NOT NULL,"
	"  cart_at INTEGER NOT NULL,"
	"  cart_value INTEGER NOT NULL,"
	"  country TEXT NOT NULL, currency TEXT NOT NULL,"
	"  language TEXT NOT NULL, time_zone TEXT NOT NULL,"
	"  PRIMARY KEY (generation, customer_id)) WITHOUT ROWID;"
	"CREATE TABLE customer_interests ("
	"  generation INTEGER NOT NULL,"
	"  customer_id INTEGER NOT NULL,"
	"  category TEXT NOT NULL,"
	"  sources INTEGER NOT NULL,"
	"  last_at INTEGER NOT NULL,"
	"  PRIMARY KEY (generation, customer_id, category)) WITHOUT ROWID;",

	/* 2: what the milter decided: the ledger and the audit chain */
	"CREATE TABLE ledger ("
	"  campaign_id TEXT NOT NULL,"
	"  recipient TEXT NOT NULL,"
	"  message_key TEXT NOT NULL,"
	"  customer_id INTEGER,"
	"  queue_id TEXT NOT NULL,"
	"  decision TEXT NOT NULL,"
	"  variant TEXT,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (campaign_id, recipient)) WITHOUT ROWID;"
	"CREATE INDEX ledger_deliveries ON ledger(customer_id, at)"
	"  WHERE decision = 'deliver';"
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  queue_id TEXT NOT NULL,"
	"  message_id TEXT NOT NULL,"
	"  campaign_id TEXT NOT NULL,"
	"  recipient TEXT NOT NULL,"
	"  customer_id INTEGER,"
	"  decision TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  segment TEXT NOT NULL,"
	"  variant TEXT NOT NULL,"
	"  consent TEXT NOT NULL,"
	"  config_hash TEXT NOT NULL,"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL);"
	"CREATE INDEX audit_by_time ON audit(at);",

	/* 3: tailored copies waiting to be re-injected, and how each
	 * delivery went out (in the original message, or as a copy) */
	"ALTER TABLE ledger ADD COLUMN route TEXT;"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind = 'email' OR kind = 'sms'),"
	"  campaign_id TEXT NOT NULL,"
	"  message_key TEXT NOT NULL,"
	"  variant TEXT NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  recipients TEXT NOT NULL,"
	"  message BLOB NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  next_at INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL CHECK (state = 'queued' OR state = 'sending'"
	"    OR state = 'sent' OR state = 'failed' OR state = 'cancelled'),"
	"  lease_until INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  done_at INTEGER,"
	"  nonce TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX outbox_due ON outbox(state, next_at);"
	/* copies that passed segmilter on the re-injection port */
	"CREATE TABLE copy_seen ("
	"  nonce TEXT PRIMARY KEY,"
	"  queue_id TEXT NOT NULL,"
	"  at INTEGER NOT NULL) WITHOUT ROWID;",

	/* 4: SMS jobs (one per campaign and customer), and what is known
	 * about phone numbers from STOP replies and the gateways */
	"ALTER TABLE outbox ADD COLUMN customer_id INTEGER;"
	"ALTER TABLE outbox ADD COLUMN time_zone TEXT;"
	"ALTER TABLE outbox ADD COLUMN country TEXT;"
	"ALTER TABLE outbox ADD COLUMN region TEXT;"
	"ALTER TABLE outbox ADD COLUMN gateway_ref TEXT;"
	/* one SMS per campaign and customer; also a customer's SMS for
	 * the caps, which are few */
	"CREATE UNIQUE INDEX outbox_sms_once ON outbox(customer_id,"
	"  campaign_id) WHERE kind = 'sms';"
	"CREATE TABLE phone_status ("
	"  phone TEXT PRIMARY KEY,"
	"  status TEXT NOT NULL CHECK (status = 'opted_out'"
	"    OR status = 'invalid'),"
	"  at INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  detail TEXT) WITHOUT ROWID;"
	"CREATE INDEX customers_by_phone ON customers(phone);",

	/*
	 * 5: the deliveries index covers the fatigue counts.  Without
	 * decision in it, SQLite fetched every ledger row it listed to
	 * check the partial index's own condition: 8.3 us instead of 1.9 us
	 * per recipient of a demo store with seven deliveries each.
	 */
	"DROP INDEX ledger_deliveries;"
	"CREATE INDEX ledger_deliveries ON ledger(customer_id, at, decision)"
	"  WHERE decision = 'deliver';"
	/*
	 * ... and the outbox's due index has the kind: the workers' next
	 * due job was a scan of every queued job (32 ms with 100,000 SMS
	 * held for quiet hours, after each message), now a seek per kind.
	 */
	"DROP INDEX outbox_due;"
	"CREATE INDEX outbox_due ON outbox(state, kind, next_at);",

	/*
	 * 6: the ledger keyed by customer first.  Each recipient wrote two
	 * ledger pages, one of the table (campaign, address) and one of the
	 * deliveries index (customer), each at a random place when the
	 * recipients are not in store order; keyed (customer, campaign,
	 * address) the table serves the fatigue counts itself and a
	 * recipient writes one page.  Unknown addresses are customer 0.
	 * A million rows take 2.7 s with segctl init's bulk cache (62 to
	 * 102 s with the default 2 MiB one, which spills mid-copy).
	 */
	"CREATE TABLE ledger_by_customer ("
	"  customer_id INTEGER NOT NULL,"
	"  campaign_id TEXT NOT NULL,"
	"  recipient TEXT NOT NULL,"
	"  message_key TEXT NOT NULL,"
	"  queue_id TEXT NOT NULL,"
	"  decision TEXT NOT NULL,"
	"  variant TEXT,"
	"  at INTEGER NOT NULL,"
	"  route TEXT,"
	"  PRIMARY KEY (customer_id, campaign_id, recipient)) WITHOUT ROWID;"
	"INSERT INTO ledger_by_customer SELECT coalesce(customer_id, 0),"
	"  campaign_id, recipient, message_key, queue_id, decision, variant,"
	"  at, route FROM ledger;"
	"DROP TABLE ledger;"
	"ALTER TABLE ledger_by_customer RENAME TO ledger;",

	/*
	 * 7: the audit rows' time index is the first row of each hour
	 * (store.h, store_audit_mark), written when the hour changes,
	 * instead of an index entry per row: 4,200 of the 14,500
	 * instructions an audit row cost (callgrind), and a WAL page per
	 * message.
	 */
	"DROP INDEX audit_by_time;"
	"CREATE TABLE audit_hours ("
	"  hour INTEGER PRIMARY KEY,"
	"  first_seq INTEGER NOT NULL);"
	STORE_AUDIT_HOURS_FILL,

	/*
	 * 8: a personal cadence, asked for on the unsubscribe page ("fewer
	 * emails"): at least min_gap_days between two campaigns to this
	 * customer, whatever the fatigue rule would allow.  One row per
	 * customer, the latest wish; the audit log keeps the history.
	 */
	"CREATE TABLE email_cadence ("
	"  customer_id INTEGER PRIMARY KEY REFERENCES customers(id),"
	"  min_gap_days INTEGER NOT NULL CHECK (min_gap_days > 0),"
	"  source TEXT NOT NULL,"
	"  set_at INTEGER NOT NULL);",

	/*
	 * 9: webhook deliveries (src/store/webhook.c).  A shop delivers at
	 * least once, so each delivery's id is kept to apply it once; the
	 * shop's own ids of customers and orders map to ours (a refund
	 * names its order only by the shop's id, and a retry hours late
	 * must not undo a newer update); refunds are kept by their id so
	 * that one reported twice (refunds/create, then in its order) is
	 * counted once.
	 */
	"CREATE TABLE webhook_deliveries ("
	"  source TEXT NOT NULL,"
	"  delivery_id TEXT NOT NULL,"
	"  event_id TEXT,"
	"  topic TEXT NOT NULL,"
	"  received_at INTEGER NOT NULL,"
	"  PRIMARY KEY (source, delivery_id)) WITHOUT ROWID;"
	"CREATE TABLE webhook_objects ("
	"  source TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind = 'customer' OR kind = 'order'),"
	"  external_id TEXT NOT NULL,"
	"  local_id INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (source, kind, external_id)) WITHOUT ROWID;"
	"CREATE TABLE webhook_refunds ("
	"  source TEXT NOT NULL,"
	"  external_id TEXT NOT NULL,"
	"  order_key TEXT NOT NULL,"
	"  order_id INTEGER REFERENCES orders(id),"
	"  amount INTEGER NOT NULL,"
	"  PRIMARY KEY (source, external_id)) WITHOUT ROWID;",

	/*
	 * 10: what the MTA learns of a campaign's delivery (segctl bounce):
	 * soft bounces, counted against policy.soft_bounce_limit, and
	 * complaints (ARF feedback reports), which stop email at once.
	 * SQLite cannot change a CHECK constraint in place, so the
	 * engagement table is copied into one that allows the two types.
	 */
	"CREATE TABLE engagement_new ("
	"  customer_id INTEGER NOT NULL REFERENCES customers(id),"
	"  campaign_id TEXT NOT NULL,"
	"  type TEXT NOT NULL CHECK (type = 'sent' OR type = 'open' OR"
	"    type = 'click' OR type = 'unsubscribe' OR type = 'bounce' OR"
	"    type = 'sms_optout' OR type = 'soft_bounce' OR"
	"    type = 'complaint'),"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (customer_id, campaign_id, type, at)) WITHOUT ROWID;"
	"INSERT INTO engagement_new SELECT customer_id, campaign_id, type, at"
	"  FROM engagement;"
	"DROP TABLE engagement;"
	"ALTER TABLE engagement_new RENAME TO engagement;",

	/*
	 * 11: the generation a rebuild is writing, named before it reads
	 * anything, so that a change arriving meanwhile is written into it
	 * too (store_segment_put) rather than lost with its older snapshot.
	 */
	"CREATE TABLE segment_building ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  generation INTEGER NOT NULL);",

	/*
	 * 12: erasable personal data in the audit chain (audit.h).  A row
	 * of form 2 is hashed with a seal of its recipient, detail and
	 * consent, an HMAC under its customer's own key, instead of the
	 * values themselves: erasing a customer destroys the key and
	 * blanks the values, and the chain still verifies.  Rows written
	 * before are form 1 and hash the values as they are.  The key is
	 * in the customer's row, which the milter reads anyway, made with
	 * it (SQLite's randomblob: ChaCha20 seeded from the system's
	 * randomness); redacted_at marks one erased for good.
	 */
	"ALTER TABLE audit ADD COLUMN form INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE audit ADD COLUMN seal TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE customers ADD COLUMN audit_key BLOB;"
	"ALTER TABLE customers ADD COLUMN redacted_at INTEGER;"
	"UPDATE customers SET audit_key = randomblob(32);",

	/*
	 * 13: where each fact came from (segctl explain): an import run or
	 * a webhook delivery is a source, and the profile, orders and
	 * behaviour it last wrote name it.  Facts from before name none.
	 */
	"CREATE TABLE sources ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"ALTER TABLE customers ADD COLUMN source_id INTEGER;"
	"ALTER TABLE orders ADD COLUMN source_id INTEGER;"
	"ALTER TABLE events ADD COLUMN source_id INTEGER;",

	/*
	 * 14: what a campaign's arms are measured from (policy.h): each
	 * decision's arm, and the recipient's segment when it was made,
	 * beside the time the attribution window starts from.
	 */
	/* parenthesised: clang takes two literals in a row for a lost comma */
	("ALTER TABLE ledger ADD COLUMN arm TEXT;"
	"ALTER TABLE ledger ADD COLUMN segment TEXT;"),

	/*
	 * 15: a customer's engagement by type and time, and their deliveries
	 * by time (suppressions, most rows of a broadcast, not indexed;
	 * decision in it so that it covers), so that the milter's lookups
	 * (the last unsubscribe, open, click, complaint, delivery; bounces
	 * since consent; deliveries since the last answer) read index
	 * ranges bounded by time rather than every row the customer ever had
	 * (the cost of a recipient flat in their history).
	 */
	("CREATE INDEX engagement_by_type ON engagement(customer_id, type, at);"
	"CREATE INDEX ledger_by_time ON ledger(customer_id, at, decision)"
	"  WHERE decision = 'deliver';"),

	/*
	 * 16: retention (store.h, store_retention_apply).  A campaign
	 * idle past the horizon is closed: its ledger, outbox and "sent"
	 * rows go, and what the milter's rules still need of them stays
	 * in two small tables.  A closed campaign is never sent again
	 * (its duplicate rule went with its ledger); a customer keeps, of
	 * their deliveries in closed campaigns, those after their last
	 * answer (what fatigue counts) and their newest (what cadences
	 * count from), one row per campaign at its last delivery.
	 */
	("CREATE TABLE campaigns_closed ("
	"  campaign_id TEXT PRIMARY KEY,"
	"  first_at INTEGER NOT NULL,"
	"  last_at INTEGER NOT NULL,"
	"  decided INTEGER NOT NULL,"
	"  delivered INTEGER NOT NULL,"
	"  closed_at INTEGER NOT NULL,"
	"  pruned_at INTEGER) WITHOUT ROWID;"
	"CREATE TABLE deliveries_closed ("
	"  customer_id INTEGER NOT NULL,"
	"  campaign_id TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (customer_id, campaign_id)) WITHOUT ROWID;"),

	/*
	 * 17: the audit rows moved into sealed archive files (audit.h,
	 * audit_archive): each file's rows, the hashes it starts after and
	 * ends with, and its own SHA-256, so that a file removed, renamed,
	 * cut short or edited is named by verify.
	 */
	("CREATE TABLE audit_archives ("
	"  name TEXT PRIMARY KEY,"
	"  first_seq INTEGER NOT NULL UNIQUE,"
	"  last_seq INTEGER NOT NULL,"
	"  rows INTEGER NOT NULL,"
	"  prev_hash TEXT NOT NULL,"
	"  last_hash TEXT NOT NULL,"
	"  min_at INTEGER NOT NULL,"
	"  max_at INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  made_at INTEGER NOT NULL);"),

	/*
	 * 18: an email copy's body in a table of its own, as the row's last
	 * column.  SQLite writes a row whole for any change to it: every
	 * claim and deferral of a 30 MB copy read it into memory, built a
	 * new row of it and wrote 30 MB to the WAL; and a zeroblob before
	 * other columns is made whole in memory before it is written.  The
	 * outbox row keeps what changes; an SMS job keeps its text there.
	 */
	("CREATE TABLE outbox_body ("
	"  job_id INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,"
	"  message BLOB NOT NULL);"
	"INSERT INTO outbox_body SELECT id, message FROM outbox"
	"  WHERE kind = 'email' AND length(message) > 0;"
	"UPDATE outbox SET message = x'' WHERE kind = 'email';"),

	/*
	 * 19: what the milter reads of a customer's history, summarised
	 * apart, so that a customer mailed for years costs what a new one
	 * does.  The leaves of a customer's engagement (hundreds of opens)
	 * were read for every recipient, and each delivery dirtied a leaf
	 * of the ledger and one of ledger_by_time at random places in
	 * millions of rows, each checkpoint writing and syncing them all: at
	 * 1,000 past campaigns a customer, system time was nine times a new
	 * store's.  Now:
	 *
	 * - the ledger is keyed by campaign: a message writes its
	 *   campaign's few pages;
	 * - deliveries: a row per customer and campaign at its last
	 *   delivery and with its class's priority, from the ledger and
	 *   imported "sent" rows (triggers),
	 *   trimmed (store_ledger_put, store_retention_apply) to those after
	 *   the customer's last answer or within deliveries_window, and the
	 *   two newest.  Retention's closed deliveries are the same rows.
	 *   The window starts at the longest a rule may have (conf.c: 8,760
	 *   hours), everything kept;
	 * - and (20) engagement_last.
	 */
	("CREATE TABLE ledger_by_campaign ("
	"  customer_id INTEGER NOT NULL,"
	"  campaign_id TEXT NOT NULL,"
	"  recipient TEXT NOT NULL,"
	"  message_key TEXT NOT NULL,"
	"  queue_id TEXT NOT NULL,"
	"  decision TEXT NOT NULL,"
	"  variant TEXT,"
	"  at INTEGER NOT NULL,"
	"  route TEXT,"
	"  arm TEXT,"
	"  segment TEXT,"
	"  priority INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (campaign_id, customer_id, recipient)) WITHOUT ROWID;"
	"INSERT INTO ledger_by_campaign (customer_id, campaign_id,"
	"  recipient, message_key, queue_id, decision, variant, at, route,"
	"  arm, segment) SELECT customer_id, campaign_id,"
	"  recipient, message_key, queue_id, decision, variant, at, route,"
	"  arm, segment FROM ledger ORDER BY campaign_id, customer_id,"
	"  recipient;"
	"DROP TABLE ledger;"
	"ALTER TABLE ledger_by_campaign RENAME TO ledger;"

	"CREATE TABLE deliveries ("
	"  customer_id INTEGER NOT NULL,"
	"  campaign_id TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  priority INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (customer_id, campaign_id)) WITHOUT ROWID;"
	"INSERT INTO deliveries (customer_id, campaign_id, at)"
	"  SELECT customer_id, campaign_id, max(at)"
	"  FROM (SELECT customer_id, campaign_id, at FROM ledger"
	"   WHERE decision = 'deliver' AND customer_id <> 0"
	"  UNION ALL SELECT customer_id, campaign_id, at FROM engagement"
	"   WHERE type = 'sent'"
	"  UNION ALL SELECT customer_id, campaign_id, at"
	"   FROM deliveries_closed)"
	"  GROUP BY customer_id, campaign_id;"
	"DROP TABLE deliveries_closed;"
	"CREATE TABLE deliveries_window ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  secs INTEGER NOT NULL);"
	"INSERT INTO deliveries_window VALUES (1, 8760 * 3600);"
	"CREATE TRIGGER ledger_delivered AFTER INSERT ON ledger"
	"  WHEN new.decision = 'deliver' AND new.customer_id <> 0 BEGIN"
	"  INSERT INTO deliveries VALUES (new.customer_id, new.campaign_id,"
	"   new.at, new.priority) " DELIVERIES_UPSERT ";"
	"  END;"
	"CREATE TRIGGER ledger_redelivered AFTER UPDATE OF decision, at"
	"  ON ledger"
	"  WHEN new.decision = 'deliver' AND new.customer_id <> 0 BEGIN"
	"  INSERT INTO deliveries VALUES (new.customer_id, new.campaign_id,"
	"   new.at, new.priority) " DELIVERIES_UPSERT ";"
	"  END;"
	/* another tool's sends are promotional: their class is unknown */
	"CREATE TRIGGER engagement_sent AFTER INSERT ON engagement"
	"  WHEN new.type = 'sent' BEGIN"
	"  INSERT INTO deliveries VALUES (new.customer_id, new.campaign_id,"
	"   new.at, 0) " DELIVERIES_UPSERT ";"
	"  END;"),

	/*
	 * 20: each customer's newest open, click, order, unsubscribe,
	 * complaint, bounce and soft bounce (triggers; a removal looks the
	 * newest up again), one row the milter reads instead of the
	 * leaves of their engagement.  Bounces since consent are read from
	 * engagement only when the newest is since.
	 */
	("CREATE TABLE engagement_last ("
	"  customer_id INTEGER PRIMARY KEY,"
	"  open_at INTEGER NOT NULL DEFAULT 0,"
	"  click_at INTEGER NOT NULL DEFAULT 0,"
	"  order_at INTEGER NOT NULL DEFAULT 0,"
	"  unsubscribe_at INTEGER NOT NULL DEFAULT 0,"
	"  complaint_at INTEGER NOT NULL DEFAULT 0,"
	"  bounce_at INTEGER NOT NULL DEFAULT 0,"
	"  soft_bounce_at INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO engagement_last (customer_id, open_at, click_at,"
	"  unsubscribe_at, complaint_at, bounce_at, soft_bounce_at)"
	"  SELECT customer_id,"
	"  coalesce(max(at) FILTER (WHERE type = 'open'), 0),"
	"  coalesce(max(at) FILTER (WHERE type = 'click'), 0),"
	"  coalesce(max(at) FILTER (WHERE type = 'unsubscribe'), 0),"
	"  coalesce(max(at) FILTER (WHERE type = 'complaint'), 0),"
	"  coalesce(max(at) FILTER (WHERE type = 'bounce'), 0),"
	"  coalesce(max(at) FILTER (WHERE type = 'soft_bounce'), 0)"
	"  FROM engagement WHERE type <> 'sent' GROUP BY customer_id;"
	"INSERT INTO engagement_last (customer_id, order_at)"
	"  SELECT customer_id, max(created_at) FROM orders WHERE true"
	"  GROUP BY customer_id"
	"  ON CONFLICT (customer_id) DO UPDATE SET order_at = excluded.order_at;"
	"CREATE TRIGGER engagement_added AFTER INSERT ON engagement"
	"  WHEN new.type <> 'sent' BEGIN"
	"  INSERT INTO engagement_last (customer_id, open_at, click_at,"
	"   unsubscribe_at, complaint_at, bounce_at, soft_bounce_at)"
	"   VALUES (new.customer_id, iif(new.type = 'open', new.at, 0),"
	"   iif(new.type = 'click', new.at, 0),"
	"   iif(new.type = 'unsubscribe', new.at, 0),"
	"   iif(new.type = 'complaint', new.at, 0),"
	"   iif(new.type = 'bounce', new.at, 0),"
	"   iif(new.type = 'soft_bounce', new.at, 0))"
	"   ON CONFLICT (customer_id) DO UPDATE SET"
	"   open_at = max(open_at, excluded.open_at),"
	"   click_at = max(click_at, excluded.click_at),"
	"   unsubscribe_at = max(unsubscribe_at, excluded.unsubscribe_at),"
	"   complaint_at = max(complaint_at, excluded.complaint_at),"
	"   bounce_at = max(bounce_at, excluded.bounce_at),"
	"   soft_bounce_at = max(soft_bounce_at, excluded.soft_bounce_at);"
	"  END;"
	"CREATE TRIGGER engagement_removed AFTER DELETE ON engagement"
	"  WHEN old.type <> 'sent' BEGIN"
	"  UPDATE engagement_last SET"
	"   open_at = iif(old.type = 'open', " ENGAGEMENT_NEWEST ", open_at),"
	"   click_at = iif(old.type = 'click', " ENGAGEMENT_NEWEST ","
	"    click_at),"
	"   unsubscribe_at = iif(old.type = 'unsubscribe', "
	ENGAGEMENT_NEWEST ", unsubscribe_at),"
	"   complaint_at = iif(old.type = 'complaint', " ENGAGEMENT_NEWEST ","
	"    complaint_at),"
	"   bounce_at = iif(old.type = 'bounce', " ENGAGEMENT_NEWEST ","
	"    bounce_at),"
	"   soft_bounce_at = iif(old.type = 'soft_bounce', "
	ENGAGEMENT_NEWEST ", soft_bounce_at)"
	"   WHERE customer_id = old.customer_id;"
	"  END;"
	"CREATE TRIGGER order_added AFTER INSERT ON orders BEGIN"
	"  INSERT INTO engagement_last (customer_id, order_at)"
	"   VALUES (new.customer_id, new.created_at)"
	"   ON CONFLICT (customer_id)"
	"   DO UPDATE SET order_at = max(order_at, excluded.order_at);"
	"  END;"
	"CREATE TRIGGER order_changed AFTER UPDATE OF customer_id, created_at"
	"  ON orders BEGIN"
	"  UPDATE engagement_last SET order_at = " ORDER_NEWEST("old")
	"   WHERE customer_id = old.customer_id;"
	"  INSERT INTO engagement_last (customer_id, order_at)"
	"   VALUES (new.customer_id, " ORDER_NEWEST("new") ")"
	"   ON CONFLICT (customer_id) DO UPDATE SET order_at = excluded.order_at;"
	"  END;"
	"CREATE TRIGGER order_removed AFTER DELETE ON orders BEGIN"
	"  UPDATE engagement_last SET order_at = " ORDER_NEWEST("old")
	"   WHERE customer_id = old.customer_id;"
	"  END;"),
	/* 21: which relay claimed a job being sent (both engines) */
	M21_CLAIMED_BY,
	/* 22: PostgreSQL's delivery summary a statement at a time */
	M22_SQLITE,
};

#define NMIGRATIONS	(sizeof(migrations) / sizeof(migrations[0]))

_Static_assert(NMIGRATIONS == STORE_SCHEMA_VERSION,
    "STORE_SCHEMA_VERSION must equal the number of migrations");

/* src/store/pgsql/schema.sql, made a string by make. */
extern const char pgsql_schema_baseline[];

#define PGSQL_BASELINE	20

/* Migrations after the baseline, PostgreSQL's text of each. */
static const char *const pgsql_migrations[] = {
	M21_CLAIMED_BY " COLLATE \"C\"",
	M22_PGSQL,
	NULL
};
#define NPGSQL_MIGRATIONS \
	(sizeof(pgsql_migrations) / sizeof(pgsql_migrations[0]) - 1)

_Static_assert(PGSQL_BASELINE + NPGSQL_MIGRATIONS == STORE_SCHEMA_VERSION,
    "each migration after the baseline needs its PostgreSQL text");

static int
schema_read_version(struct store *st, int64_t *version)
{
	struct db_stmt *s;
	enum db_rc rc;

	*version = 0;
	if ((s = db_prepare(st->db, db_engine(st->db) == DB_PGSQL ?
	    "SELECT count(*) FROM information_schema.tables"
	    " WHERE table_schema = current_schema()"
	    " AND table_name = 'schema_migrations'" :
	    "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'table' AND name = 'schema_migrations'",
	    0)) == NULL)
		return store_fail(st, "not a segmilter store");
	rc = db_step(s);
	if (rc != DB_ROW) {
		db_finalize(s);
		return store_fail(st, "not a segmilter store");
	}
	if (db_col_int(s, 0) == 0) {
		db_finalize(s);
		return 0;
	}
	db_finalize(s);
	if ((s = db_prepare(st->db, "SELECT coalesce(max(version), 0)"
	    " FROM schema_migrations", 0)) == NULL)
		return store_fail(st, "schema_migrations");
	if (db_step(s) == DB_ROW)
		*version = db_col_int(s, 0);
	db_finalize(s);
	return 0;
}

int
store_schema_version(struct store *st, int64_t *version)
{
	return schema_read_version(st, version);
}

static int
schema_apply(struct store *st, int64_t n)
{
	char sql[160], why[sizeof(st->err)];

	if (store_exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (n == 1 && store_exec(st, "CREATE TABLE IF NOT EXISTS"
	    " schema_migrations (version INTEGER PRIMARY KEY,"
	    " applied_at INTEGER NOT NULL)") == -1)
		goto fail;
	if (store_exec(st, migrations[n - 1]) == -1)
		goto fail;
	snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations"
	    " VALUES (%lld, strftime('%%s', 'now'))", (long long)n);
	if (store_exec(st, sql) == -1 || store_exec(st, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	/* the failing statement's error, not the rollback's "not an error" */
	snprintf(why, sizeof(why), "%s", st->err);
	db_exec(st->db, "ROLLBACK");
	return store_failf(st, "migration %lld: %s", (long long)n, why);
}

/*
 * A PostgreSQL store brought to this binary's version, under the fleet's
 * lock: the version read again once the lock is held.
 */
static int
schema_migrate_pgsql(struct store *st)
{
	char why[sizeof(st->err)];
	int64_t v, n;

	if (store_exec(st, "BEGIN") == -1)
		return -1;
	if (store_exec(st, STORE_PG_SCHEMA_LOCK) == -1 ||
	    schema_read_version(st, &v) == -1)
		goto fail;
	if (v == 0 && store_exec(st, pgsql_schema_baseline) == -1)
		goto fail;
	if (v == 0)
		v = PGSQL_BASELINE;
	if (v < PGSQL_BASELINE) {
		store_failf(st, "schema version %lld: not a PostgreSQL store's",
		    (long long)v);
		goto fail;
	}
	for (n = v + 1; n <= STORE_SCHEMA_VERSION; n++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations"
		    " VALUES (%lld, extract(epoch FROM now())::bigint)",
		    (long long)n);
		if (store_exec(st, pgsql_migrations[n - PGSQL_BASELINE - 1])
		    == -1 || store_exec(st, sql) == -1)
			goto fail;
	}
	return store_exec(st, "COMMIT");
fail:
	snprintf(why, sizeof(why), "%s", st->err);
	db_exec(st->db, "ROLLBACK");
	return store_failf(st, "schema: %s", why);
}

int
store_schema_migrate(struct store *st, int create)
{
	int64_t v, n;

	if (schema_read_version(st, &v) == -1)
		return -1;
	if (v > STORE_SCHEMA_VERSION)
		return store_failf(st, "schema version %lld is newer than this"
		    " segmilter understands (%d); upgrade segmilter",
		    (long long)v, STORE_SCHEMA_VERSION);
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (!create) {
		if (v == 0)
			return store_failf(st, "no store here; create it with"
			    " `segctl init`");
		return store_failf(st, "schema version %lld is older than %d;"
		    " upgrade it with `segctl init`", (long long)v,
		    STORE_SCHEMA_VERSION);
	}
	if (db_engine(st->db) == DB_PGSQL)
		return schema_migrate_pgsql(st);
	for (n = v + 1; n <= STORE_SCHEMA_VERSION; n++)
		if (schema_apply(st, n) == -1)
			return -1;
	return 0;
}
