import { describe, expect, it } from 'vitest'
import { MAX_EVENT_BYTES, parseFrame } from '../../src/ingest/parse.js'
import { accountEvent, followEvent, identityEvent, likeEvent, postEvent, deleteEvent } from '../_util/jetstream-events.js'

const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz'
const frame = (e: { time_us?: unknown; [k: string]: unknown }, timeUs = 1_700_000_000_000_000) => JSON.stringify({ ...e, time_us: e.time_us ?? timeUs })

describe('parseFrame', () => {
  it('turns a post create into a write op keyed by its AT-URI, with rev, cid and the raw record', () => {
    const e = postEvent(DID, { rkey: '3kabcdefghi22', text: 'hi' })
    const p = parseFrame(frame(e))
    expect(p.ok).toBe(true)
    if (!p.ok) return
    expect(p.kind).toBe('app.bsky.feed.post')
    expect(p.timeUs).toBe(1_700_000_000_000_000)
    expect(p.op).toMatchObject({
      kind: 'create',
      uri: `at://${DID}/app.bsky.feed.post/3kabcdefghi22`,
      did: DID,
      collection: 'app.bsky.feed.post',
      rkey: '3kabcdefghi22',
      cid: e.commit!.cid,
      rev: e.commit!.rev,
      record: { $type: 'app.bsky.feed.post', text: 'hi' },
    })
  })

  it('parses deletes, updates, likes and follows', () => {
    const del = parseFrame(frame(deleteEvent(DID, 'app.bsky.feed.like', '3kabc')))
    expect(del.ok && del.op).toMatchObject({ kind: 'delete', uri: `at://${DID}/app.bsky.feed.like/3kabc` })
    const like = parseFrame(frame(likeEvent(DID, `at://${DID}/app.bsky.feed.post/x`)))
    expect(like.ok && like.kind).toBe('app.bsky.feed.like')
    const follow = parseFrame(frame(followEvent(DID, 'did:plc:other')))
    expect(follow.ok && follow.op.kind).toBe('create')
    const upd = { ...postEvent(DID), commit: { ...postEvent(DID).commit!, operation: 'update' } }
    expect(parseFrame(frame(upd)).ok && (parseFrame(frame(upd)) as { op: { kind: string } }).op.kind).toBe('update')
  })

  it('parses identity (an invalid handle counts as absent) and account events', () => {
    const id = parseFrame(frame(identityEvent(DID, 'Alice.Example.com')))
    expect(id.ok && id.op).toEqual({ kind: 'identity', did: DID, handle: 'alice.example.com' })
    const badHandle = parseFrame(frame(identityEvent(DID, 'not a handle')))
    expect(badHandle.ok && badHandle.op).toEqual({ kind: 'identity', did: DID, handle: undefined })
    const acct = parseFrame(frame(accountEvent(DID, false, 'takendown')))
    expect(acct.ok && acct.op).toEqual({ kind: 'account', did: DID, active: false, status: 'takendown' })
  })

  it('names the reason for every kind of unusable frame, keeping time_us when it is known', () => {
    const t = 1_700_000_000_000_001
    const cases: Array<[string | Buffer, string, number | undefined]> = [
      ['{"did":', 'invalid_json', undefined],
      [Buffer.from([0xff, 0x00, 0x13]), 'invalid_json', undefined],
      ['[1,2,3]', 'not_an_event', undefined],
      ['null', 'not_an_event', undefined],
      [frame({ ...postEvent(DID), time_us: 'soon' }), 'invalid_time_us', undefined],
      [frame({ ...postEvent(DID), time_us: -5 }), 'invalid_time_us', undefined],
      [frame({ ...postEvent(DID), time_us: 2 ** 60 }), 'invalid_time_us', undefined],
      [frame({ ...postEvent('not-a-did') }, t), 'invalid_did', t],
      [frame({ ...postEvent('did:plc:') }, t), 'invalid_did', t],
      [frame({ did: DID, kind: 'sync' }, t), 'unknown_kind', t],
      [frame({ ...postEvent(DID), commit: { ...postEvent(DID).commit!, collection: 'app.bsky.feed.threadgate' } }, t), 'unknown_collection', t],
      [frame({ ...postEvent(DID), commit: { ...postEvent(DID).commit!, rkey: '../../etc' } }, t), 'invalid_rkey', t],
      [frame({ ...postEvent(DID), commit: { ...postEvent(DID).commit!, operation: 'upsert' } }, t), 'unknown_operation', t],
      [frame({ ...postEvent(DID), commit: { ...postEvent(DID).commit!, record: 'text' } }, t), 'invalid_commit', t],
      [frame({ ...postEvent(DID), commit: { ...postEvent(DID).commit!, cid: undefined } }, t), 'invalid_commit', t],
      [frame({ did: DID, kind: 'commit', commit: 7 }, t), 'invalid_commit', t],
      [frame({ did: DID, kind: 'account', account: { did: DID } }, t), 'not_an_event', t],
      ['x'.repeat(MAX_EVENT_BYTES + 1), 'oversized', undefined],
    ]
    for (const [input, reason, timeUs] of cases) {
      const p = parseFrame(input)
      expect(p, String(input).slice(0, 80)).toEqual({ ok: false, reason, ...(timeUs ? { timeUs } : {}) })
    }
  })
})
