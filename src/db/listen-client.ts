// A dedicated Postgres connection for LISTEN (the live filter's tracking changes, the read
// path's row-change announcements): outside any pool, kept alive, reconnected by its owner.
import type pg from 'pg'
import { withDefaultUser } from './connection-url.js'

export function listenClientConfig(url: string): pg.ClientConfig {
  return { connectionString: withDefaultUser(url), connectionTimeoutMillis: 5_000, keepAlive: true }
}

/** Delay before reconnect attempt `attempt` (0, 1, …): doubling from 200 ms up to 10 s, with jitter. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(10_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2)
}
