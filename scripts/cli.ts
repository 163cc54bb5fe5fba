// Operator CLI: `npm run cli -- <command>`.
//   users add <did|handle> [--pds <url>] [--no-wait] [--timeout <s>]   admit + onboard a local user
//   users list                                                       local users and their onboarding
//   backfill <did|handle> [--pds <url>] [--no-wait] [--timeout <s>]  re-backfill a tracked DID
//   status                                                           users, tracking, queue, ingest, gaps
// Reads the same environment as the service (DATABASE_URL, REDIS_URL, PLC_URL, …). Progress is
// a bar on a terminal and plain lines otherwise. Failures are one line on stderr, exit code 1
// (2 for usage and configuration errors).
import { App } from '../src/app.js'
import { backfill, CliError, status, usersAdd, usersList, type CliIo } from '../src/cli/commands.js'
import { createProgress } from '../src/cli/progress.js'
import { ConfigError, envToConfig, readEnv, type Config } from '../src/config.js'
import { StartupError, errorMessage } from '../src/errors.js'

const USAGE = `usage: npm run cli -- <command>
  users add <did|handle> [--pds <url>] [--no-wait] [--timeout <seconds>]
  users list
  backfill <did|handle> [--pds <url>] [--no-wait] [--timeout <seconds>]
  status`

class UsageError extends Error {}

interface Parsed {
  command: 'users add' | 'users list' | 'backfill' | 'status'
  target?: string
  pds?: string
  wait: boolean
  timeoutMs: number
}

function parse(argv: string[]): Parsed {
  const positional: string[] = []
  let pds: string | undefined
  let wait = true
  let timeoutMs = 10 * 60 * 1000
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--no-wait') wait = false
    else if (a === '--pds') {
      pds = argv[++i]
      if (!pds || !/^https?:\/\//.test(pds)) throw new UsageError('--pds needs an http(s) URL')
    } else if (a === '--timeout') {
      const s = Number(argv[++i])
      if (!Number.isFinite(s) || s <= 0) throw new UsageError('--timeout needs a number of seconds')
      timeoutMs = s * 1000
    } else if (a === '-h' || a === '--help') throw new UsageError('')
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`)
    else positional.push(a)
  }
  const [first, second, third] = positional
  if (first === 'users' && second === 'add' && third && positional.length === 3) {
    return { command: 'users add', target: third, pds, wait, timeoutMs }
  }
  if (first === 'users' && second === 'list' && positional.length === 2) return { command: 'users list', wait, timeoutMs }
  if (first === 'backfill' && second && positional.length === 2) return { command: 'backfill', target: second, pds, wait, timeoutMs }
  if (first === 'status' && positional.length === 1) return { command: 'status', wait, timeoutMs }
  throw new UsageError(positional.length ? `unknown command: ${positional.join(' ')}` : '')
}

async function main(): Promise<number> {
  let parsed: Parsed
  let cfg: Config
  try {
    parsed = parse(process.argv.slice(2))
    const raw = readEnv()
    // The CLI talks to Postgres and Redis only: no HTTP, no stream, no worker of its own.
    cfg = { ...envToConfig({ LOG_LEVEL: 'silent', ...raw }), roles: new Set(['backfill'] as const) }
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(`appview cli: ${err.message}`)
      console.error(USAGE)
      return 2
    }
    if (err instanceof ConfigError) {
      console.error(`appview cli: configuration error: ${err.message}`)
      return 2
    }
    throw err
  }

  const app = new App(cfg)
  const io: CliIo = { out: (line) => process.stdout.write(`${line}\n`), progress: createProgress() }
  try {
    await app.start()
    const ctx = app.ctx!
    if (parsed.pds) ctx.identity.addKnownPds(parsed.pds)
    const wait = { wait: parsed.wait, timeoutMs: parsed.timeoutMs }
    switch (parsed.command) {
      case 'users add':
        await usersAdd(ctx, io, parsed.target!, wait)
        break
      case 'users list':
        await usersList(ctx, io)
        break
      case 'backfill':
        await backfill(ctx, io, parsed.target!, wait)
        break
      case 'status':
        await status(ctx, io)
        break
    }
    return 0
  } catch (err) {
    if (err instanceof StartupError || err instanceof CliError) console.error(`appview cli: ${err.message}`)
    else console.error(`appview cli: ${errorMessage(err)}`)
    return 1
  } finally {
    await app.destroy().catch(() => {})
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`appview cli: ${errorMessage(err)}`)
    process.exit(1)
  },
)
