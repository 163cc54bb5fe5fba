// Jetstream's `compress=true` frames: each binary websocket message is one zstd frame made
// with Jetstream's custom dictionary (dict ID 1612007021). The dictionary file beside this
// one is a verbatim copy of bluesky-social/jetstream `pkg/models/zstd_dictionary` (v1),
// kept in v2 as `internal/subscribe/dictionaries/legacy_subscribe.zdict`
// (sha256 b8d77b46933aceecbdd5275a01241efc985c970c78162b8150cf67a26522f70c).
//
// Decompression uses Node's built-in zstd (node:zlib, which accepts a dictionary): it was
// faster than the registry's zstd-napi on this stream (docs/BENCHMARKS.md, "zstd").
import { readFileSync } from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { projectRoot } from '../../util/project-root.js'

export const JETSTREAM_ZSTD_DICTIONARY_ID = 1612007021

let dictionary: Buffer | undefined

/** The dictionary bytes (read once). */
export function jetstreamZstdDictionary(): Buffer {
  dictionary ??= readFileSync(path.join(projectRoot(), 'src/ingest/jetstream/zstd_dictionary'))
  return dictionary
}

/**
 * Decode one compressed frame. `maxBytes` bounds the output so a hostile frame cannot
 * inflate into gigabytes; throws on corrupt input or when the bound is exceeded.
 */
export function decompressJetstreamFrame(frame: Buffer, maxBytes: number): Buffer {
  return zlib.zstdDecompressSync(frame, { dictionary: jetstreamZstdDictionary(), maxOutputLength: maxBytes })
}

/** The server side (test server, benchmark): one frame compressed the way Jetstream does. */
export function compressJetstreamFrame(json: Buffer | string): Buffer {
  return zlib.zstdCompressSync(typeof json === 'string' ? Buffer.from(json) : json, {
    dictionary: jetstreamZstdDictionary(),
  })
}
