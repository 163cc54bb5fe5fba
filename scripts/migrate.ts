// npm run migrate: create the database if missing and apply migrations/ (also done at start).
import { ConfigError, envToConfig, readEnv } from '../src/config.js'
import { Database } from '../src/db/database.js'
import { StartupError, errorMessage } from '../src/errors.js'
import { createLogger } from '../src/logger.js'

try {
  const cfg = envToConfig(readEnv())
  const log = createLogger(cfg)
  const db = await Database.connect(cfg.db, log, { migrate: false })
  const applied = await db.migrate()
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date')
  await db.close()
} catch (err) {
  console.error(`migrate: ${err instanceof ConfigError || err instanceof StartupError ? err.message : errorMessage(err)}`)
  process.exitCode = 1
}
