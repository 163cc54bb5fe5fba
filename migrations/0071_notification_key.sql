-- Storage (docs/BENCHMARKS.md, "Storage target"): one index instead of two on notification.
-- The unique key (recipient_did, record_uri, reason) makes a replayed record write nothing; a
-- separate index on record_uri served the deletes of an interaction's notifications. The same
-- key led by record_uri serves both (ON CONFLICT names the columns, not their order), and the
-- "already notified about this post" probe (recipient and record_uri) as well.
create unique index notification_record_recipient_reason_key on notification (record_uri, recipient_did, reason);
alter table notification drop constraint if exists notification_recipient_did_record_uri_reason_key;
drop index if exists notification_record_idx;
