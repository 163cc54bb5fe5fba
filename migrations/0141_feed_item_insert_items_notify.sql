-- Feed items inserted by a small statement (live ingest's typical write: a post or a repost or
-- a few) are announced with their content, as 'i' messages: one key per item,
--   originator \x1f uri \x1f type \x1f post_uri ('' for a post) \x1f sort key
-- (the sort key as the timeline queries print it: src/dataplane/feeds.ts FEED_ITEM_KEY).
-- The read API then puts the item into every held timeline that merges its originator
-- (src/hydration/timeline-cache.ts itemsWritten) instead of marking the account stale and
-- rereading its items on the next read of each of those timelines — with a popular account
-- posting every second or two, those rereads were most of the read path's remaining queries.
-- Larger statements (a backfilled page), updates and deletes keep 0091/0120's 'l' <account>.
create or replace function appview_feed_item_rows_inserted() returns trigger
language plpgsql as $$
declare
  items text[];
begin
  if (select count(*) from (select 1 from changed_rows limit 21) c) > 20 then
    perform appview_notify_changed_keys(TG_TABLE_SCHEMA, 'l', (select array_agg(distinct originator_did) from changed_rows));
    return null;
  end if;
  select array_agg(originator_did || E'\x1f' || uri || E'\x1f' || type || E'\x1f' || coalesce(post_uri, '') || E'\x1f'
           || to_char(sort_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    into items from changed_rows;
  if items is not null then
    perform appview_notify_changed_keys(TG_TABLE_SCHEMA, 'i', items);
  end if;
  return null;
end $$;

drop trigger feed_item_rows_inserted on feed_item;
create trigger feed_item_rows_inserted after insert on feed_item
  referencing new table as changed_rows for each statement execute function appview_feed_item_rows_inserted();
