import { sql } from 'kysely'
import { App, type AppOptions } from '../../src/app.js'
import type { RawEnv } from '../../src/config.js'
import { TEST_DATABASE_URL, testConfig } from './config.js'

/**
 * Starts a real App (real Postgres in a fresh schema, real Redis) for one test file.
 * Call `close()` in afterAll: it stops the app and drops the schema.
 */
export async function createTestApp(env: RawEnv = {}, opts: AppOptions = {}) {
  const cfg = testConfig(env)
  const app = new App(cfg, opts)
  await app.start()
  const ctx = app.ctx!
  return {
    app,
    cfg,
    ctx,
    db: ctx.db.db,
    async close() {
      const schema = cfg.db.schema
      const { Database } = await import('../../src/db/database.js')
      await app.destroy()
      // A fresh, direct connection: the app's pool is closed by now (and may have gone
      // through a proxy the test cut).
      const admin = await Database.connect({ url: TEST_DATABASE_URL, schema: 'public', poolSize: 1 }, app.log, {
        migrate: false,
      })
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db)
      await admin.close()
    },
  }
}
export type TestApp = Awaited<ReturnType<typeof createTestApp>>
