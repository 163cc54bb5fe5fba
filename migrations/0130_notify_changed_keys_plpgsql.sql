-- The row-change announcer of 0092 (same set-based statement, same messages) as a plpgsql
-- function. As a `language sql` function it was planned afresh on every call — every
-- statement-level row-change trigger calls it, so every indexer batch paid that planning once
-- per table it changed (a backfilled page: its feed items and the author's posts_count): ≈44 µs
-- a call. plpgsql keeps the statements' plans for the session: ≈9 µs.
create or replace function appview_notify_changed_keys(schema_name text, kind text, keys text[]) returns void
language plpgsql as $$
begin
  perform pg_notify('appview_rows_' || md5(schema_name), kind || E'\t' || string_agg(k, E'\t'))
  from (
    select k, sum(length(k) + 1) over (order by ord) / 4000 as chunk
    from unnest(keys) with ordinality u(k, ord)
    where length(k) <= 3500
  ) c
  group by chunk;
  perform pg_notify('appview_rows_' || md5(schema_name), kind || E'\t*')
  where exists (select 1 from unnest(keys) k where length(k) > 3500);
end $$;
