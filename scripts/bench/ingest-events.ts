// Synthetic Jetstream traffic for the ingest benchmark: the network's mix (≈69% likes, 12%
// posts, 10% reposts, 6% follows, 3% other, PROTOCOL.md §B6), authors and subjects drawn
// with Zipf popularity over a few million DIDs, deterministic for a given seed.
//
// Population (ranks 0 … didCount-1, rank 0 most active): the tracked accounts are the
// ranks [trackedFrom, trackedFrom + trackedCount) — moderately popular accounts, as the
// accounts a community follows tend to be — and the local users are the first localCount
// of those. With the defaults about 15% of events are kept by the live filter.
export interface Population {
  didCount: number
  trackedFrom: number
  trackedCount: number
  localCount: number
  followsPerLocal: number
  zipfExponent: number
}

export const DEFAULT_POPULATION: Population = {
  didCount: 3_000_000,
  trackedFrom: 6_700,
  trackedCount: 50_000,
  localCount: 1_000,
  followsPerLocal: 300,
  zipfExponent: 1.0,
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const TID_CHARS = '234567abcdefghijklmnopqrstuvwxyz'

/** A valid did:plc for a rank (24 base32 characters). */
export function didForRank(rank: number): string {
  let s = ''
  let n = rank * 2654435761 + 12345 // spread ranks over the id space
  for (let i = 0; i < 24; i++) {
    s += B32[n % 32]
    n = Math.floor(n / 32) + (i + 1) * 7919 * (rank % 97 + 1)
  }
  return `did:plc:${s}`
}

/** A TID for a µs timestamp (13 characters, sortable). */
export function tidFor(us: number, clock = 0): string {
  let n = (BigInt(us) << 10n) | BigInt(clock & 1023)
  let s = ''
  for (let i = 0; i < 13; i++) {
    s = TID_CHARS[Number(n & 31n)] + s
    n >>= 5n
  }
  return s
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Zipf sampler over ranks 0…n-1: a CDF table and binary search. */
export function zipf(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.pow(i + 1, s)
    cdf[i] = sum
  }
  return () => {
    const x = rand() * sum
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid] < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'

// Post text: words drawn with Zipf popularity (s = 1) from a 50,000-word vocabulary, short
// words the most common — as in natural language, so that the full-text index holds as many
// distinct terms per post as it would for real posts (a handful of stop words would make it
// unrealistically small). One uniform draw per word, as before, so the rest of the stream is
// unchanged by the vocabulary.
const VOCABULARY = 50_000
const WORD_CDF = (() => {
  const cdf = new Float64Array(VOCABULARY)
  let sum = 0
  for (let i = 0; i < VOCABULARY; i++) cdf[i] = sum += 1 / (i + 1)
  for (let i = 0; i < VOCABULARY; i++) cdf[i] /= sum
  return cdf
})()
const wordCache = new Map<number, string>()
/** The word of a popularity rank: 2 to 9 letters, longer for rarer words. */
function wordForRank(rank: number): string {
  let w = wordCache.get(rank)
  if (w === undefined) {
    const len = 2 + Math.floor(Math.log2(rank + 2) / 2)
    let n = rank * 2654435761 + 97
    w = ''
    for (let i = 0; i < len; i++) {
      w += 'abcdefghijklmnopqrstuvwxyz'[n % 26]
      n = Math.floor(n / 26) + (i + 1) * 7919
    }
    wordCache.set(rank, w)
  }
  return w
}
function wordFor(u: number): string {
  let lo = 0
  let hi = VOCABULARY - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (WORD_CDF[mid]! < u) lo = mid + 1
    else hi = mid
  }
  return wordForRank(lo)
}

/** Iterates `count` events as JSON strings, time_us = startUs + i (strictly increasing). */
export function* syntheticEvents(count: number, startUs: number, pop = DEFAULT_POPULATION, seed = 42): Generator<string> {
  const rand = rng(seed)
  const pick = zipf(pop.didCount, pop.zipfExponent, rand)
  // Records are created as the network creates them, 1/480 s apart (the network's rate),
  // ending at the stream's start: every record has its own createdAt (so its own sort_at),
  // as real ones do. (A single createdAt for all would let indexes on sort_at deduplicate.)
  const startMs = Math.floor(startUs / 1000)
  let eventIndex = 0
  const nowIso = () => new Date(startMs - Math.round(((count - eventIndex) * 1000) / 480)).toISOString()
  const postUriOf = (rank: number) => `at://${didForRank(rank)}/app.bsky.feed.post/${tidFor(startUs - 1_000_000 - Math.floor(rand() * 86_400e6))}`
  const text = () => {
    const n = 5 + Math.floor(rand() * 20)
    let t = ''
    for (let i = 0; i < n; i++) t += (i ? ' ' : '') + wordFor(rand())
    return t
  }
  for (let i = 0; i < count; i++) {
    eventIndex = i
    const timeUs = startUs + i
    const authorRank = pick()
    const did = didForRank(authorRank)
    const authorIsLocal = authorRank >= pop.trackedFrom && authorRank < pop.trackedFrom + pop.localCount
    const rkey = tidFor(timeUs, i)
    const rev = rkey
    const createdAt = nowIso()
    const x = rand()
    let event: object
    const commit = (collection: string, record: object, key = rkey) => ({
      did,
      time_us: timeUs,
      kind: 'commit',
      commit: { rev, operation: 'create', collection, rkey: key, record: { $type: collection, ...record }, cid: CID },
    })
    if (x < 0.69) {
      event = commit('app.bsky.feed.like', { createdAt, subject: { cid: CID, uri: postUriOf(pick()) } })
    } else if (x < 0.81) {
      const reply = rand() < 0.3
      const parent = reply ? postUriOf(pick()) : undefined
      event = commit('app.bsky.feed.post', {
        text: text(),
        langs: ['en'],
        createdAt,
        ...(parent ? { reply: { root: { uri: parent, cid: CID }, parent: { uri: parent, cid: CID } } } : {}),
      })
    } else if (x < 0.91) {
      event = commit('app.bsky.feed.repost', { createdAt, subject: { cid: CID, uri: postUriOf(pick()) } })
    } else if (x < 0.97) {
      if (rand() < 0.15) {
        event = { did, time_us: timeUs, kind: 'commit', commit: { rev, operation: 'delete', collection: 'app.bsky.graph.follow', rkey: tidFor(timeUs - 3_600e6) } }
      } else {
        // A local user's new follow goes to an account of the community's tracked set, so the
        // tracked set (and the kept ratio) stays stable over a long run.
        const subject = authorIsLocal ? pop.trackedFrom + Math.floor(rand() * pop.trackedCount) : pick()
        event = commit('app.bsky.graph.follow', { createdAt, subject: didForRank(subject) })
      }
    } else {
      const y = rand()
      if (y < 0.3) event = commit('app.bsky.graph.block', { createdAt, subject: didForRank(pick()) })
      else if (y < 0.55) event = commit('app.bsky.actor.profile', { displayName: text().slice(0, 30), description: text(), createdAt }, 'self')
      else if (y < 0.8) {
        event = { did, time_us: timeUs, kind: 'commit', commit: { rev, operation: 'delete', collection: 'app.bsky.feed.like', rkey: tidFor(timeUs - 600e6) } }
      } else if (y < 0.93) event = { did, time_us: timeUs, kind: 'identity', identity: { did, seq: i, time: createdAt } }
      else event = { did, time_us: timeUs, kind: 'account', account: { did, active: true, seq: i, time: createdAt } }
    }
    yield JSON.stringify(event)
  }
}
