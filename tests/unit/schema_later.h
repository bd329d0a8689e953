/*
 * schema_later.h - SQL that takes a store back to schema version 8 in
 * the upgrade tests: what migrations 9 and later created is dropped.
 * Extend it with every migration that adds a table, a column or an
 * index.
 */
#ifndef SEGM_TEST_SCHEMA_LATER_H
#define SEGM_TEST_SCHEMA_LATER_H

/* Back to version 20 from 21. */
#define SCHEMA_UNDO_21							\
	"ALTER TABLE outbox DROP COLUMN claimed_by;"

/* Back to version 19 from 21. */
#define SCHEMA_UNDO_20							\
	SCHEMA_UNDO_21							\
	"DROP TABLE engagement_last; DROP TRIGGER engagement_added;"	\
	"DROP TRIGGER engagement_removed; DROP TRIGGER order_added;"	\
	"DROP TRIGGER order_changed; DROP TRIGGER order_removed;"

/* Back to version 18 from 20: the summaries out, their source back. */
#define SCHEMA_UNDO_19							\
	SCHEMA_UNDO_20							\
	"DROP TRIGGER engagement_sent;"					\
	"DROP TABLE deliveries; DROP TABLE deliveries_window;"		\
	"CREATE TABLE deliveries_closed (customer_id INTEGER NOT NULL,"	\
	"  campaign_id TEXT NOT NULL, at INTEGER NOT NULL,"		\
	"  PRIMARY KEY (customer_id, campaign_id)) WITHOUT ROWID;"

#define SCHEMA_DROP_9_ON						\
	SCHEMA_UNDO_20							\
	"DROP TRIGGER engagement_sent;"					\
	"DROP TABLE deliveries; DROP TABLE deliveries_window;"		\
	"DROP TRIGGER ledger_delivered; DROP TRIGGER ledger_redelivered;"\
	"DROP TABLE webhook_deliveries;"				\
	"DROP TABLE webhook_objects; DROP TABLE webhook_refunds;"	\
	"DROP TABLE segment_building;"					\
	"ALTER TABLE audit DROP COLUMN form;"				\
	"ALTER TABLE audit DROP COLUMN seal;"				\
	"ALTER TABLE customers DROP COLUMN audit_key;"			\
	"ALTER TABLE customers DROP COLUMN redacted_at;"		\
	"DROP TABLE sources;"						\
	"ALTER TABLE customers DROP COLUMN source_id;"			\
	"ALTER TABLE orders DROP COLUMN source_id;"			\
	"ALTER TABLE events DROP COLUMN source_id;"			\
	"ALTER TABLE ledger DROP COLUMN arm;"				\
	"ALTER TABLE ledger DROP COLUMN segment;"			\
	"DROP INDEX engagement_by_type;"				\
	"DROP TABLE campaigns_closed;"					\
	"DROP TABLE audit_archives;"					\
	"DROP TABLE outbox_body;"

#endif
