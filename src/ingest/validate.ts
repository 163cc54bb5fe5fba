// Everything decided about an op before a transaction opens: is it well-formed (DIDs, AT-URI,
// record key, CID, the record against the official lexicon), which processor takes it, and
// which times it gets. An op that can never be indexed becomes a Skip with a reason; nothing
// here touches the database.
import { jsonToLex, type Lexicons } from '@atproto/lexicon'
import { isDatetimeStringLenient, isValidDid, isValidHandle, isValidRecordKey, normalizeHandle } from '@atproto/syntax'
import { errorMessage } from '../errors.js'
import type { AccountOp, IdentityOp, IndexOp, OpContext, RecordDeleteOp, RecordWriteOp } from './ops.js'
import { PROCESSORS } from './records/index.js'
import type { RecordProcessor, WriteInput } from './records/processor.js'
import { didOfUri, postRefs, strongRefUri, subjectDid } from './records/subjects.js'

export type SkipReason =
  | 'invalid_did'
  | 'invalid_uri'
  | 'invalid_rkey'
  | 'invalid_cid'
  | 'invalid_rev'
  | 'unknown_collection'
  | 'invalid_record'
  | 'invalid_subject'
  | 'unknown_kind'
  | 'db_rejected'

export interface Skip {
  type: 'skip'
  reason: SkipReason
  detail: string
}

export type Prepared =
  | { type: 'write'; op: RecordWriteOp; processor: RecordProcessor; input: WriteInput; createdAtFallback: boolean }
  | { type: 'delete'; op: RecordDeleteOp; processor: RecordProcessor; rev: string | null }
  | { type: 'identity'; op: IdentityOp; handle: string | null | undefined }
  | { type: 'account'; op: AccountOp; status: string }

/** Dates before this are not real post dates (clock reset, placeholder): use first-seen. */
const EARLIEST_CREATED_AT = Date.UTC(2000, 0, 1)
const ACCOUNT_STATUSES = new Set(['deactivated', 'takendown', 'suspended', 'deleted', 'desynchronized', 'throttled'])
/** Revs are TIDs: 13 base32-sortable characters (compared as text by the stale-rev guard). */
const TID = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/

const skip = (reason: SkipReason, detail: string): Skip => ({ type: 'skip', reason, detail })

export function prepare(op: IndexOp, ctx: OpContext, lexicons: Lexicons, now: Date): Prepared | Skip {
  if (typeof op !== 'object' || op === null) return skip('unknown_kind', 'not an object')
  if (typeof op.did !== 'string' || !isValidDid(op.did)) return skip('invalid_did', `bad DID ${String(op.did)}`)
  switch (op.kind) {
    case 'create':
    case 'update':
      return prepareWrite(op, ctx, lexicons, now)
    case 'delete':
      return prepareDelete(op)
    case 'identity':
      return prepareIdentity(op)
    case 'account':
      return prepareAccount(op)
    default:
      return skip('unknown_kind', `unknown op kind ${String((op as { kind?: unknown }).kind)}`)
  }
}

function checkAddress(op: RecordWriteOp | RecordDeleteOp): { processor: RecordProcessor; rev: string | null } | Skip {
  const processor = PROCESSORS.get(op.collection)
  if (!processor) return skip('unknown_collection', `not indexed: ${String(op.collection)}`)
  if (typeof op.rkey !== 'string' || !isValidRecordKey(op.rkey) || (processor.rkey && op.rkey !== processor.rkey)) {
    return skip('invalid_rkey', `bad record key ${String(op.rkey)} for ${op.collection}`)
  }
  if (op.uri !== `at://${op.did}/${op.collection}/${op.rkey}`) {
    return skip('invalid_uri', `uri ${String(op.uri)} does not match at://${op.did}/${op.collection}/${op.rkey}`)
  }
  if (op.rev !== undefined && (typeof op.rev !== 'string' || !TID.test(op.rev))) {
    return skip('invalid_rev', `bad rev ${String(op.rev)}`)
  }
  return { processor, rev: op.rev ?? null }
}

function prepareWrite(op: RecordWriteOp, ctx: OpContext, lexicons: Lexicons, now: Date): Prepared | Skip {
  const address = checkAddress(op)
  if ('type' in address) return address
  if (typeof op.cid !== 'string' || !isCid(op.cid)) return skip('invalid_cid', `bad cid ${String(op.cid)}`)
  const raw = op.record
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return skip('invalid_record', 'record is not an object')

  const indexedAt = firstSeen(ctx, now)
  let record = raw as Record<string, unknown>
  let createdAtFallback = false
  const claimed = record.createdAt
  // The usual case first: a record the lexicon accepts as it is. Where the lexicon itself
  // checks createdAt as a datetime (the same isDatetimeStringLenient as below), that also
  // settles the createdAt check, which is then not run a second time.
  let accepted = false
  if (typeof claimed === 'string' && createdAtIsDatetime(lexicons, op.collection)) {
    try {
      lexicons.assertValidRecord(op.collection, jsonToLex(record as never))
      accepted = true
    } catch {
      // decided below, exactly as if this had not been tried
    }
  }
  if (!accepted) {
    // An unparseable createdAt must not cost us the post: it gets the first-seen time, also in
    // the stored record (views return it, and the app drops records that fail the lexicon).
    const claimedValid = typeof claimed === 'string' && isDatetimeStringLenient(claimed)
    if (!claimedValid && (claimed !== undefined || op.collection !== 'app.bsky.actor.profile')) {
      record = { ...record, createdAt: indexedAt.toISOString() }
      createdAtFallback = true
    }
    try {
      lexicons.assertValidRecord(op.collection, jsonToLex(record as never))
    } catch (err) {
      return skip('invalid_record', errorMessage(err))
    }
  }
  const subjectProblem = checkSubjects(op.collection, record)
  if (subjectProblem) return skip('invalid_subject', subjectProblem)

  let createdAt = new Date(record.createdAt as string)
  if (Number.isNaN(createdAt.getTime()) || createdAt.getTime() < EARLIEST_CREATED_AT) {
    createdAt = indexedAt
    createdAtFallback = true
  }
  const sortAt = createdAt < indexedAt ? createdAt : indexedAt
  return {
    type: 'write',
    op,
    processor: address.processor,
    createdAtFallback,
    input: { uri: op.uri, did: op.did, rkey: op.rkey, cid: op.cid, rev: address.rev, record, createdAt, indexedAt, sortAt },
  }
}

/** Subjects must name accounts by DID (the lexicon also allows handles in at-uris). */
function checkSubjects(collection: string, record: Record<string, unknown>): string | undefined {
  if (collection === 'app.bsky.feed.like' || collection === 'app.bsky.feed.repost') {
    if (!didOfUri(strongRefUri(record))) return `subject ${String(strongRefUri(record))} is not an at://did:… uri`
  }
  if (collection === 'app.bsky.graph.follow' || collection === 'app.bsky.graph.block') {
    if (!isValidDid(subjectDid(record))) return `subject ${String(subjectDid(record))} is not a DID`
  }
  if (collection === 'app.bsky.feed.post') {
    const refs = postRefs(record)
    for (const uri of [refs.replyParentUri, refs.replyRootUri]) {
      if (uri !== undefined && !didOfUri(uri)) return `reply reference ${uri} is not an at://did:… uri`
    }
  }
  return undefined
}

function prepareDelete(op: RecordDeleteOp): Prepared | Skip {
  const address = checkAddress(op)
  if ('type' in address) return address
  return { type: 'delete', op, processor: address.processor, rev: address.rev }
}

function prepareIdentity(op: IdentityOp): Prepared {
  // A handle that is absent or not a valid handle is re-resolved (or left as it is).
  const handle =
    typeof op.handle === 'string' && isValidHandle(op.handle) && op.handle !== 'handle.invalid'
      ? normalizeHandle(op.handle)
      : undefined
  return { type: 'identity', op, handle }
}

function prepareAccount(op: AccountOp): Prepared {
  if (op.active === true) return { type: 'account', op, status: 'active' }
  const status = typeof op.status === 'string' && ACCOUNT_STATUSES.has(op.status) ? op.status : 'deactivated'
  return { type: 'account', op, status }
}

/** Jetstream time_us when the event has one (replays then give the same rows), else now. */
function firstSeen(ctx: OpContext, now: Date): Date {
  const us = ctx?.timeUs
  if (typeof us === 'number' && Number.isFinite(us) && us > EARLIEST_CREATED_AT * 1000) {
    return new Date(Math.floor(us / 1000))
  }
  return now
}

/**
 * Does the collection's record lexicon declare createdAt as a datetime (so that accepting a
 * record means its createdAt passed isDatetimeStringLenient)? Per Lexicons instance.
 */
const datetimeCreatedAt = new WeakMap<Lexicons, Map<string, boolean>>()
export function createdAtIsDatetime(lexicons: Lexicons, collection: string): boolean {
  let byCollection = datetimeCreatedAt.get(lexicons)
  if (!byCollection) datetimeCreatedAt.set(lexicons, (byCollection = new Map()))
  let known = byCollection.get(collection)
  if (known === undefined) {
    const def = lexicons.getDef(collection) as
      | { type?: string; record?: { properties?: Record<string, { type?: string; format?: string }> } }
      | undefined
    const prop = def?.type === 'record' ? def.record?.properties?.createdAt : undefined
    known = prop?.type === 'string' && prop.format === 'datetime'
    byCollection.set(collection, known)
  }
  return known
}

/**
 * The CID of almost every record: CIDv1, dag-cbor, sha2-256, in base32 ('b' + 58 characters:
 * "afyrei" and two zero bits are the version, codec and multihash header; the last character
 * holds the digest's final 3 bits and 2 zero padding bits). Exactly the strings of that form
 * that the full parse accepts; anything else goes through the full parse.
 */
const DAG_CBOR_SHA256_CID = /^bafyrei[a-h][a-z2-7]{50}[aeimquy4]$/

/** jsonToLex turns a parseable {$link} into a CID instance and leaves anything else a plain object. */
export function isCid(value: string): boolean {
  if (DAG_CBOR_SHA256_CID.test(value)) return true
  return isCidParsed(value)
}

/** The full parse (isCid without its shortcut), exported for the test of that shortcut. */
export function isCidParsed(value: string): boolean {
  try {
    const parsed = jsonToLex({ $link: value }) as object
    return Object.getPrototypeOf(parsed) !== Object.prototype
  } catch {
    return false
  }
}
