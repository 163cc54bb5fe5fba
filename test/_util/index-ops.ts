// Builders for IndexOps (what the indexer consumes) with real CIDs, valid TIDs and records
// that pass the official lexicons, so indexer tests state only what they are about.
import { createHash, randomBytes } from 'node:crypto'
import type { IndexItem } from '../../src/ingest/indexer.js'
import type { IndexOp, OpContext, RecordWriteOp } from '../../src/ingest/ops.js'

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const TID_CHARS = '234567abcdefghijklmnopqrstuvwxyz'

function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]
  return out
}

/** A real CIDv1 (dag-cbor, sha256) of some bytes: parses like any CID from the network. */
export function cidOf(seed: string = randomBytes(8).toString('hex')): string {
  const digest = createHash('sha256').update(seed).digest()
  return 'b' + base32(Buffer.concat([Buffer.from([0x01, 0x71, 0x12, 0x20]), digest]))
}

let tidSeq = 0
/** A valid TID, strictly increasing within the process (revs compare as text). */
export function tid(): string {
  let n = (BigInt(Date.now()) * 1000n + BigInt(tidSeq++)) << 10n
  let s = ''
  for (let i = 0; i < 13; i++) {
    s = TID_CHARS[Number(n & 31n)] + s
    n >>= 5n
  }
  return s
}

let didSeq = 0
/** A fresh did:plc (24 base32 characters). */
export function newDid(): string {
  const raw = base32(createHash('sha256').update(`did-${process.pid}-${didSeq++}-${Math.random()}`).digest())
  return `did:plc:${raw.slice(0, 24)}`
}

export const POST = 'app.bsky.feed.post'
export const LIKE = 'app.bsky.feed.like'
export const REPOST = 'app.bsky.feed.repost'
export const FOLLOW = 'app.bsky.graph.follow'
export const BLOCK = 'app.bsky.graph.block'
export const PROFILE = 'app.bsky.actor.profile'

export interface WriteArgs {
  rkey?: string
  rev?: string | null
  kind?: 'create' | 'update'
  cid?: string
}

export function write(did: string, collection: string, record: Record<string, unknown>, a: WriteArgs = {}): RecordWriteOp {
  const rkey = a.rkey ?? tid()
  return {
    kind: a.kind ?? 'create',
    uri: `at://${did}/${collection}/${rkey}`,
    did,
    collection,
    rkey,
    cid: a.cid ?? cidOf(),
    ...(a.rev === null ? {} : { rev: a.rev ?? tid() }),
    record: { $type: collection, ...record },
  }
}

export function del(uri: string, rev: string | null = tid()): IndexOp {
  const [did, collection, rkey] = uri.slice('at://'.length).split('/') as [string, string, string]
  return { kind: 'delete', uri, did, collection, rkey, ...(rev === null ? {} : { rev }) }
}

export const now = () => new Date().toISOString()

export function post(did: string, record: Record<string, unknown> = {}, a: WriteArgs = {}) {
  return write(did, POST, { text: 'hello', createdAt: now(), ...record }, a)
}

export function ref(op: RecordWriteOp) {
  return { uri: op.uri, cid: op.cid }
}

export function reply(did: string, parent: RecordWriteOp, root: RecordWriteOp = parent, a: WriteArgs = {}) {
  return post(did, { reply: { root: ref(root), parent: ref(parent) } }, a)
}

export function quote(did: string, quoted: RecordWriteOp, a: WriteArgs = {}) {
  return post(did, { embed: { $type: 'app.bsky.embed.record', record: ref(quoted) } }, a)
}

export function mention(did: string, mentioned: string, a: WriteArgs = {}) {
  const text = '@someone hi'
  return post(
    did,
    {
      text,
      facets: [
        {
          index: { byteStart: 0, byteEnd: 8 },
          features: [{ $type: 'app.bsky.richtext.facet#mention', did: mentioned }],
        },
      ],
    },
    a,
  )
}

export function like(did: string, subject: RecordWriteOp, a: WriteArgs = {}) {
  return write(did, LIKE, { subject: ref(subject), createdAt: now() }, a)
}

export function repost(did: string, subject: RecordWriteOp, a: WriteArgs = {}) {
  return write(did, REPOST, { subject: ref(subject), createdAt: now() }, a)
}

export function follow(did: string, subject: string, a: WriteArgs = {}) {
  return write(did, FOLLOW, { subject, createdAt: now() }, a)
}

export function block(did: string, subject: string, a: WriteArgs = {}) {
  return write(did, BLOCK, { subject, createdAt: now() }, a)
}

export function profile(did: string, record: Record<string, unknown> = {}, a: WriteArgs = {}) {
  return write(did, PROFILE, { displayName: 'Someone', ...record }, { rkey: 'self', ...a })
}

/** Wrap ops as items from the stream; time_us increases by 1 ms per op from `startUs`. */
export function items(ops: IndexOp[], ctx: Partial<OpContext> & { startUs?: number } = {}): IndexItem[] {
  const { startUs, ...rest } = ctx
  return ops.map((op, i) => ({
    op,
    ctx: { source: 'jetstream', ...rest, ...(startUs !== undefined ? { timeUs: startUs + i * 1000 } : {}) },
  }))
}

/** As from a backfill page: no rev, no time_us. */
export function backfillItems(ops: IndexOp[]): IndexItem[] {
  return ops.map((op) => {
    const { rev: _rev, ...rest } = op as RecordWriteOp
    return { op: rest as IndexOp, ctx: { source: 'backfill' } }
  })
}
