-- A list mute hides the list's members. Lists are records we do not index, so muting one
-- stores the members read from the list owner's repo at that moment (refreshed when the
-- same list is muted again). Only src/state/mutes.ts writes this table.
create table mute_list_member (
  muter_did text not null,
  list_uri text not null,
  subject_did text not null,
  primary key (muter_did, list_uri, subject_did)
);
-- "is this account muted by any list the viewer muted"
create index mute_list_member_subject_idx on mute_list_member (muter_did, subject_did);
