// One backfill scenario environment: a real PLC + PDS (optionally behind a FaultProxy), a
// TestJetstream fed by the PDS's firehose, and a real App (Postgres schema of its own, real
// Redis) running the ingest consumer and the backfill worker. `settle()` waits until the
// stream is committed and the backfill queue is drained.
import type { RawEnv } from '../../src/config.js'
import { PdsClient, type PdsClientOptions } from '../../src/backfill/pds-client.js'
import { backfillComponent } from '../../src/backfill/component.js'
import type { BackfillComponent } from '../../src/backfill/worker.js'
import type { BackfillRetryOptions } from '../../src/backfill/enqueue.js'
import { createIngestConsumer, type IngestConsumer } from '../../src/ingest/consumer.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { TestJetstream } from '../_util/jetstream-server.js'
import { TestNetwork, waitFor, type FirehoseBridge, type NetworkLike } from '../_util/network.js'

export interface BackfillEnvOptions {
  faultProxy?: boolean
  env?: RawEnv
  retry?: BackfillRetryOptions
  /** PDS client tuning for the worker (short backoffs keep failure tests fast). */
  pdsClient?: Partial<PdsClientOptions>
  gapCheckMs?: number
  /** Reuse a running network (benchmarks); close() then leaves it running. */
  network?: NetworkLike
}

export interface BackfillEnv {
  net: NetworkLike
  js: TestJetstream
  bridge: FirehoseBridge
  app: TestApp
  ingest: IngestConsumer
  backfill: BackfillComponent
  /** Set false to simulate events the stream never delivered (an outage). */
  stream: { deliver: boolean }
  settle(): Promise<void>
  close(): Promise<void>
}

export async function startBackfillEnv(opts: BackfillEnvOptions = {}): Promise<BackfillEnv> {
  const net = opts.network ?? (await TestNetwork.start({ faultProxy: opts.faultProxy }))
  const js = await TestJetstream.start()
  const stream = { deliver: true }
  const bridge = await net.startBridge((e) => {
    if (stream.deliver) js.push(e)
  })
  let ingest!: IngestConsumer
  let backfill!: BackfillComponent
  const app = await createTestApp(
    {
      PLC_URL: net.plcUrl,
      DEV_LOCAL_NETWORK: 'true',
      ROLES: 'ingest,backfill',
      JETSTREAM_URL: js.url,
      INGEST_BATCH_MS: '10',
      BACKFILL_DAYS: '0',
      ...opts.env,
    },
    {
      components: [
        (ctx) => (ingest = createIngestConsumer(ctx)),
        (ctx) =>
          (backfill = backfillComponent(ctx, {
            gapCheckMs: opts.gapCheckMs ?? 60_000,
            retry: opts.retry,
            pds: new PdsClient({
              identity: ctx.identity,
              log: ctx.log,
              registry: ctx.metrics.registry,
              requestTimeoutMs: ctx.cfg.backfill.requestTimeoutMs,
              concurrency: ctx.cfg.backfill.concurrency * 2,
              perHostConcurrency: ctx.cfg.backfill.perHostConcurrency,
              baseDelayMs: 20,
              maxDelayMs: 200,
              ...opts.pdsClient,
            }),
          })),
      ],
    },
  )
  // The consumer starts on the live tail: let it connect before anything is created.
  await waitFor(() => js.openConnections > 0, { message: 'ingest consumer did not connect to the test Jetstream' })
  return {
    net,
    js,
    bridge,
    app,
    ingest,
    backfill,
    stream,
    async settle() {
      // Stream → committed, then backfill drained; a backfill can enqueue more (onboarding).
      for (let round = 0; round < 3; round++) {
        await bridge.caughtUp()
        const last = js.log[js.log.length - 1]
        if (last) await ingest.waitForCursor(last.time_us)
        await backfill.idle()
      }
    },
    async close() {
      await app.close().catch(() => {})
      await bridge.close().catch(() => {})
      await js.close().catch(() => {})
      if (!opts.network) await net.close()
    },
  }
}
