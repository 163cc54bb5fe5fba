// The live filter: which stream events are ours to keep. In memory (a Set lookup per event)
// because it sits in front of every Jetstream event; kept current by tracking changes from
// this process (applied directly, right after commit) and from every other process (Postgres
// LISTEN/NOTIFY on a dedicated connection, reconnected when it drops).
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import pg from 'pg'
import { listenClientConfig, reconnectDelayMs } from '../db/listen-client.js'
import { sql } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { IndexOp } from './ops.js'
import { postTouchedDids, didOfUri, strongRefUri, subjectDid } from './records/subjects.js'
import { notifyChannel, parseTrackingChange, sendMark, type TrackingChange } from './tracking.js'

/** Which DIDs a record of each collection touches (interactions with local users). */
const TOUCHED_DIDS: Record<string, (record: unknown) => Array<string | undefined>> = {
  'app.bsky.feed.like': (r) => [didOfUri(strongRefUri(r))],
  'app.bsky.feed.repost': (r) => [didOfUri(strongRefUri(r))],
  'app.bsky.graph.follow': (r) => [subjectDid(r)],
  'app.bsky.graph.block': (r) => [subjectDid(r)],
  'app.bsky.feed.post': postTouchedDids,
}

const HEARTBEAT_MS = 5_000
/** An ack row not refreshed for this long belongs to an ingest process that is gone. */
export const INGEST_STALE_MS = 20_000

export interface LiveFilterOptions {
  db: Database
  dbCfg: Config['db']
  log: Logger
  /** The ingest process's filter is the one that decides what is kept: it acknowledges marks. */
  isIngest: boolean
}

export interface WaitForLiveFilterOptions {
  /** Give up (throw) after this long while an ingest process is alive but not answering. */
  timeoutMs?: number
  pollMs?: number
  signal?: AbortSignal
}

/** How the wait ended: the ingest filter has caught up, or no ingest process is running. */
export type LiveFilterWait = 'in-process' | 'acknowledged' | 'no-ingest-running'

export class LiveFilter {
  private readonly tracked = new Set<string>()
  private readonly local = new Set<string>()
  /**
   * Untracked DIDs with stored records that touch a local user (likes, replies, blocks …).
   * Their deletes must reach the indexer, which cannot tell from a delete what it pointed at.
   */
  private readonly interactors = new Set<string>()
  readonly channel: string
  readonly processId = `${process.pid}@${hostname()}-${randomBytes(3).toString('hex')}`
  private client?: pg.Client
  private buffering: TrackingChange[] | undefined
  private heartbeat?: NodeJS.Timeout
  private reconnectTimer?: NodeJS.Timeout
  private reconnectAttempt = 0
  private stopped = false
  private ackChain: Promise<void> = Promise.resolve()
  private ackedSeq = 0n
  /** Highest mark this process's own filter has applied (every process, ingest or not). */
  private seenMark = 0n

  constructor(private readonly opts: LiveFilterOptions) {
    this.channel = notifyChannel(opts.dbCfg.schema)
  }

  // ---- membership --------------------------------------------------------------------

  /** Keep this op? Its author is tracked, or it touches a local user. */
  wants(op: IndexOp): boolean {
    if (typeof op !== 'object' || op === null) return false
    const author = op.did
    if (this.tracked.has(author) || this.local.has(author)) return true
    if (op.kind === 'delete') return this.interactors.has(author)
    if (op.kind !== 'create' && op.kind !== 'update') return false
    const touched = TOUCHED_DIDS[op.collection]
    if (!touched) return false
    for (const did of touched(op.record)) {
      if (did !== undefined && this.local.has(did)) return true
    }
    return false
  }

  isTracked(did: string): boolean {
    return this.tracked.has(did)
  }

  isLocalUser(did: string): boolean {
    return this.local.has(did)
  }

  get trackedCount(): number {
    return this.tracked.size
  }

  get localUserCount(): number {
    return this.local.size
  }

  /** An untracked author stored a record touching a local user: let its deletes through. */
  noteInteractor(did: string): void {
    if (!this.tracked.has(did)) this.interactors.add(did)
  }

  /** Apply a committed change (from this process, or received through NOTIFY). */
  apply(change: TrackingChange): void {
    switch (change.t) {
      case 'track':
        this.tracked.add(change.did)
        this.interactors.delete(change.did)
        break
      case 'untrack':
        this.tracked.delete(change.did)
        break
      case 'local':
        this.local.add(change.did)
        this.tracked.add(change.did)
        break
      case 'unlocal':
        this.local.delete(change.did)
        break
      case 'mark':
        this.acknowledge(BigInt(change.seq))
        break
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------

  /** LISTEN first, then load: a change committed in between is in the load, the stream, or both. */
  async start(): Promise<void> {
    await this.connect()
    if (this.opts.isIngest) {
      await this.writeHeartbeat()
      this.heartbeat = setInterval(() => void this.writeHeartbeat(), HEARTBEAT_MS)
      this.heartbeat.unref()
    }
  }

  async destroy(): Promise<void> {
    this.stopped = true
    clearInterval(this.heartbeat)
    clearTimeout(this.reconnectTimer)
    await this.ackChain
    if (this.opts.isIngest) {
      // Waiters must not wait for a process that is gone; the next one loads from Postgres.
      await this.opts.db.db
        .deleteFrom('live_filter_ack')
        .where('role', '=', 'ingest')
        .where('process_id', '=', this.processId)
        .execute()
        .catch((err) => this.opts.log.warn({ err: errorMessage(err) }, 'could not clear the live filter ack row'))
    }
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(listenClientConfig(this.opts.dbCfg.url))
    client.on('error', (err) => this.onConnectionLost(client, err))
    client.on('end', () => this.onConnectionLost(client, new Error('connection ended')))
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || !msg.payload) return
      const change = parseTrackingChange(msg.payload)
      if (!change) return this.opts.log.warn({ payload: msg.payload }, 'unreadable tracking notification')
      if (this.buffering) this.buffering.push(change)
      else this.apply(change)
    })
    await client.connect()
    this.client = client
    this.buffering = []
    try {
      await client.query(`listen ${pg.escapeIdentifier(this.channel)}`)
      await this.reload()
    } finally {
      const buffered = this.buffering
      this.buffering = undefined
      for (const change of buffered) this.apply(change)
    }
    this.reconnectAttempt = 0
  }

  /** The whole membership from Postgres; changes that raced with it are replayed after. */
  private async reload(): Promise<void> {
    const db = this.opts.db.db
    const [tracked, local, interactors] = await Promise.all([
      db.selectFrom('tracked_did').select('did').execute(),
      db.selectFrom('local_user').select('did').execute(),
      sql<{ did: string }>`
        select distinct n.author_did as did from notification n
        union
        select distinct b.author_did from block b join local_user l on l.did = b.subject_did
      `.execute(db),
    ])
    this.tracked.clear()
    this.local.clear()
    for (const r of tracked) this.tracked.add(r.did)
    for (const r of local) this.local.add(r.did)
    for (const r of interactors.rows) if (!this.tracked.has(r.did)) this.interactors.add(r.did)
    this.opts.log.info({ tracked: this.tracked.size, localUsers: this.local.size }, 'live filter loaded')
  }

  private onConnectionLost(client: pg.Client, err: Error): void {
    if (this.stopped || this.client !== client) return
    this.client = undefined
    this.opts.log.warn({ err: errorMessage(err) }, 'live filter LISTEN connection lost; reconnecting')
    client.end().catch(() => {})
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    const delay = reconnectDelayMs(this.reconnectAttempt++)
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((err) => {
        this.opts.log.warn({ err: errorMessage(err) }, 'live filter reconnect failed')
        this.client?.end().catch(() => {})
        this.client = undefined
        this.scheduleReconnect()
      })
    }, delay)
    this.reconnectTimer.unref()
  }

  /** Whether the LISTEN connection is up (a stale filter would drop events). */
  get connected(): boolean {
    return this.client !== undefined
  }

  // ---- track before list -------------------------------------------------------------

  private acknowledge(seq: bigint): void {
    if (seq > this.seenMark) this.seenMark = seq
    if (!this.opts.isIngest || seq <= this.ackedSeq) return
    this.ackedSeq = seq
    this.ackChain = this.ackChain.then(() => this.writeHeartbeat())
  }

  private async writeHeartbeat(): Promise<void> {
    if (this.stopped) return
    try {
      await sql`
        insert into live_filter_ack (role, process_id, acked_seq, heartbeat_at)
        values ('ingest', ${this.processId}, ${this.ackedSeq.toString()}, now())
        on conflict (role) do update set
          process_id = excluded.process_id,
          acked_seq = case when live_filter_ack.process_id = excluded.process_id
                           then greatest(live_filter_ack.acked_seq, excluded.acked_seq)
                           else excluded.acked_seq end,
          heartbeat_at = now()
      `.execute(this.opts.db.db)
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'could not write the live filter heartbeat')
    }
  }

  /**
   * Wait until the ingest process's live filter, and this process's own, have applied every
   * tracking change committed before this call (so a backfill may list `did`'s records without
   * losing anything created meanwhile). When this process runs ingest and already has `did`,
   * that is immediate.
   *
   * When no ingest process is running (no ack row, or a heartbeat older than INGEST_STALE_MS)
   * it returns at once: an ingest process that starts later loads the whole tracked set
   * before it reads the stream and resumes from its committed cursor, so nothing is lost.
   * Throws after `timeoutMs` when an ingest process is alive but never acknowledges.
   */
  async waitForLiveFilter(did: string, opts: WaitForLiveFilterOptions = {}): Promise<LiveFilterWait> {
    if (this.opts.isIngest && this.tracked.has(did)) return 'in-process'
    const { timeoutMs = 60_000, pollMs = 25, signal } = opts
    const db = this.opts.db.db
    const seq = await sendMark(db, this.channel)
    const deadline = Date.now() + timeoutMs
    let lastMark = Date.now()
    for (;;) {
      signal?.throwIfAborted()
      const row = await db
        .selectFrom('live_filter_ack')
        .select(['acked_seq', sql<number>`extract(epoch from now() - heartbeat_at) * 1000`.as('age_ms')])
        .where('role', '=', 'ingest')
        .executeTakeFirst()
      // This process's own filter must have caught up too: it decides, for instance, whether
      // the follows a backfill is about to index belong to a local user.
      const localCaughtUp = this.seenMark >= seq
      if (localCaughtUp && (!row || Number(row.age_ms) > INGEST_STALE_MS)) return 'no-ingest-running'
      if (localCaughtUp && BigInt(row!.acked_seq) >= seq) return 'acknowledged'
      if (Date.now() > deadline) {
        throw new Error(`the ingest process did not acknowledge tracking of ${did} within ${timeoutMs} ms`)
      }
      // A mark sent while the ingest LISTEN connection was down is lost; send it again.
      if (Date.now() - lastMark > 1_000) {
        await sql`select pg_notify(${this.channel}, ${JSON.stringify({ t: 'mark', seq: seq.toString() })})`.execute(db)
        lastMark = Date.now()
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
  }
}

/** Free-function form for callers that hold the context: `waitForLiveFilter(ctx.liveFilter, did)`. */
export function waitForLiveFilter(filter: LiveFilter, did: string, opts?: WaitForLiveFilterOptions) {
  return filter.waitForLiveFilter(did, opts)
}
