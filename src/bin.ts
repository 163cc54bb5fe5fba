// Process entry: config → App → start; SIGTERM/SIGINT → graceful stop within the deadline;
// a second signal exits at once. Startup failures print one line and exit non-zero.
import { App } from './app.js'
import { ConfigError, envToConfig, readEnv, type Config } from './config.js'
import { StartupError, errorMessage } from './errors.js'
import { defaultComponents } from './roles.js'

async function main(): Promise<void> {
  let cfg: Config
  try {
    cfg = envToConfig(readEnv())
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`appview: configuration error: ${err.message}`)
      process.exitCode = 2
      return
    }
    throw err
  }

  const app = new App(cfg, { components: defaultComponents(cfg) })
  const log = app.log

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(130)
    }
    stopping = true
    log.info({ signal, deadlineMs: cfg.shutdownTimeoutMs }, 'shutting down')
    // Backstop: if something refuses to close, leave anyway (unref: does not keep us alive).
    setTimeout(() => {
      log.error({ deadlineMs: cfg.shutdownTimeoutMs }, 'shutdown deadline passed; exiting')
      process.exit(1)
    }, cfg.shutdownTimeoutMs + 2_000).unref()
    app.destroy().catch((err) => log.error({ err: errorMessage(err) }, 'shutdown failed'))
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('unhandledRejection', (reason) => {
    log.error({ err: errorMessage(reason), stack: (reason as Error)?.stack }, 'unhandled promise rejection')
    process.exitCode = 1
    stop('unhandledRejection')
  })

  try {
    await app.start()
  } catch (err) {
    if (err instanceof StartupError) {
      console.error(`appview: ${err.message}`)
    } else {
      log.error({ err: errorMessage(err), stack: (err as Error)?.stack }, 'startup failed')
    }
    process.exitCode = 1
    stopping = true
    await app.destroy()
  }
}

main().catch((err) => {
  console.error(`appview: ${errorMessage(err)}`)
  process.exitCode = 1
})
