import pino, { type Logger } from 'pino'
import type { Config } from './config.js'

export type { Logger }

/**
 * The root logger: JSON lines in production (and whenever stdout is not a terminal),
 * pino-pretty when a person is watching a terminal. Subsystems take children of it
 * (`logger.child({ component: 'ingest' })`) so every line says where it came from.
 */
export function createLogger(cfg: Pick<Config, 'env' | 'logLevel'>): Logger {
  const pretty = cfg.env !== 'production' && process.stdout.isTTY
  return pino({
    level: cfg.logLevel,
    base: { service: 'appview' },
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], remove: true },
    transport: pretty ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } : undefined,
  })
}
