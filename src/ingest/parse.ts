// One Jetstream frame (already decompressed) → an IndexOp with the event's time_us, or the
// reason it was skipped. Pure and total: whatever arrives on the wire, this returns; it never
// throws. Structural checks only (JSON shape, DID, collection, record key, CID present);
// whether a record is a valid lexicon record is the indexer's decision.
import { isValidDid, isValidHandle, isValidRecordKey } from '@atproto/syntax'
import type { IndexOp } from './ops.js'

/** The collections we subscribe to (`wantedCollections`) and index. */
export const WANTED_COLLECTIONS = [
  'app.bsky.feed.post',
  'app.bsky.feed.repost',
  'app.bsky.feed.like',
  'app.bsky.graph.follow',
  'app.bsky.graph.block',
  'app.bsky.actor.profile',
] as const
const WANTED = new Set<string>(WANTED_COLLECTIONS)

/** Largest decoded event we accept. Records are capped far below this by PDSes. */
export const MAX_EVENT_BYTES = 1024 * 1024

export type SkipReason =
  | 'decompress_failed'
  | 'oversized'
  | 'invalid_json'
  | 'not_an_event'
  | 'invalid_time_us'
  | 'invalid_did'
  | 'unknown_kind'
  | 'unknown_collection'
  | 'unknown_operation'
  | 'invalid_rkey'
  | 'invalid_commit'

/** Every reason, for zero-initialised metrics. */
export const SKIP_REASONS: readonly SkipReason[] = [
  'decompress_failed',
  'oversized',
  'invalid_json',
  'not_an_event',
  'invalid_time_us',
  'invalid_did',
  'unknown_kind',
  'unknown_collection',
  'unknown_operation',
  'invalid_rkey',
  'invalid_commit',
]

export type ParsedFrame =
  | { ok: true; op: IndexOp; timeUs: number; kind: EventKind }
  | { ok: false; reason: SkipReason; timeUs?: number }

/** What metrics count events by: the collection of a commit, or identity / account. */
export type EventKind = (typeof WANTED_COLLECTIONS)[number] | 'identity' | 'account'

export function parseFrame(frame: Buffer | string): ParsedFrame {
  const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length
  if (size > MAX_EVENT_BYTES) return { ok: false, reason: 'oversized' }
  let event: unknown
  try {
    event = JSON.parse(typeof frame === 'string' ? frame : frame.toString('utf8'))
  } catch {
    return { ok: false, reason: 'invalid_json' }
  }
  return parseEvent(event)
}

export function parseEvent(event: unknown): ParsedFrame {
  if (!isObject(event)) return { ok: false, reason: 'not_an_event' }
  const timeUs = event.time_us
  // time_us is Jetstream's clock in µs: a positive safe integer, or we cannot place the event.
  if (typeof timeUs !== 'number' || !Number.isSafeInteger(timeUs) || timeUs <= 0) {
    return { ok: false, reason: 'invalid_time_us' }
  }
  const did = event.did
  if (typeof did !== 'string' || !isValidDid(did)) return { ok: false, reason: 'invalid_did', timeUs }

  switch (event.kind) {
    case 'commit':
      return parseCommit(did, timeUs, event.commit)
    case 'identity': {
      const identity = isObject(event.identity) ? event.identity : {}
      // A handle we cannot use is treated as absent: the indexer then re-resolves the DID.
      const handle = typeof identity.handle === 'string' && isValidHandle(identity.handle) ? identity.handle : undefined
      return { ok: true, kind: 'identity', timeUs, op: { kind: 'identity', did, handle: handle?.toLowerCase() } }
    }
    case 'account': {
      const account = event.account
      if (!isObject(account) || typeof account.active !== 'boolean') return { ok: false, reason: 'not_an_event', timeUs }
      const status = typeof account.status === 'string' ? account.status : undefined
      return { ok: true, kind: 'account', timeUs, op: { kind: 'account', did, active: account.active, status } }
    }
    default:
      return { ok: false, reason: 'unknown_kind', timeUs }
  }
}

function parseCommit(did: string, timeUs: number, commit: unknown): ParsedFrame {
  if (!isObject(commit)) return { ok: false, reason: 'invalid_commit', timeUs }
  const { collection, rkey, operation } = commit
  if (typeof collection !== 'string' || !WANTED.has(collection)) return { ok: false, reason: 'unknown_collection', timeUs }
  if (typeof rkey !== 'string' || !isValidRecordKey(rkey)) return { ok: false, reason: 'invalid_rkey', timeUs }
  const rev = typeof commit.rev === 'string' && commit.rev !== '' ? commit.rev : undefined
  const uri = `at://${did}/${collection}/${rkey}`
  const kind = collection as EventKind
  if (operation === 'delete') {
    return { ok: true, kind, timeUs, op: { kind: 'delete', uri, did, collection, rkey, rev } }
  }
  if (operation !== 'create' && operation !== 'update') return { ok: false, reason: 'unknown_operation', timeUs }
  const { cid, record } = commit
  if (typeof cid !== 'string' || !/^[a-z0-9]{8,}$/i.test(cid) || !isObject(record)) {
    return { ok: false, reason: 'invalid_commit', timeUs }
  }
  return { ok: true, kind, timeUs, op: { kind: operation, uri, did, collection, rkey, cid, rev, record } }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
