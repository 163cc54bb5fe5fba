import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  compressJetstreamFrame,
  decompressJetstreamFrame,
  FrameTooLargeError,
  JETSTREAM_ZSTD_DICTIONARY_ID,
  jetstreamZstdDictionary,
} from '../../../src/ingest/jetstream/zstd.js'
import { ZSTD_DICTIONARY_SHA256 } from '../../../src/ingest/jetstream/zstd-dictionary.js'

describe('Jetstream zstd frames', () => {
  it('embeds exactly the dictionary file copied from bluesky-social/jetstream (dict ID 1612007021)', () => {
    const file = readFileSync(new URL('../../../src/ingest/jetstream/zstd_dictionary', import.meta.url))
    const embedded = jetstreamZstdDictionary()
    expect(embedded.equals(file)).toBe(true)
    expect(createHash('sha256').update(file).digest('hex')).toBe(ZSTD_DICTIONARY_SHA256)
    expect(embedded.readUInt32LE(0)).toBe(0xec30a437) // zstd dictionary magic
    expect(embedded.readUInt32LE(4)).toBe(JETSTREAM_ZSTD_DICTIONARY_ID)
  })

  it('decodes frames compressed with the dictionary, and only with it', () => {
    const json = JSON.stringify({ did: 'did:plc:x', time_us: 1, kind: 'commit', commit: { collection: 'app.bsky.feed.like' } })
    const frame = compressJetstreamFrame(json)
    expect(frame.length).toBeLessThan(json.length)
    expect(decompressJetstreamFrame(frame, 1 << 20).toString()).toBe(json)
    // The same bytes without the dictionary cannot be read: the frame really uses it.
    expect(() => zlib.zstdDecompressSync(frame)).toThrow()
  })

  it('refuses a frame that would decode above the limit, and corrupt frames', () => {
    const big = compressJetstreamFrame('x'.repeat(100_000))
    expect(big.length).toBeLessThan(1_000)
    expect(() => decompressJetstreamFrame(big, 10_000)).toThrow(FrameTooLargeError)
    expect(() => decompressJetstreamFrame(Buffer.from('not zstd at all'), 10_000)).toThrow()
    expect(() => decompressJetstreamFrame(big.subarray(0, big.length - 5), 1 << 20)).toThrow()
  })
})
