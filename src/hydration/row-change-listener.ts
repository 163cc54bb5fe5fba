// Keeps the read path's caches (post, repost, actor rows; viewers' follows; accounts' newest
// feed item) honest: LISTENs on the channel the
// row-change triggers announce to (migrations/0090_row_change_notify.sql) and drops every
// announced key. Whoever writes — this process's indexer, another process's, retention
// pruning — the change reaches every process's cache.
//
// Read-your-writes within a process: `sync()` sends a marker on the same channel from the
// listening connection and resolves when it comes back. Postgres delivers notifications in
// commit order, so every change committed before `sync()` was called has been applied by then;
// the indexer awaits it after each commit (when this process has anything cached), so a read
// that follows a write through this process never sees the row as it was before.
//
// While the connection is down the caches are off; on reconnect they start empty.
import { createHash } from 'node:crypto'
import pg from 'pg'
import { listenClientConfig, reconnectDelayMs } from '../db/listen-client.js'
import type { Config } from '../config.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'

/** What an announcement reaches: a cache that drops the announced keys. */
export interface ChangeSubscriber {
  invalidate(keys: string[]): void
  /** drop everything (a key too long to announce, '*') */
  clear(): void
  /** the listener is connected (true) or not (false): off and empty while not */
  setLive(live: boolean): void
  readonly size: number
}


/** The trigger's channel name for a schema ('appview_rows_' || md5(schema) in SQL). */
export function rowChangeChannel(schema: string): string {
  return `appview_rows_${createHash('md5').update(schema).digest('hex')}`
}

export interface RowChangeListenerOptions {
  dbCfg: Config['db']
  log: Logger
  /** payload kind letter (p post, r repost, a actor, f follows by, l feed items of) → caches */
  caches: Record<string, ChangeSubscriber[]>
}

export class RowChangeListener {
  readonly channel: string
  private client?: pg.Client
  private stopped = false
  private reconnectTimer?: NodeJS.Timeout
  private reconnectAttempt = 0
  private syncSeq = 0
  private readonly syncWaiters = new Map<number, () => void>()
  private inflightSync?: Promise<void>
  private nextSync?: Promise<void>

  constructor(private readonly opts: RowChangeListenerOptions) {
    this.channel = rowChangeChannel(opts.dbCfg.schema)
  }

  async start(): Promise<void> {
    await this.connect()
  }

  async destroy(): Promise<void> {
    this.stopped = true
    clearTimeout(this.reconnectTimer)
    this.setLive(false)
    const client = this.client
    this.client = undefined
    this.releaseSyncWaiters()
    await client?.end().catch(() => {})
  }

  /** The listening connection's Postgres backend (for operators and tests), when connected. */
  get backendPid(): number | undefined {
    return (this.client as (pg.Client & { processID?: number }) | undefined)?.processID
  }

  /** Whether anything is cached: when nothing is, a writer need not wait for invalidations. */
  get holdsRows(): boolean {
    return Object.values(this.opts.caches).some((cs) => cs.some((c) => c.size > 0))
  }

  /**
   * Resolves once every change committed before this call has been dropped from the caches.
   * Concurrent callers share one round trip (a marker sent after all of their commits).
   */
  sync(): Promise<void> {
    if (!this.client) return Promise.resolve() // caches are off: nothing stale can be served
    if (this.inflightSync) {
      // The marker in flight may have been sent before this caller's commit: everyone who
      // arrives meanwhile shares the next one.
      this.nextSync ??= this.inflightSync.then(() => {
        this.nextSync = undefined
        return this.sync()
      })
      return this.nextSync
    }
    const client = this.client
    const seq = ++this.syncSeq
    const done = new Promise<void>((resolve) => this.syncWaiters.set(seq, resolve))
    client.query('select pg_notify($1, $2)', [this.channel, `s\t${seq}`]).catch(() => {
      // the connection is going away; onConnectionLost turns the caches off
      this.syncWaiters.get(seq)?.()
      this.syncWaiters.delete(seq)
    })
    const p = done.finally(() => {
      if (this.inflightSync === p) this.inflightSync = undefined
    })
    this.inflightSync = p
    return p
  }

  private onNotification(payload: string): void {
    const kind = payload[0]
    const keys = payload.split('\t').slice(1)
    if (kind === 's') {
      const seq = Number(keys[0])
      // markers arrive in order: this one and every earlier one are done
      for (const [s, resolve] of this.syncWaiters) {
        if (s <= seq) {
          this.syncWaiters.delete(s)
          resolve()
        }
      }
      return
    }
    const caches = kind ? this.opts.caches[kind] : undefined
    if (!caches) return this.opts.log.warn({ kind }, 'unknown row-change notification')
    for (const cache of caches) {
      // '*': a key too long to announce (migrations/0092) — drop everything of that kind
      if (keys.length === 1 && keys[0] === '*') cache.clear()
      else cache.invalidate(keys)
    }
  }

  private setLive(live: boolean): void {
    for (const caches of Object.values(this.opts.caches)) for (const cache of caches) cache.setLive(live)
  }

  private releaseSyncWaiters(): void {
    for (const resolve of this.syncWaiters.values()) resolve()
    this.syncWaiters.clear()
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(listenClientConfig(this.opts.dbCfg.url))
    client.on('error', (err) => this.onConnectionLost(client, err))
    client.on('end', () => this.onConnectionLost(client, new Error('connection ended')))
    client.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload) this.onNotification(msg.payload)
    })
    try {
      await client.connect()
      await client.query(`listen ${pg.escapeIdentifier(this.channel)}`)
    } catch (err) {
      client.end().catch(() => {})
      throw err
    }
    this.client = client
    // Listening from here on: start empty, so nothing cached predates a missed message.
    this.setLive(true)
    this.reconnectAttempt = 0
  }

  private onConnectionLost(client: pg.Client, err: Error): void {
    if (this.stopped || this.client !== client) return
    this.client = undefined
    this.setLive(false)
    this.releaseSyncWaiters()
    this.opts.log.warn({ err: errorMessage(err) }, 'row cache LISTEN connection lost; cache off until it is back')
    client.end().catch(() => {})
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    const delay = reconnectDelayMs(this.reconnectAttempt++)
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((err) => {
        this.opts.log.warn({ err: errorMessage(err) }, 'row cache reconnect failed')
        this.scheduleReconnect()
      })
    }, delay)
    this.reconnectTimer.unref()
  }
}
