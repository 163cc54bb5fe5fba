// Postgres connection URLs as libpq reads them, for `pg` (which does not apply all of libpq's
// defaults itself).
import { userInfo } from 'node:os'

/**
 * libpq's rule for a URL without a user name: PGUSER, else the operating-system user (pg only
 * looks at USER, which is unset in some service managers and CI runners). A URL naming no host
 * — the Unix-socket form `postgres:///appview?host=/var/run/postgresql` — gets `localhost` so
 * it can carry the user; its `host` parameter still decides where pg connects.
 */
export function withDefaultUser(url: string): string {
  const u = new URL(url)
  if (u.username !== '') return url
  if (u.hostname === '') u.hostname = 'localhost'
  u.username = encodeURIComponent(process.env.PGUSER ?? userInfo().username)
  return u.toString()
}
