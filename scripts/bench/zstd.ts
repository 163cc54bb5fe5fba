// Which zstd decoder to use for Jetstream's compress=true frames: Node's built-in
// zlib.zstdDecompressSync (with the dictionary) vs @toondepauw/node-zstd (napi-rs binding
// of libzstd, dictionary loaded once into a Decoder). Same frames, same process, alternated.
// Run: npx tsx scripts/bench/zstd.ts [frames]
import zlib from 'node:zlib'
import { Decoder } from '@toondepauw/node-zstd'
import { compressJetstreamFrame, jetstreamZstdDictionary } from '../../src/ingest/jetstream/zstd.js'
import { syntheticEvents } from './ingest-events.js'

const count = Number(process.argv[2] ?? 200_000)
const dict = jetstreamZstdDictionary()
const frames: Buffer[] = []
let raw = 0
for (const json of syntheticEvents(count, Date.now() * 1000)) {
  raw += json.length
  frames.push(compressJetstreamFrame(json))
}
const compressed = frames.reduce((s, f) => s + f.length, 0)
console.log(`${count} frames, mean ${(raw / count).toFixed(0)} B raw, ${(compressed / count).toFixed(0)} B zstd (${((1 - compressed / raw) * 100).toFixed(0)}% smaller)`)

const decoder = new Decoder(dict)
const candidates: Record<string, (f: Buffer) => Buffer> = {
  'node:zlib zstdDecompressSync': (f) => zlib.zstdDecompressSync(f, { dictionary: dict }),
  '@toondepauw/node-zstd Decoder.decodeSync': (f) => decoder.decodeSync(f),
}
const results: Record<string, number[]> = {}
for (let round = 0; round < 5; round++) {
  for (const [name, fn] of Object.entries(candidates)) {
    const t0 = process.hrtime.bigint()
    let bytes = 0
    for (const f of frames) bytes += fn(f).length
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    if (bytes !== raw) throw new Error(`${name} decoded ${bytes} bytes, expected ${raw}`)
    ;(results[name] ??= []).push(count / s)
  }
}
for (const [name, rates] of Object.entries(results)) {
  const sorted = [...rates].sort((a, b) => a - b)
  console.log(`${name}: median ${Math.round(sorted[2]).toLocaleString('en')} frames/s (runs: ${sorted.map((r) => Math.round(r)).join(', ')})`)
}
