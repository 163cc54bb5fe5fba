import type { FastifyInstance } from 'fastify'
import { errorMessage } from '../errors.js'

/** One readiness condition: ok, why not, and anything worth showing an operator. */
export interface ReadinessResult {
  ok: boolean
  reason?: string
  [detail: string]: unknown
}
export type ReadinessCheck = () => Promise<ReadinessResult>

/**
 * Components add their own conditions (Postgres, Redis, ingest lag …); /ready is the AND
 * of all of them, each answering within a bound so /ready never hangs on a dead dependency.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>()

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check)
  }

  async evaluate(timeoutMs = 2_000): Promise<{ ready: boolean; checks: Record<string, ReadinessResult> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const),
    )
    const checks = Object.fromEntries(entries)
    return { ready: entries.every(([, r]) => r.ok), checks }
  }
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<ReadinessResult> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      check(),
      new Promise<ReadinessResult>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs)
      }),
    ])
  } catch (err) {
    return { ok: false, reason: errorMessage(err) }
  } finally {
    clearTimeout(timer)
  }
}

export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness, version: string): void {
  // Liveness: the process serves HTTP. Never touches a dependency.
  app.get('/health', async () => ({ status: 'ok', version }))

  // Readiness: every registered condition holds; 503 with the reasons otherwise.
  app.get('/ready', async (_req, reply) => {
    const result = await readiness.evaluate()
    return reply.code(result.ready ? 200 : 503).send(result)
  })
}
