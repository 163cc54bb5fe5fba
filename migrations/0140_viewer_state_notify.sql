-- Viewer state announced on the row-change channel (0090's appview_notify_changed_keys):
--   'v' <did>  something of this account's viewer state changed: their likes and reposts
--              (by_local rows: the only ones the viewer-state query reads), their blocks
--              either way, follows of them (followedBy), their mutes (accounts, list members,
--              threads), activity subscriptions and bookmarks.
-- The read API keeps each viewer's answers for the accounts and posts it has shown them
-- (src/hydration/row-source.ts, viewerStateRows) and drops a viewer's answers on 'v'. The
-- viewer's own follows are 'f' (0091) and come from the follow set held for the timeline.
create or replace function appview_viewer_state_changed() returns trigger
language plpgsql as $$
declare
  dids text[];
begin
  if TG_TABLE_NAME in ('like', 'repost') then
    select array_agg(distinct author_did) into dids from changed_rows where by_local;
  elsif TG_TABLE_NAME = 'block' then
    select array_agg(distinct d) into dids from (
      select author_did as d from changed_rows union select subject_did from changed_rows) b;
  elsif TG_TABLE_NAME = 'follow' then
    select array_agg(distinct subject_did) into dids from changed_rows;
  elsif TG_TABLE_NAME = 'activity_subscription' then
    select array_agg(distinct subscriber_did) into dids from changed_rows;
  elsif TG_TABLE_NAME = 'bookmark' then
    select array_agg(distinct owner_did) into dids from changed_rows;
  else -- mute_actor, mute_list_member, mute_thread
    select array_agg(distinct muter_did) into dids from changed_rows;
  end if;
  if dids is not null then
    perform appview_notify_changed_keys(TG_TABLE_SCHEMA, 'v', dids);
  end if;
  return null;
end $$;

do $$
declare
  t text;
  op text;
begin
  foreach t in array array['like', 'repost', 'block', 'follow', 'activity_subscription', 'bookmark',
                           'mute_actor', 'mute_list_member', 'mute_thread'] loop
    foreach op in array array['insert', 'update', 'delete'] loop
      execute format(
        'create trigger %I after %s on %I referencing %s table as changed_rows '
        'for each statement execute function appview_viewer_state_changed()',
        t || '_viewer_state_' || op, op, t, case when op = 'delete' then 'old' else 'new' end);
    end loop;
  end loop;
end $$;
