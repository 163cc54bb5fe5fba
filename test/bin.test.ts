import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueSchema } from './_util/config.js'
import { spawnAppview, waitForOutput } from './_util/spawn-appview.js'

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  await new Promise((r) => server.close(r))
  return port
}

const baseEnv = () => ({
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  PORT: '0',
  HOST: '127.0.0.1',
  ROLES: 'api',
  DATABASE_URL: TEST_DATABASE_URL,
  DATABASE_SCHEMA: uniqueSchema('bin'),
  REDIS_URL: TEST_REDIS_URL,
})

describe('the process entry', () => {
  it('exits non-zero with one line naming Postgres when Postgres is unreachable', async () => {
    const port = await deadPort()
    const { exited } = spawnAppview({ ...baseEnv(), DATABASE_URL: `postgres://127.0.0.1:${port}/appview` })
    const { code, stderr } = await exited
    expect(code).toBe(1)
    const lines = stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^appview: Postgres is not reachable at postgres://127\\.0\\.0\\.1:${port}/appview`))
    expect(lines[0]).toMatch(/Start Postgres/)
    expect(stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m) // no stack trace
  })

  it('exits non-zero with one line naming Redis when Redis is unreachable', async () => {
    const port = await deadPort()
    const { exited } = spawnAppview({ ...baseEnv(), REDIS_URL: `redis://127.0.0.1:${port}` })
    const { code, stderr } = await exited
    expect(code).toBe(1)
    const lines = stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^appview: Redis is not reachable at redis://127\\.0\\.0\\.1:${port}`))
    expect(lines[0]).toMatch(/Start Redis/)
  })

  it('exits with a configuration error naming the variable', async () => {
    const { exited } = spawnAppview({ ...baseEnv(), MAX_USERS: 'lots' })
    const { code, stderr } = await exited
    expect(code).toBe(2)
    expect(stderr.trim()).toBe('appview: configuration error: MAX_USERS: expected a whole number, got "lots"')
  })

  it('stops cleanly on SIGTERM within its deadline', async () => {
    const { child, exited } = spawnAppview({ ...baseEnv(), SHUTDOWN_TIMEOUT_MS: '5000' })
    await waitForOutput(child, 'appview started')
    const sent = Date.now()
    child.kill('SIGTERM')
    const { code, stdout } = await exited
    expect(code).toBe(0)
    expect(Date.now() - sent).toBeLessThan(5000)
    expect(stdout).toMatch(/appview stopped/)
  })
})
