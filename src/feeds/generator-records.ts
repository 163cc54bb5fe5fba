// Feed generator records (app.bsky.feed.generator) live in their creators' repos; we do not
// index them. They are fetched from the creator's PDS on demand and cached in Redis (shared
// by every api process): found records for 15 minutes, "does not exist" for 2 minutes, a
// failed fetch for 1 minute, and a fetch never holds a request longer than its budget (the
// Home screen waits on these).
import { AtUri } from '@atproto/syntax'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Redis } from '../redis.js'
import { withTimeout } from '../util/with-timeout.js'

export interface GeneratorRecord {
  uri: string
  cid: string
  value: Record<string, unknown>
  /** The feed service's DID (record.did) */
  serviceDid: string
  creatorDid: string
}

export interface RecordFetcher {
  getRecord(uri: string): Promise<{ uri: string; cid: string; value: unknown } | null>
}

export interface GeneratorRecordsOpts {
  redis: Redis
  fetcher: RecordFetcher
  log: Logger
  /** per-fetch budget */
  timeoutMs: number
  /** Redis key prefix (tests give each app its own) */
  prefix?: string
}

const FOUND_TTL_S = 15 * 60
const MISSING_TTL_S = 2 * 60
const FAILED_TTL_S = 60

export class GeneratorRecords {
  private readonly inflight = new Map<string, Promise<GeneratorRecord | null>>()
  private readonly prefix: string

  constructor(private readonly opts: GeneratorRecordsOpts) {
    this.prefix = opts.prefix ?? 'feedgen'
  }

  /** The generator record, null when it does not exist, is malformed or could not be fetched. */
  async get(uri: string): Promise<GeneratorRecord | null> {
    const parsed = parseGeneratorUri(uri)
    if (!parsed) return null
    const key = `${this.prefix}:record:${uri}`
    const cached = await this.opts.redis.get(key).catch(() => null)
    if (cached) return cached === 'missing' ? null : (JSON.parse(cached) as GeneratorRecord)
    let p = this.inflight.get(uri)
    if (!p) {
      p = this.fetch(uri, parsed.did, key).finally(() => this.inflight.delete(uri))
      this.inflight.set(uri, p)
    }
    return p
  }

  async getMany(uris: string[]): Promise<Map<string, GeneratorRecord>> {
    const out = new Map<string, GeneratorRecord>()
    const found = await Promise.all([...new Set(uris)].map((u) => this.get(u)))
    for (const rec of found) if (rec) out.set(rec.uri, rec)
    return out
  }

  private async fetch(uri: string, creatorDid: string, key: string): Promise<GeneratorRecord | null> {
    try {
      const rec = await withTimeout(this.opts.fetcher.getRecord(uri), this.opts.timeoutMs)
      const out = rec ? toGeneratorRecord({ uri, cid: rec.cid, value: rec.value }) : null
      if (!out || out.creatorDid !== creatorDid) {
        await this.opts.redis.set(key, 'missing', 'EX', MISSING_TTL_S).catch(() => {})
        return null
      }
      await this.opts.redis.set(key, JSON.stringify(out), 'EX', FOUND_TTL_S).catch(() => {})
      return out
    } catch (err) {
      // Unreachable PDS, timeout: remembered briefly, so the Home screen (which waits on
      // getFeedGenerators) does not wait out the same dead PDS on every launch.
      this.opts.log.info({ uri, err: errorMessage(err) }, 'feed generator record fetch failed')
      await this.opts.redis.set(key, 'missing', 'EX', FAILED_TTL_S).catch(() => {})
      return null
    }
  }
}

/** A well-formed generator record (names its service DID and a display name), else null. */
export function toGeneratorRecord(r: { uri: string; cid: string; value: unknown }): GeneratorRecord | null {
  const parsed = parseGeneratorUri(r.uri)
  const value = r.value as Record<string, unknown> | undefined
  const serviceDid = value?.did
  if (!parsed || !value || typeof value !== 'object' || value.$type !== 'app.bsky.feed.generator') return null
  if (typeof serviceDid !== 'string' || !serviceDid.startsWith('did:') || typeof value.displayName !== 'string') return null
  return { uri: r.uri, cid: r.cid, value, serviceDid, creatorDid: parsed.did }
}

export function parseGeneratorUri(uri: string): { did: string; rkey: string } | undefined {
  try {
    const at = new AtUri(uri)
    if (!at.hostname.startsWith('did:') || at.collection !== 'app.bsky.feed.generator' || !at.rkey) return undefined
    return { did: at.hostname, rkey: at.rkey }
  } catch {
    return undefined
  }
}
