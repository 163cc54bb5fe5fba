// Read-API test harness: a real PLC + PDS on loopback (accounts with real signing keys, so
// service-auth tokens are genuine) and our App (api role) on the port the PDS proxies to.
// Records are seeded straight through the indexer, or written on the PDS where a test is
// about fetching from it. Every 200 answer is validated against the official lexicons.
import { lexicons } from '@atproto/api'
import { expect } from 'vitest'
import type { IndexOp } from '../../src/ingest/ops.js'
import { createTestApp, type TestApp } from '../_util/app.js'
import { TestNetwork, type TestAccount } from '../_util/network.js'

export interface XrpcAnswer<T = any> {
  status: number
  body: T
  headers: Headers
}

export class ReadApiHarness {
  private constructor(
    readonly net: TestNetwork,
    readonly t: TestApp,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<ReadApiHarness> {
    const net = await TestNetwork.start({ appview: true })
    try {
      const t = await createTestApp({ ...net.appviewEnv(), ROLES: 'api', ...env })
      return new ReadApiHarness(net, t)
    } catch (err) {
      await net.close()
      throw err
    }
  }

  get db() {
    return this.t.db
  }

  get serviceDid() {
    return this.t.cfg.service.did
  }

  /** Indexes ops as the stream would (source jetstream, time_us now) in one batch. */
  async index(...ops: IndexOp[]): Promise<void> {
    const nowUs = Date.now() * 1000
    const res = await this.t.ctx.indexer.applyBatch(ops.map((op, i) => ({ op, ctx: { source: 'jetstream', timeUs: nowUs + i } })))
    expect(res.skipped, JSON.stringify(res.skippedByReason)).toBe(0)
  }

  /** A service-auth token minted by the account's PDS for `lxm`, aud = our DID. */
  async token(account: TestAccount, lxm: string, aud = this.serviceDid): Promise<string> {
    const res = await account.agent.com.atproto.server.getServiceAuth({ aud, lxm })
    return res.data.token
  }

  /** GET /xrpc/<nsid> directly against our App, as `as` (service auth) or anonymously. */
  async call<T = any>(
    nsid: string,
    params: Record<string, string | number | boolean | string[] | undefined> = {},
    as?: TestAccount | { authorization: string },
  ): Promise<XrpcAnswer<T>> {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue
      for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item))
    }
    const headers: Record<string, string> = {}
    if (as && 'authorization' in as) headers.authorization = as.authorization
    else if (as) headers.authorization = `Bearer ${await this.token(as, nsid)}`
    const res = await fetch(`${this.t.app.url}/xrpc/${nsid}?${qs}`, { headers })
    const text = await res.text()
    const body = text ? JSON.parse(text) : undefined
    if (res.status === 200) assertLexiconValid(nsid, body)
    return { status: res.status, body, headers: res.headers }
  }

  /** As call(), failing the test unless the answer is 200. */
  async ok<T = any>(nsid: string, params: Parameters<ReadApiHarness['call']>[1] = {}, as?: TestAccount): Promise<T> {
    const res = await this.call<T>(nsid, params, as)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    return res.body
  }

  async close(): Promise<void> {
    await this.t.close()
    await this.net.close()
  }
}

/** The official lexicons from @atproto/api (not our copy): what the app validates with. */
export function assertLexiconValid(nsid: string, body: unknown): void {
  expect(() => lexicons.assertValidXrpcOutput(nsid, body), `${nsid} response must be lexicon-valid`).not.toThrow()
}
