// The operator CLI as an operator runs it (a child process: `tsx scripts/cli.ts …`), against
// a real PDS + PLC and a service whose backfill worker runs in this test process.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backfillComponent } from '../../src/backfill/component.js'
import { createProgress } from '../../src/cli/progress.js'
import { projectRoot } from '../../src/util/project-root.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueSchema } from '../_util/config.js'
import { TestNetwork, createFollow, seedPosts, type TestAccount } from '../_util/network.js'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function runCli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot(), 'scripts/cli.ts'), ...args], {
      cwd: projectRoot(),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('operator CLI', () => {
  let net: TestNetwork
  let app: TestApp
  let alice: TestAccount
  let bob: TestAccount
  let env: Record<string, string>
  const schema = uniqueSchema('cli')

  beforeAll(async () => {
    net = await TestNetwork.start()
    app = await createTestApp(
      { DATABASE_SCHEMA: schema, PLC_URL: net.plcUrl, DEV_LOCAL_NETWORK: 'true', ROLES: 'backfill', BACKFILL_DAYS: '0' },
      { components: [(ctx) => backfillComponent(ctx, { gapCheckMs: 60_000 })] },
    )
    env = {
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL: TEST_REDIS_URL,
      PLC_URL: net.plcUrl,
      DEV_LOCAL_NETWORK: 'true',
    }
    alice = await net.createAccount('clialice')
    bob = await net.createAccount('clibob')
    await seedPosts(bob, 40)
    await seedPosts(alice, 3)
    await createFollow(alice, bob.did)
  })
  afterAll(async () => {
    await app?.close()
    await net?.close()
  })

  it('users add <handle>: admits, onboards and reports progress as plain lines off a terminal', async () => {
    const run = await runCli(['users', 'add', 'clialice.test', '--pds', net.pdsUrl], env)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`added ${alice.did}; onboarding queued`)
    expect(run.stdout).toMatch(new RegExp(`onboarding of ${alice.did} complete: 1 followees, \\d+ records backfilled`))
    expect(run.stdout).not.toContain('\x1b[')
    const posts = await app.db.selectFrom('post').select('uri').where('author_did', 'in', [alice.did, bob.did]).execute()
    expect(posts).toHaveLength(43)
    // Adding again is harmless.
    const again = await runCli(['users', 'add', alice.did, '--no-wait'], env)
    expect(again.code).toBe(0)
    expect(again.stdout).toContain(`${alice.did} is already a local user`)
  })

  it('users list shows local users with handle, origin and onboarding state', async () => {
    const run = await runCli(['users', 'list'], env)
    expect(run.code).toBe(0)
    const line = run.stdout.split('\n').find((l) => l.startsWith(alice.did))
    expect(line?.split('\t').slice(0, 5)).toEqual([alice.did, 'clialice.test', 'operator', 'complete', '1'])
  })

  it('backfill <did> re-runs a tracked DID; an untracked one is refused with a reason', async () => {
    const ok = await runCli(['backfill', bob.did], env)
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain(`backfill of ${bob.did} queued`)
    expect(ok.stdout).toMatch(new RegExp(`backfill of ${bob.did} complete: \\d+ records in total`))

    const stranger = await net.createAccount('clistranger')
    const refused = await runCli(['backfill', stranger.did], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim()).toBe(
      `appview cli: ${stranger.did} is not tracked (nobody local follows it), so its posts would not be kept; add it with "users add" or follow it from a local account`,
    )
  })

  it('status summarises users, tracking, the queue and the stream', async () => {
    const run = await runCli(['status'], env)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('local users: 1 (complete 1)')
    expect(run.stdout).toMatch(/tracked DIDs: 2 \(complete 2\); records backfilled: \d+/)
    expect(run.stdout).toMatch(/backfill queue: 0 waiting, 0 active, 0 delayed \(retrying\), 0 failed, \d+ completed; [1-9]\d* worker connection\(s\)/)
    expect(run.stdout).toContain('ingest cursor: none yet')
    expect(run.stdout).toContain('open stream gaps: 0')
  })

  it('fails with one clear line when Postgres or Redis is down, and on bad usage', async () => {
    const pg = await runCli(['status'], { ...env, DATABASE_URL: 'postgres://127.0.0.1:1/appview' })
    expect(pg.code).toBe(1)
    expect(pg.stderr.trim().split('\n')).toHaveLength(1)
    expect(pg.stderr).toMatch(/^appview cli: Postgres is not reachable at postgres:\/\/127\.0\.0\.1:1\/appview/)
    const redis = await runCli(['status'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' })
    expect(redis.code).toBe(1)
    expect(redis.stderr.trim().split('\n')).toHaveLength(1)
    expect(redis.stderr).toMatch(/^appview cli: Redis is not reachable at redis:\/\/127\.0\.0\.1:1/)
    const usage = await runCli(['users', 'remove', 'x'], env)
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('unknown command: users remove x')
    const unknownHandle = await runCli(['users', 'add', 'nobody.test', '--pds', net.pdsUrl, '--no-wait'], env)
    expect(unknownHandle.code).toBe(1)
    expect(unknownHandle.stderr.trim()).toBe(
      'appview cli: the handle nobody.test does not resolve to a DID (or the DID does not claim it back)',
    )
  })

  it('draws a progress bar on a terminal', () => {
    let written = ''
    const tty = { isTTY: true, columns: 200, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream
    const bar = createProgress(tty)
    bar.update({ label: 'onboarding', done: 3, total: 4, detail: '120 records' })
    expect(written).toBe(`\r\x1b[2Konboarding ${'█'.repeat(18)}${'░'.repeat(6)}  75% 3/4 120 records`)
    bar.finish('done')
    expect(written.endsWith('\r\x1b[2Kdone\n')).toBe(true)
  })
})
