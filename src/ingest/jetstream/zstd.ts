// Jetstream's `compress=true` frames: each binary websocket message is one zstd frame made
// with Jetstream's custom dictionary (dict ID 1612007021; the file ./zstd_dictionary is a
// verbatim copy of bluesky-social/jetstream `pkg/models/zstd_dictionary`, embedded for
// runtime use by ./zstd-dictionary.ts).
//
// Decoder: @toondepauw/node-zstd (napi-rs binding of libzstd; the dictionary is loaded once
// into a Decoder) decodes these frames about twice as fast as Node's built-in
// zlib.zstdDecompressSync, which reloads the dictionary on every call (docs/BENCHMARKS.md,
// "zstd decoders"). Its native binary is an optional dependency, so when it cannot load
// (another platform, `npm prune --omit=optional`) we fall back to node:zlib.
import { createRequire } from 'node:module'
import zlib from 'node:zlib'
import { ZSTD_DICTIONARY_BASE64 } from './zstd-dictionary.js'

export const JETSTREAM_ZSTD_DICTIONARY_ID = 1612007021

let dictionary: Buffer | undefined

/** The dictionary bytes (decoded once). */
export function jetstreamZstdDictionary(): Buffer {
  dictionary ??= Buffer.from(ZSTD_DICTIONARY_BASE64, 'base64')
  return dictionary
}

interface NativeCodec {
  Decoder: new (dict?: Buffer) => { decodeSync(data: Buffer): Buffer }
  Encoder: new (level: number, dict?: Buffer) => { encodeSync(data: Buffer): Buffer }
}

let nativeCodec: NativeCodec | null | undefined
let native: { decodeSync(data: Buffer): Buffer } | null | undefined
let nativeEncoder: { encodeSync(data: Buffer): Buffer } | null | undefined

function loadNative(): NativeCodec | null {
  if (nativeCodec !== undefined) return nativeCodec
  try {
    nativeCodec = createRequire(import.meta.url)('@toondepauw/node-zstd') as NativeCodec
  } catch {
    nativeCodec = null
  }
  return nativeCodec
}

/** The native decoder with the dictionary loaded, or null when the binding is unavailable. */
function nativeDecoder(): { decodeSync(data: Buffer): Buffer } | null {
  if (native === undefined) {
    const codec = loadNative()
    native = codec ? new codec.Decoder(jetstreamZstdDictionary()) : null
  }
  return native
}

/** Which decoder this process uses (logged at start, shown in the benchmark). */
export function zstdDecoderName(): string {
  return nativeDecoder() ? '@toondepauw/node-zstd' : 'node:zlib'
}

export class FrameTooLargeError extends Error {
  override name = 'FrameTooLargeError'
}

/**
 * Decode one compressed frame. Output above `maxBytes` is refused (FrameTooLargeError):
 * before decoding when the frame header declares its size (Jetstream's encoder writes it),
 * after decoding otherwise. Throws on corrupt input.
 */
export function decompressJetstreamFrame(frame: Buffer, maxBytes: number): Buffer {
  const declared = declaredContentSize(frame)
  if (declared !== undefined && declared > maxBytes) throw new FrameTooLargeError(`frame declares ${declared} bytes`)
  const decoder = nativeDecoder()
  if (!decoder) {
    try {
      return zlib.zstdDecompressSync(frame, { dictionary: jetstreamZstdDictionary(), maxOutputLength: maxBytes })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new FrameTooLargeError(String(err))
      throw err
    }
  }
  const out = decoder.decodeSync(frame)
  if (out.length > maxBytes) throw new FrameTooLargeError(`frame decodes to ${out.length} bytes`)
  return out
}

/**
 * The server side (test server, benchmark): one frame compressed the way Jetstream does
 * (default level, the dictionary). node:zlib re-digests the dictionary on every call
 * (~0.4 ms a frame), so the native encoder is used when it loads.
 */
export function compressJetstreamFrame(json: Buffer | string): Buffer {
  const input = typeof json === 'string' ? Buffer.from(json) : json
  if (nativeEncoder === undefined) {
    const codec = loadNative()
    nativeEncoder = codec ? new codec.Encoder(3, jetstreamZstdDictionary()) : null
  }
  if (nativeEncoder) return nativeEncoder.encodeSync(input)
  return zlib.zstdCompressSync(input, { dictionary: jetstreamZstdDictionary() })
}

/** Frame_Content_Size from a zstd frame header (RFC 8878 §3.1.1.1), when present. */
function declaredContentSize(frame: Buffer): number | undefined {
  if (frame.length < 6 || frame.readUInt32LE(0) !== 0xfd2fb528) return undefined
  const fhd = frame[4]
  const fcsFlag = fhd >> 6
  const singleSegment = (fhd >> 5) & 1
  const dictIdFlag = fhd & 3
  const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag
  if (fcsSize === 0) return undefined
  const offset = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictIdFlag]
  if (frame.length < offset + fcsSize) return undefined
  switch (fcsSize) {
    case 1:
      return frame[offset]
    case 2:
      return frame.readUInt16LE(offset) + 256
    case 4:
      return frame.readUInt32LE(offset)
    default:
      return Number(frame.readBigUInt64LE(offset))
  }
}
