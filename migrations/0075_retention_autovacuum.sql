-- Storage (docs/BENCHMARKS.md, "Storage target"): the tables retention prunes lose about
-- 1/720 of their rows every hour (a 30-day horizon, pruned hourly). Space of deleted rows is
-- reused only after a vacuum, and autovacuum's default trigger (20% of the table dead) would
-- let about six days of pruned rows pile up before each vacuum: the files would grow by that
-- much on top of the 30 days they hold. At 2% a vacuum follows about every 14 hours of pruning.
alter table post set (autovacuum_vacuum_scale_factor = 0.02);
alter table feed_item set (autovacuum_vacuum_scale_factor = 0.02);
alter table repost set (autovacuum_vacuum_scale_factor = 0.02);
alter table "like" set (autovacuum_vacuum_scale_factor = 0.02);
alter table notification set (autovacuum_vacuum_scale_factor = 0.02);
alter table tombstone set (autovacuum_vacuum_scale_factor = 0.02);
