// prepare()'s shortcuts must decide exactly as the full checks do: the CID fast path for
// base32 dag-cbor sha2-256 CIDs, and the createdAt check settled by the lexicon.
import { randomBytes } from 'node:crypto'
import { isDatetimeStringLenient } from '@atproto/syntax'
import { describe, expect, it } from 'vitest'
import { loadLexicons } from '../../src/lexicon/lexicons.js'
import { createdAtIsDatetime, isCid, isCidParsed, prepare } from '../../src/ingest/validate.js'
import type { RecordWriteOp } from '../../src/ingest/ops.js'

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const DID = 'did:plc:abcdefghijklmnopqrstuvwx'
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'

/** A real CIDv1 dag-cbor sha2-256 string for a random digest. */
function randomCid(): string {
  const bytes = Buffer.concat([Buffer.from([0x01, 0x71, 0x12, 0x20]), randomBytes(32)])
  let bits = 0
  let acc = 0
  let out = 'b'
  for (const byte of bytes) {
    acc = (acc << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += B32[(acc >> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31]
  return out
}

describe('isCid', () => {
  it('accepts real dag-cbor sha2-256 CIDs, as the full parse does', () => {
    for (let i = 0; i < 500; i++) {
      const cid = randomCid()
      expect(cid).toHaveLength(59)
      expect(isCidParsed(cid)).toBe(true)
      expect(isCid(cid)).toBe(true)
    }
  })

  it('agrees with the full parse on every change of a CID’s 8th and last character, its length and its prefix', () => {
    const variants = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const cid = randomCid()
      for (const c of B32 + 'ABZ019=') {
        variants.add(cid.slice(0, 7) + c + cid.slice(8))
        variants.add(cid.slice(0, 58) + c)
        variants.add(cid + c)
        variants.add(c + cid.slice(1))
      }
      variants.add(cid.slice(0, 58))
      variants.add(cid.replace('bafyrei', 'bafkrei')) // raw codec
      variants.add(cid.replace('bafyrei', 'bafyreh'))
    }
    variants.add('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG') // CIDv0
    variants.add('')
    let fastAccepted = 0
    let rejected = 0
    for (const v of variants) {
      expect(isCid(v), v).toBe(isCidParsed(v))
      if (/^bafyrei[a-h][a-z2-7]{50}[aeimquy4]$/.test(v)) fastAccepted++
      if (!isCidParsed(v)) rejected++
    }
    // Both sides of the shortcut were exercised.
    expect(fastAccepted).toBeGreaterThan(100)
    expect(rejected).toBeGreaterThan(100)
  })
})

describe('prepare: createdAt', () => {
  const lexicons = loadLexicons()
  const now = new Date('2026-01-01T00:00:00.000Z')
  const post = (record: Record<string, unknown>, rkey = '3kabcdefghij2'): RecordWriteOp => ({
    kind: 'create',
    did: DID,
    collection: 'app.bsky.feed.post',
    rkey,
    uri: `at://${DID}/app.bsky.feed.post/${rkey}`,
    cid: CID,
    record: { $type: 'app.bsky.feed.post', ...record },
  })
  const run = (op: RecordWriteOp) => prepare(op, { source: 'backfill' }, lexicons, now)

  it('the lexicon checks createdAt as a datetime for the indexed record types', () => {
    for (const c of ['app.bsky.feed.post', 'app.bsky.feed.repost', 'app.bsky.feed.like', 'app.bsky.graph.follow', 'app.bsky.graph.block', 'app.bsky.actor.profile']) {
      expect(createdAtIsDatetime(lexicons, c), c).toBe(true)
    }
    expect(createdAtIsDatetime(lexicons, 'com.example.unknown')).toBe(false)
  })

  it('keeps a valid createdAt, strict or only lenient, and falls back for an invalid one', () => {
    const cases: Array<[string, boolean]> = [
      ['2024-05-01T10:00:00.000Z', true],
      ['2024-04-12T23:20:50.1235678912345Z', true], // atproto-valid, not ISO-validator-valid
      ['1985-04-12T23:20:50.123Z', true], // valid, kept in the record; too early to sort by
      ['2024-05-01T10:00:00+01:45', true],
      ['2024-05-01T10:00:00', isDatetimeStringLenient('2024-05-01T10:00:00')],
      ['2024-05-01', isDatetimeStringLenient('2024-05-01')],
      ['yesterday-ish', false],
      ['', false],
    ]
    for (const [createdAt, valid] of cases) {
      const p = run(post({ text: 'x', createdAt }))
      expect(p.type, createdAt).toBe('write')
      if (p.type !== 'write') continue
      // A valid createdAt stays in the record; the sort time falls back when it is not a
      // usable date (unparseable by Date, or before 2000) or not valid at all.
      expect(p.input.record.createdAt, createdAt).toBe(valid ? createdAt : now.toISOString())
      expect(p.createdAtFallback, createdAt).toBe(!valid || !(Date.parse(createdAt) >= Date.UTC(2000, 0, 1)))
    }
    // Not a string: the first-seen time, in the stored record too.
    const n = run(post({ text: 'x', createdAt: 12 }))
    expect(n.type === 'write' && n.createdAtFallback && n.input.record.createdAt === now.toISOString()).toBe(true)
  })

  it('a record the lexicon rejects for another reason is skipped, whatever its createdAt', () => {
    for (const createdAt of ['2024-05-01T10:00:00.000Z', 'yesterday-ish']) {
      const p = run(post({ createdAt })) // text is required
      expect(p).toMatchObject({ type: 'skip', reason: 'invalid_record' })
    }
  })
})
