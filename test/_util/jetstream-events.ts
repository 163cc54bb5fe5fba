// Builders for Jetstream JSON events in tests: a valid record of each collection with
// sensible defaults, so a test states only what it is about.
import { createHash } from 'node:crypto'
import type { JetstreamEventInput } from './jetstream-server.js'

let tidCounter = 0
const TID_CHARS = '234567abcdefghijklmnopqrstuvwxyz'
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** A fresh, valid TID (record key / rev), increasing within a test process. */
export function nextTid(): string {
  const us = BigInt(Date.now()) * 1000n + BigInt(tidCounter++ % 1000)
  let n = (us << 10n) | BigInt(tidCounter % 1024)
  let s = ''
  for (let i = 0; i < 13; i++) {
    s = TID_CHARS[Number(n & 31n)] + s
    n >>= 5n
  }
  return s
}

/** A real CIDv1 (dag-cbor, sha256) derived from a seed: unique per call by default. */
export function fakeCid(seed = `${nextTid()}-${Math.random()}`): string {
  const digest = createHash('sha256').update(seed).digest()
  const bytes = Buffer.concat([Buffer.from([0x01, 0x71, 0x12, 0x20]), digest])
  let out = 'b'
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]
  return out
}

export function postUri(did: string, rkey: string): string {
  return `at://${did}/app.bsky.feed.post/${rkey}`
}

interface CommitArgs {
  did: string
  collection: string
  rkey?: string
  record: Record<string, unknown>
  time_us?: number
  operation?: 'create' | 'update'
}

export function createEvent(a: CommitArgs): JetstreamEventInput {
  const rkey = a.rkey ?? nextTid()
  return {
    did: a.did,
    time_us: a.time_us,
    kind: 'commit',
    commit: {
      rev: nextTid(),
      operation: a.operation ?? 'create',
      collection: a.collection,
      rkey,
      record: { $type: a.collection, ...a.record },
      cid: fakeCid(),
    },
  }
}

export function deleteEvent(did: string, collection: string, rkey: string, time_us?: number): JetstreamEventInput {
  return { did, time_us, kind: 'commit', commit: { rev: nextTid(), operation: 'delete', collection, rkey } }
}

export function postEvent(
  did: string,
  opts: { rkey?: string; text?: string; createdAt?: string; extra?: Record<string, unknown>; time_us?: number } = {},
): JetstreamEventInput {
  return createEvent({
    did,
    collection: 'app.bsky.feed.post',
    rkey: opts.rkey,
    time_us: opts.time_us,
    record: { text: opts.text ?? 'hello', createdAt: opts.createdAt ?? new Date().toISOString(), ...opts.extra },
  })
}

export function likeEvent(did: string, subjectUri: string, opts: { rkey?: string; time_us?: number } = {}): JetstreamEventInput {
  return createEvent({
    did,
    collection: 'app.bsky.feed.like',
    rkey: opts.rkey,
    time_us: opts.time_us,
    record: { subject: { uri: subjectUri, cid: fakeCid() }, createdAt: new Date().toISOString() },
  })
}

export function repostEvent(did: string, subjectUri: string, opts: { rkey?: string; time_us?: number } = {}): JetstreamEventInput {
  return createEvent({
    did,
    collection: 'app.bsky.feed.repost',
    rkey: opts.rkey,
    time_us: opts.time_us,
    record: { subject: { uri: subjectUri, cid: fakeCid() }, createdAt: new Date().toISOString() },
  })
}

export function followEvent(did: string, subject: string, opts: { rkey?: string; time_us?: number } = {}): JetstreamEventInput {
  return createEvent({
    did,
    collection: 'app.bsky.graph.follow',
    rkey: opts.rkey,
    time_us: opts.time_us,
    record: { subject, createdAt: new Date().toISOString() },
  })
}

export function blockEvent(did: string, subject: string, opts: { rkey?: string; time_us?: number } = {}): JetstreamEventInput {
  return createEvent({
    did,
    collection: 'app.bsky.graph.block',
    rkey: opts.rkey,
    time_us: opts.time_us,
    record: { subject, createdAt: new Date().toISOString() },
  })
}

export function identityEvent(did: string, handle?: string, time_us?: number): JetstreamEventInput {
  return { did, time_us, kind: 'identity', identity: { did, handle, seq: 1, time: new Date().toISOString() } }
}

export function accountEvent(did: string, active: boolean, status?: string, time_us?: number): JetstreamEventInput {
  return { did, time_us, kind: 'account', account: { did, active, status, seq: 1, time: new Date().toISOString() } }
}
