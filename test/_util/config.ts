import { randomBytes } from 'node:crypto'
import { envToConfig, type Config, type RawEnv } from '../../src/config.js'

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/appview_test'
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A schema name no other test file uses, so files run in parallel in one database. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`
}

/**
 * Config for a test: its own Postgres schema, an ephemeral HTTP port on loopback, logs
 * silenced (LOG_LEVEL=debug in the environment shows them), overrides on top.
 */
export function testConfig(overrides: RawEnv = {}): Config {
  return envToConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    APPVIEW_URL: 'http://localhost:2584',
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: uniqueSchema(),
    REDIS_URL: TEST_REDIS_URL,
    ROLES: 'api',
    ...overrides,
  })
}
