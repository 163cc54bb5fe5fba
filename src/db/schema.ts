// Row types of the tables in migrations/, as Kysely sees them. snake_case on both sides:
// what you read here is what you write in SQL.
import type { ColumnType, Generated } from 'kysely'

/** timestamptz: read as Date, written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>
type Counter = ColumnType<number, number | undefined, number>
/** bigint arrives from pg as a string; we write numbers. */
type BigIntCol = ColumnType<string, number | string | bigint, number | string | bigint>
type Json = ColumnType<unknown, string, string>

export interface ActorTable {
  did: string
  handle: string | null
  display_name: string | null
  description: string | null
  avatar_cid: string | null
  banner_cid: string | null
  pinned_post_uri: string | null
  pinned_post_cid: string | null
  profile_cid: string | null
  profile_record: Json | null
  profile_rev: string | null
  profile_created_at: Timestamp | null
  followers_count: Counter
  follows_count: Counter
  posts_count: Counter
  status: ColumnType<string, string | undefined, string>
  repo_rev: string | null
  indexed_at: DefaultTimestamp
  updated_at: DefaultTimestamp
}

export interface PostTable {
  uri: string
  cid: string
  author_did: string
  rev: string | null
  created_at: Timestamp
  indexed_at: DefaultTimestamp
  sort_at: Timestamp
  /** text, langs and the reply/quote CIDs are read from `record` (migrations/0100) */
  reply_root_uri: string | null
  reply_parent_uri: string | null
  embed_kind: string | null
  embed_record_uri: string | null
  record: Json
  like_count: Counter
  repost_count: Counter
  reply_count: Counter
  quote_count: Counter
}

interface SubjectRecordTable {
  uri: string
  cid: string
  author_did: string
  rev: string | null
  created_at: Timestamp
  indexed_at: DefaultTimestamp
  sort_at: Timestamp
}

export interface RepostTable extends SubjectRecordTable {
  subject_uri: string
  subject_cid: string
  /** the author is a local user (migrations/0070): the author indexes hold only these */
  by_local: ColumnType<boolean, boolean | undefined, boolean>
}
/**
 * A like: a repost's shape without the record's own cid (read by nothing, not stored), and
 * subject_cid only for likes of a local user's post (their notifications rebuild the record;
 * null otherwise, migrations/0100).
 */
export type LikeTable = Omit<RepostTable, 'cid' | 'subject_cid'> & { subject_cid: string | null }
export interface FollowTable extends SubjectRecordTable {
  subject_did: string
}
export type BlockTable = FollowTable

export interface FeedItemTable {
  uri: string
  type: 'post' | 'repost'
  /** the repost's subject; null for a post item (its own uri), migrations/0100 */
  post_uri: string | null
  originator_did: string
  sort_at: Timestamp
}

export interface TombstoneTable {
  uri: string
  author_did: string
  rev: string | null
  deleted_at: DefaultTimestamp
}

export interface IngestStateTable {
  id: string
  cursor_time_us: BigIntCol | null
  updated_at: DefaultTimestamp
}

export interface IngestGapTable {
  id: Generated<string>
  from_time_us: BigIntCol
  to_time_us: BigIntCol
  detected_at: DefaultTimestamp
  repair_started_at: Timestamp | null
  closed_at: Timestamp | null
}

export interface LocalUserTable {
  did: string
  added_by: 'request' | 'operator'
  created_at: DefaultTimestamp
  onboarding_state: ColumnType<string, string | undefined, string>
  onboarding_error: string | null
  onboarded_at: Timestamp | null
  last_request_at: Timestamp | null
  notifications_seen_at: Timestamp | null
  preferences: ColumnType<unknown, string | undefined, string>
  notification_preferences: Json | null
}

export interface TrackedDidTable {
  did: string
  tracked_seq: Generated<string>
  tracked_at: DefaultTimestamp
  backfill_state: ColumnType<string, string | undefined, string>
  backfill_error: string | null
  backfill_horizon: Timestamp | null
  backfill_progress: Json | null
  records_indexed: Counter
  backfill_started_at: Timestamp | null
  backfill_completed_at: Timestamp | null
  updated_at: DefaultTimestamp
}

export interface NotificationTable {
  id: Generated<string>
  recipient_did: string
  author_did: string
  reason: string
  reason_subject: string | null
  record_uri: string
  record_cid: string
  sort_at: Timestamp
  indexed_at: DefaultTimestamp
}

// Per-user AppView state (0050_app_surface.sql), written only by src/state/*.
export interface MuteActorTable {
  muter_did: string
  subject_did: string
  created_at: DefaultTimestamp
}
export interface MuteListTable {
  muter_did: string
  list_uri: string
  created_at: DefaultTimestamp
}
export interface MuteThreadTable {
  muter_did: string
  root_uri: string
  created_at: DefaultTimestamp
}
export interface BookmarkTable {
  owner_did: string
  subject_uri: string
  subject_cid: string
  created_at: DefaultTimestamp
}
export interface ActivitySubscriptionTable {
  subscriber_did: string
  subject_did: string
  post: boolean
  reply: boolean
  created_at: DefaultTimestamp
  updated_at: DefaultTimestamp
}

// Track-before-list handshake (0010_live_filter.sql), written only by src/ingest/filter.ts.
export interface LiveFilterAckTable {
  role: string
  process_id: string
  acked_seq: BigIntCol
  heartbeat_at: DefaultTimestamp
}

/** migrations/0030_backfill.sql: which tracked DIDs still owe an ingest gap its repair. */
export interface GapRepairTable {
  gap_id: BigIntCol
  did: string
  state: ColumnType<string, string | undefined, string>
  error: string | null
  updated_at: DefaultTimestamp
}

// Members of muted lists as of the mute (0053_list_mute_members.sql), src/state/mutes.ts.
export interface MuteListMemberTable {
  muter_did: string
  list_uri: string
  subject_did: string
}

// Post drafts (0051_drafts.sql), written only by src/state/drafts.ts.
export interface DraftTable {
  owner_did: string
  id: string
  draft: Json
  created_at: Timestamp
  updated_at: Timestamp
}

export interface DatabaseSchema {
  actor: ActorTable
  post: PostTable
  repost: RepostTable
  like: LikeTable
  follow: FollowTable
  block: BlockTable
  feed_item: FeedItemTable
  tombstone: TombstoneTable
  ingest_state: IngestStateTable
  ingest_gap: IngestGapTable
  local_user: LocalUserTable
  tracked_did: TrackedDidTable
  notification: NotificationTable
  live_filter_ack: LiveFilterAckTable
  mute_actor: MuteActorTable
  mute_list: MuteListTable
  mute_thread: MuteThreadTable
  bookmark: BookmarkTable
  activity_subscription: ActivitySubscriptionTable
  draft: DraftTable
  mute_list_member: MuteListMemberTable
  gap_repair: GapRepairTable
}
