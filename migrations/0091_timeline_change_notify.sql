-- Two more caches of the read path, announced on the same channel as 0090's row changes:
--   'f'  follow rows written or removed, keyed by the follower (author_did): the api's
--        per-viewer copy of whom the viewer follows (the timeline's sources, viewer.following)
--        is dropped and read again.
--   'l'  feed items written, keyed by their originator: the api's "newest item of this account"
--        (an upper bound the timeline uses to skip accounts with nothing in its time window)
--        is dropped and read again. Deletes need no message: they can only lower the true
--        newest item, and an upper bound stays an upper bound.
create or replace function appview_follow_rows_changed() returns trigger
language plpgsql as $$
begin
  perform appview_notify_changed_keys(TG_TABLE_SCHEMA, 'f', (select array_agg(distinct author_did) from changed_rows));
  return null;
end $$;

create or replace function appview_feed_item_rows_written() returns trigger
language plpgsql as $$
begin
  perform appview_notify_changed_keys(TG_TABLE_SCHEMA, 'l', (select array_agg(distinct originator_did) from changed_rows));
  return null;
end $$;

create trigger follow_rows_inserted after insert on follow
  referencing new table as changed_rows for each statement execute function appview_follow_rows_changed();
create trigger follow_rows_updated after update on follow
  referencing new table as changed_rows for each statement execute function appview_follow_rows_changed();
create trigger follow_rows_deleted after delete on follow
  referencing old table as changed_rows for each statement execute function appview_follow_rows_changed();
create trigger feed_item_rows_inserted after insert on feed_item
  referencing new table as changed_rows for each statement execute function appview_feed_item_rows_written();
create trigger feed_item_rows_updated after update on feed_item
  referencing new table as changed_rows for each statement execute function appview_feed_item_rows_written();
