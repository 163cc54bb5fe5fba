// A dedicated Postgres connection for LISTEN (the live filter's tracking changes, the read
// path's row-change announcements): outside any pool, kept alive, reconnected by its owner.
import { userInfo } from 'node:os'
import type pg from 'pg'

/** libpq's rule for a URL without a user (as in db/database.ts): PGUSER, else the OS user. */
export function listenClientConfig(url: string): pg.ClientConfig {
  const u = new URL(url)
  if (u.username === '') u.username = encodeURIComponent(process.env.PGUSER ?? userInfo().username)
  return { connectionString: u.toString(), connectionTimeoutMillis: 5_000, keepAlive: true }
}

/** Delay before reconnect attempt `attempt` (0, 1, …): doubling from 200 ms up to 10 s, with jitter. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(10_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2)
}
