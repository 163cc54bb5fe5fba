import type { Worker } from 'bullmq'
import { describe, expect, it } from 'vitest'
import type { Component } from '../src/app.js'
import { closeWorker, createQueue, createWorker, jobIdForDid, didFromJobId } from '../src/queue.js'
import { createTestApp } from './_util/app.js'

/**
 * A worker on a queue of its own, whose jobs take `jobMs`. Stands for the backfill worker
 * in the lifecycle tests: what matters is BullMQ's close semantics inside App.destroy().
 */
function slowWorkerComponent(queueName: string, jobMs: number, deadlineMs: number, events: string[]) {
  let worker: Worker | undefined
  const component = (ctx: { cfg: { redis: { url: string } }; log: any }): Component => ({
    name: 'slow-worker',
    async start() {
      worker = createWorker(
        queueName,
        ctx.cfg.redis.url,
        async () => {
          events.push('job started')
          await new Promise((r) => setTimeout(r, jobMs))
          events.push('job finished')
        },
        ctx.log,
      )
    },
    async destroy() {
      await closeWorker(worker!, deadlineMs, ctx.log)
      events.push('worker closed')
    },
  })
  return component
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('App lifecycle', () => {
  it('lets an in-flight BullMQ job finish when it fits the shutdown deadline', async () => {
    const events: string[] = []
    const queueName = `lifecycle-${Date.now()}-a`
    const t = await createTestApp({}, { components: [slowWorkerComponent(queueName, 800, 5_000, events)] })
    const queue = createQueue(queueName, t.cfg.redis.url, t.app.log)
    await queue.add('work', {}, { jobId: jobIdForDid('did:plc:lifecycle') })
    await waitFor(() => events.includes('job started'))

    const started = Date.now()
    await t.close()
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(events).toEqual(['job started', 'job finished', 'worker closed'])
    expect(await queue.getJobCounts('completed', 'active')).toEqual({ completed: 1, active: 0 })
    await queue.obliterate({ force: true })
    await queue.close()
  })

  it('stops within the deadline when a job runs longer, leaving the job to be retried', async () => {
    const events: string[] = []
    const queueName = `lifecycle-${Date.now()}-b`
    const t = await createTestApp({}, { components: [slowWorkerComponent(queueName, 20_000, 1_000, events)] })
    const queue = createQueue(queueName, t.cfg.redis.url, t.app.log)
    await queue.add('work', {})
    await waitFor(() => events.includes('job started'))

    const started = Date.now()
    await t.close()
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(1_000)
    expect(took).toBeLessThan(4_000)
    expect(events).toEqual(['job started', 'worker closed'])
    // Not completed and not failed: still active (stalled), so a restarted worker picks it up.
    expect(await queue.getJobCounts('completed', 'failed', 'active')).toEqual({ completed: 0, failed: 0, active: 1 })
    await queue.obliterate({ force: true })
    await queue.close()
  })

  it('refuses a second start and tolerates a second destroy', async () => {
    const t = await createTestApp()
    await expect(t.app.start()).rejects.toThrow(/cannot start/)
    await t.close()
    await expect(t.app.destroy()).resolves.toBeUndefined()
  })
})

describe('job ids derived from DIDs', () => {
  it('contain no colon and round-trip', () => {
    for (const did of ['did:plc:ewvi7nxzyoun6zhxrhs64oiz', 'did:web:example.com%3A8080']) {
      const id = jobIdForDid(did)
      expect(id).not.toContain(':')
      expect(didFromJobId(id)).toBe(did)
      expect(didFromJobId(jobIdForDid(did, 'gap'))).toBe(did)
    }
  })
})
