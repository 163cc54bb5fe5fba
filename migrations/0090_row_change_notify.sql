-- Row-change notifications for the read path's row cache (src/hydration/row-cache.ts).
--
-- The read API keeps recently shown post, repost and actor rows in memory. Whatever changes
-- or removes one of those rows — the indexer (counters, edits, deletes, account status),
-- retention pruning, an operator's SQL — must drop it from every process's cache. A
-- statement-level trigger sees every such change, whoever makes it, and sends the keys on a
-- per-schema channel ('appview_rows_' || md5(schema)) at commit (NOTIFY is transactional: nothing is sent for a rolled-back
-- change, and listeners receive notifications in commit order). Inserts need no message: the
-- cache never remembers a missing row.
--
-- Payload: one letter naming the table ('p' post, 'r' repost, 'a' actor), then the keys,
-- tab-separated, at most ~7,900 bytes per message (Postgres's limit is 8,000).
create or replace function appview_notify_changed_keys(schema_name text, kind text, keys text[]) returns void
language plpgsql as $$
declare
  channel text := 'appview_rows_' || md5(schema_name);
  payload text := kind;
  k text;
begin
  if keys is null then
    return;
  end if;
  foreach k in array keys loop
    if length(payload) + length(k) + 1 > 7900 then
      perform pg_notify(channel, payload);
      payload := kind;
    end if;
    payload := payload || E'\t' || k;
  end loop;
  if payload <> kind then
    perform pg_notify(channel, payload);
  end if;
end $$;

create or replace function appview_post_rows_changed() returns trigger
language plpgsql as $$
begin
  perform appview_notify_changed_keys(TG_TABLE_SCHEMA, 'p', (select array_agg(distinct uri) from changed_rows));
  return null;
end $$;

create or replace function appview_repost_rows_changed() returns trigger
language plpgsql as $$
begin
  perform appview_notify_changed_keys(TG_TABLE_SCHEMA, 'r', (select array_agg(distinct uri) from changed_rows));
  return null;
end $$;

create or replace function appview_actor_rows_changed() returns trigger
language plpgsql as $$
begin
  perform appview_notify_changed_keys(TG_TABLE_SCHEMA, 'a', (select array_agg(distinct did) from changed_rows));
  return null;
end $$;

create trigger post_rows_updated after update on post
  referencing new table as changed_rows for each statement execute function appview_post_rows_changed();
create trigger post_rows_deleted after delete on post
  referencing old table as changed_rows for each statement execute function appview_post_rows_changed();
create trigger repost_rows_updated after update on repost
  referencing new table as changed_rows for each statement execute function appview_repost_rows_changed();
create trigger repost_rows_deleted after delete on repost
  referencing old table as changed_rows for each statement execute function appview_repost_rows_changed();
create trigger actor_rows_updated after update on actor
  referencing new table as changed_rows for each statement execute function appview_actor_rows_changed();
create trigger actor_rows_deleted after delete on actor
  referencing old table as changed_rows for each statement execute function appview_actor_rows_changed();
