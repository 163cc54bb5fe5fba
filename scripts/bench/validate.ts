// Validation micro-benchmark (npm run bench:validate): the CPU cost per op of prepare() — the
// checks an op passes before the indexer opens a transaction (DID, record key, AT-URI, CID,
// createdAt, the record against the official lexicon) — split into its parts, on the records a
// backfill page carries (the benchmark's plain posts) and on richer ones (reply + facets +
// embed, like, follow, profile). Pure CPU, no database: it tells whether validation is what
// bounds indexing a backfilled page (docs/BENCHMARKS.md, "Backfill").
import { jsonToLex } from '@atproto/lexicon'
import { isDatetimeStringLenient } from '@atproto/syntax'
import { prepare } from '../../src/ingest/validate.js'
import type { IndexOp, OpContext } from '../../src/ingest/ops.js'
import { loadLexicons } from '../../src/lexicon/lexicons.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300)
const lexicons = loadLexicons()
const did = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz'
const other = 'did:plc:z72i7hdynmk6r22z27h6tvur'
const cid = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'
const ctx: OpContext = { source: 'backfill' }
const now = new Date()

function op(collection: string, rkey: string, record: Record<string, unknown>): IndexOp {
  return { kind: 'create', did, collection, rkey, uri: `at://${did}/${collection}/${rkey}`, cid, rev: '3kabcdefghijk', record } as IndexOp
}
const rkey = (i: number) => `3k${(1e10 + i).toString(32).padStart(11, '2')}`
const createdAt = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString()

const plainPosts = Array.from({ length: 100 }, (_, i) =>
  op('app.bsky.feed.post', rkey(i), { $type: 'app.bsky.feed.post', text: `post ${i}`, createdAt: createdAt(i) }),
)
const parentUri = `at://${other}/app.bsky.feed.post/3kparent22222`
const richOps = Array.from({ length: 100 }, (_, i) => {
  switch (i % 4) {
    case 0:
      return op('app.bsky.feed.post', rkey(i), {
        $type: 'app.bsky.feed.post',
        text: `reply ${i} to @alice.test about https://example.com`,
        createdAt: createdAt(i),
        langs: ['en'],
        reply: { root: { uri: parentUri, cid }, parent: { uri: parentUri, cid } },
        facets: [
          { index: { byteStart: 11, byteEnd: 22 }, features: [{ $type: 'app.bsky.richtext.facet#mention', did: other }] },
          { index: { byteStart: 29, byteEnd: 48 }, features: [{ $type: 'app.bsky.richtext.facet#link', uri: 'https://example.com' }] },
        ],
        embed: {
          $type: 'app.bsky.embed.images',
          images: [{ alt: 'a picture', image: { $type: 'blob', ref: { $link: cid }, mimeType: 'image/jpeg', size: 12345 } }],
        },
      })
    case 1:
      return op('app.bsky.feed.like', rkey(i), { $type: 'app.bsky.feed.like', subject: { uri: parentUri, cid }, createdAt: createdAt(i) })
    case 2:
      return op('app.bsky.graph.follow', rkey(i), { $type: 'app.bsky.graph.follow', subject: other, createdAt: createdAt(i) })
    default:
      return op('app.bsky.actor.profile', 'self', { $type: 'app.bsky.actor.profile', displayName: `Name ${i}`, description: 'about me' })
  }
})

/** Median µs per op over ROUNDS passes of `ops` (after a warm-up of ROUNDS / 5 passes). */
function perOp(ops: IndexOp[], fn: (o: IndexOp) => void): number {
  for (let r = 0; r < ROUNDS / 5; r++) for (const o of ops) fn(o)
  const passes: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now()
    for (const o of ops) fn(o)
    passes.push(((performance.now() - t) * 1000) / ops.length)
  }
  return passes.sort((a, b) => a - b)[Math.floor(passes.length / 2)]!
}

const record = (o: IndexOp) => (o as { record: Record<string, unknown> }).record
const parts: [string, (o: IndexOp) => void][] = [
  ['prepare() total', (o) => {
    if (prepare(o, ctx, lexicons, now).type === 'skip') throw new Error(`unexpected skip for ${JSON.stringify(o)}`)
  }],
  ['  lexicon assertValidRecord', (o) => lexicons.assertValidRecord((o as { collection: string }).collection, jsonToLex(record(o) as never))],
  ['  CID parse (isCid)', (o) => jsonToLex({ $link: (o as { cid: string }).cid } as never)],
  ['  createdAt isDatetimeStringLenient', (o) => isDatetimeStringLenient(String(record(o).createdAt ?? ''))],
]

console.log(`validation micro-benchmark: node ${process.version}, ${ROUNDS} rounds × 100 ops, median µs/op`)
console.log('| part | plain posts (backfill bench) | mixed rich records |')
console.log('|---|---|---|')
for (const [label, fn] of parts) {
  console.log(`| ${label} | ${perOp(plainPosts, fn).toFixed(1)} | ${perOp(richOps, fn).toFixed(1)} |`)
}
