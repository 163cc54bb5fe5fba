// DATABASE_URL forms an operator may give: with or without a user, over TCP or a Unix socket.
import { userInfo } from 'node:os'
import { existsSync } from 'node:fs'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { withDefaultUser } from '../../src/db/connection-url.js'

const me = encodeURIComponent(process.env.PGUSER ?? userInfo().username)

describe('withDefaultUser', () => {
  it('adds libpq\'s default user to a URL without one and leaves a named user alone', () => {
    expect(withDefaultUser('postgres://127.0.0.1:5432/appview')).toBe(`postgres://${me}@127.0.0.1:5432/appview`)
    expect(withDefaultUser('postgres://alice:pw@db:5432/appview')).toBe('postgres://alice:pw@db:5432/appview')
  })

  it('connects over the Unix socket with the host-less form postgres:///db?host=<socket dir>', async () => {
    const dir = ['/var/run/postgresql', '/tmp'].find((d) => existsSync(`${d}/.s.PGSQL.5432`))
    expect(dir, 'a local Postgres socket').toBeDefined()
    const url = withDefaultUser(`postgres:///postgres?host=${dir}`)
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      // a Unix-socket client has no address
      const res = await client.query('select inet_client_addr() as addr')
      expect(res.rows[0].addr).toBeNull()
    } finally {
      await client.end()
    }
  })
})
