// A real AT Protocol network on loopback for tests and benchmarks: a PLC directory
// (@did-plc/server, in-memory) and a PDS (@atproto/pds, sqlite in a temp folder this
// harness removes), plus a bridge that turns the PDS's com.atproto.sync.subscribeRepos
// firehose into Jetstream JSON events (PROTOCOL.md §B5, §C).
//
//   const net = await TestNetwork.start({ appview: true })
//   const app = await createTestApp({ ...net.appviewEnv(), ROLES: 'api' })
//   const alice = await net.createAccount('alice')
//   await alice.agent.post({ text: 'hi' })
//   const bridge = await net.startBridge((e) => js.push(e))   // js: TestJetstream
//   await bridge.caughtUp()                                   // every PDS event pushed
//   ...
//   await net.close()
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import { IdResolver } from '@atproto/identity'
import { lexToJson } from '@atproto/lex'
import { PDS, type ServerEnvironment } from '@atproto/pds'
import { Firehose, type Event as FirehoseEvent } from '@atproto/sync'
import { Client as PlcClient } from '@did-plc/lib'
import * as plc from '@did-plc/server'
import type { RawEnv } from '../../src/config.js'
import { FaultProxy } from './fault-proxy.js'

// ---------------------------------------------------------------------------------------
// Loopback only. The @atproto servers call listen(port) without a host, which binds every
// interface; in the test process any listen() without a host is bound to 127.0.0.1.
// ---------------------------------------------------------------------------------------
const LOOPBACK = '127.0.0.1'
const patched = Symbol.for('appview.test.listenLoopback')
type ListenFn = (...args: unknown[]) => net.Server
const proto = net.Server.prototype as unknown as { listen: ListenFn; [patched]?: boolean }
/**
 * Ports a server is told to use → the port it really binds. Lets the PDS advertise a
 * public port (in DID documents) that a FaultProxy owns, while the PDS itself listens behind it.
 */
const portRemap = new Map<number, number>()
if (!proto[patched]) {
  const original = proto.listen
  proto.listen = function listenOnLoopback(this: net.Server, ...args: unknown[]) {
    const [first] = args
    if (first === undefined || typeof first === 'function') {
      args.unshift(0, LOOPBACK)
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      const remapped = portRemap.get(Number(first))
      if (remapped !== undefined) args[0] = remapped
      if (typeof args[1] !== 'string') args.splice(1, 0, LOOPBACK)
    } else if (typeof first === 'object' && first !== null && !('_handle' in first) && !('fd' in first)) {
      const o = first as net.ListenOptions
      if (o.path === undefined && o.host === undefined) args[0] = { ...o, host: LOOPBACK }
    }
    return original.apply(this, args)
  }
  proto[patched] = true
}

/** A TCP port free on loopback right now (for servers that must know their URL up front). */
export async function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address() as net.AddressInfo
      srv.close(() => resolve(addr.port))
    })
  })
}

// ---------------------------------------------------------------------------------------
// Jetstream JSON, as produced by the bridge (the v1 /subscribe shape, PROTOCOL.md §B5).
// ---------------------------------------------------------------------------------------
export interface BridgedCommitEvent {
  did: string
  time_us: number
  kind: 'commit'
  commit: {
    rev: string
    operation: 'create' | 'update' | 'delete'
    collection: string
    rkey: string
    record?: Record<string, unknown>
    cid?: string
  }
}
export interface BridgedIdentityEvent {
  did: string
  time_us: number
  kind: 'identity'
  identity: { did: string; handle?: string; seq: number; time: string }
}
export interface BridgedAccountEvent {
  did: string
  time_us: number
  kind: 'account'
  account: { did: string; active: boolean; status?: string; seq: number; time: string }
}
export type BridgedEvent = BridgedCommitEvent | BridgedIdentityEvent | BridgedAccountEvent
/** Where bridged events go: `(e) => js.push(e)` for a TestJetstream, or any collector. */
export type EventSink = (event: BridgedEvent) => void | Promise<void>

export interface TestAccount {
  did: string
  handle: string
  email: string
  password: string
  /** Logged in as this account, talking to the PDS (and through it to the AppView). */
  agent: AtpAgent
}

export interface SeededRecord {
  uri: string
  cid: string
  createdAt: string
}

export interface TestNetworkOptions {
  /**
   * Point the PDS at our AppView (bskyAppViewUrl/bskyAppViewDid): `true` reserves a port the
   * AppView must then listen on (see appviewEnv()); or give the URL and DID yourself.
   */
  appview?: true | { url: string; did: string }
  /** Extra PDS settings (ServerEnvironment), applied last. */
  pds?: Partial<ServerEnvironment>
  /**
   * Put a FaultProxy in front of the PDS: DID documents name the proxy (pdsUrl), while
   * agents and the bridge talk to the PDS directly (pdsDirectUrl), unaffected by faults.
   */
  faultProxy?: boolean
}

/** What a firehose bridge reads from: a PDS (in this process or another) and its PLC. */
export interface BridgeSource {
  readonly pdsDirectUrl: string
  idResolver(): IdResolver
  /** Highest firehose seq the PDS has written (0 when none). */
  currentSeq(): Promise<number>
}

/** A running test network, in this process (TestNetwork) or in a child (startNetworkProcess). */
export interface NetworkLike extends BridgeSource {
  readonly plcUrl: string
  readonly pdsUrl: string
  readonly proxy?: FaultProxy
  createAccount(name: string): Promise<TestAccount>
  createDid(opts: { pds: string; handle: string }): Promise<string>
  startBridge(sink: EventSink, opts?: { cursor?: number }): Promise<FirehoseBridge>
  close(): Promise<void>
}

/** Creates `<name>.test` on the PDS at `pdsUrl` and logs in. */
export async function createAccountOn(pdsUrl: string, name: string): Promise<TestAccount> {
  const handle = `${name}.test`
  const email = `${name}@example.test`
  const password = `${name}-password`
  const agent = new AtpAgent({ service: pdsUrl })
  const res = await agent.createAccount({ handle, email, password })
  return { did: res.data.did, handle, email, password, agent }
}

/** Registers a did:plc in the directory at `plcUrl` (see TestNetwork.createDid). */
export async function createDidOn(plcUrl: string, opts: { pds: string; handle: string }): Promise<string> {
  const signer = await Secp256k1Keypair.create()
  const client = new PlcClient(plcUrl)
  return client.createDid({
    signingKey: signer.did(),
    handle: opts.handle,
    pds: opts.pds,
    rotationKeys: [signer.did()],
    // @did-plc/lib pins an older @atproto/crypto; its Keypair shape is the same.
    signer: signer as never,
  })
}

export class TestNetwork implements NetworkLike {
  private constructor(
    readonly tmpDir: string,
    readonly plcServer: plc.PlcServer,
    readonly plcUrl: string,
    readonly pds: PDS,
    /** The PDS as DID documents name it (the proxy's URL when there is one). */
    readonly pdsUrl: string,
    /** The PDS itself (no proxy in between). */
    readonly pdsDirectUrl: string,
    readonly appview: { url: string; did: string; port?: number } | undefined,
    readonly proxy: FaultProxy | undefined,
  ) {}

  private readonly bridges = new Set<FirehoseBridge>()
  private closed = false

  static async start(opts: TestNetworkOptions = {}): Promise<TestNetwork> {
    // The PDS keeps sqlite files and blobs on disk: all of it under one folder we remove.
    const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'appview-net-'))
    let plcServer: plc.PlcServer | undefined
    try {
      plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: 0 })
      const plcListener = await plcServer.start()
      const plcUrl = `http://localhost:${(plcListener.address() as net.AddressInfo).port}`

      let appview: { url: string; did: string; port?: number } | undefined
      if (opts.appview === true) {
        const port = await getFreePort()
        appview = { url: `http://localhost:${port}`, did: `did:web:localhost%3A${port}`, port }
      } else if (opts.appview) {
        appview = { ...opts.appview }
      }

      const pdsPort = await getFreePort()
      const directPort = opts.faultProxy ? await getFreePort() : pdsPort
      if (opts.faultProxy) portRemap.set(pdsPort, directPort)
      await mkdir(path.join(tmpDir, 'pds'), { recursive: true })
      const rotationKey = await Secp256k1Keypair.create({ exportable: true })
      const recoveryKey = await Secp256k1Keypair.create()
      const pds = await PDS.fromEnv({
        devMode: true,
        port: pdsPort,
        dataDirectory: path.join(tmpDir, 'pds'),
        blobstoreDiskLocation: path.join(tmpDir, 'blobs'),
        blobstoreDiskTmpLocation: path.join(tmpDir, 'blobs-tmp'),
        didPlcUrl: plcUrl,
        recoveryDidKey: recoveryKey.did(),
        adminPassword: 'admin-pass',
        jwtSecret: 'jwt-secret',
        serviceHandleDomains: ['.test'],
        bskyAppViewUrl: appview?.url ?? 'https://appview.invalid',
        bskyAppViewDid: appview?.did ?? 'did:example:invalid',
        bskyAppViewCdnUrlPattern: 'http://cdn.appview.invalid/%s/%s/%s',
        modServiceUrl: 'https://moderator.invalid',
        modServiceDid: 'did:example:invalid',
        plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
        inviteRequired: false,
        disableSsrfProtection: true,
        rateLimitsEnabled: false,
        ...opts.pds,
      })
      try {
        await pds.start()
      } finally {
        portRemap.delete(pdsPort)
      }
      const proxy = opts.faultProxy ? await FaultProxy.start(pdsPort, directPort) : undefined
      return new TestNetwork(
        tmpDir,
        plcServer,
        plcUrl,
        pds,
        `http://localhost:${pdsPort}`,
        `http://localhost:${directPort}`,
        appview,
        proxy,
      )
    } catch (err) {
      await plcServer?.destroy().catch(() => {})
      await rm(tmpDir, { recursive: true, force: true })
      throw err
    }
  }

  /**
   * Env for an App on this network: PLC_URL, DEV_LOCAL_NETWORK (http + loopback PDSes,
   * handles through the PDS), and with `appview: true` the reserved PORT/APPVIEW_URL so the
   * PDS's app.bsky.* proxying reaches that App.
   */
  appviewEnv(): RawEnv {
    const env: RawEnv = { PLC_URL: this.plcUrl, DEV_LOCAL_NETWORK: 'true' }
    if (this.appview) {
      env.APPVIEW_URL = this.appview.url
      env.APPVIEW_DID = this.appview.did
      if (this.appview.port !== undefined) env.PORT = String(this.appview.port)
    }
    return env
  }

  /** An identity resolver for this network (plain fetch: the default refuses localhost). */
  idResolver(): IdResolver {
    return new IdResolver({ plcUrl: this.plcUrl, fetch: globalThis.fetch })
  }

  /** An unauthenticated agent against the PDS. */
  agent(): AtpAgent {
    return new AtpAgent({ service: this.pdsDirectUrl })
  }

  /** Creates `<name>.test` on the PDS (name: lower-case letters/digits) and logs in. */
  async createAccount(name: string): Promise<TestAccount> {
    return createAccountOn(this.pdsDirectUrl, name)
  }

  /**
   * Registers a did:plc in the directory with any PDS endpoint and handle claim (no account
   * behind it): for identity tests (unverifiable handles, PDS endpoints the SSRF guard refuses).
   */
  async createDid(opts: { pds: string; handle: string }): Promise<string> {
    return createDidOn(this.plcUrl, opts)
  }

  /** Reads the PDS's firehose from now on (and anything sequenced after `cursor`). */
  async startBridge(sink: EventSink, opts: { cursor?: number } = {}): Promise<FirehoseBridge> {
    const cursor = opts.cursor ?? (await this.pds.ctx.sequencer.curr()) ?? 0
    const bridge = new FirehoseBridge(this, sink, cursor)
    this.bridges.add(bridge)
    bridge.start()
    return bridge
  }

  /** Highest firehose seq the PDS has written (0 when none). */
  async currentSeq(): Promise<number> {
    return (await this.pds.ctx.sequencer.curr()) ?? 0
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const b of this.bridges) await b.close().catch(() => {})
    await this.proxy?.close().catch(() => {})
    await this.pds.destroy().catch(() => {})
    await this.plcServer.destroy().catch(() => {})
    await rm(this.tmpDir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------
// Seeding helpers: the PDS's own write API, batched with applyWrites (200 per call, the
// PDS's maximum), which is ~20× faster than one createRecord per post.
// ---------------------------------------------------------------------------------------

/** Creates one post; `createdAt` defaults to now. */
export async function createPost(
  account: TestAccount,
  text: string,
  opts: { createdAt?: string; reply?: { root: StrongRef; parent: StrongRef } } = {},
): Promise<SeededRecord> {
  const createdAt = opts.createdAt ?? new Date().toISOString()
  const record: Record<string, unknown> = { $type: 'app.bsky.feed.post', text, createdAt }
  if (opts.reply) record.reply = opts.reply
  const res = await account.agent.com.atproto.repo.createRecord({
    repo: account.did,
    collection: 'app.bsky.feed.post',
    record,
  })
  return { uri: res.data.uri, cid: res.data.cid, createdAt }
}

export interface StrongRef {
  uri: string
  cid: string
}

export async function createRepost(account: TestAccount, subject: StrongRef, createdAt?: string): Promise<SeededRecord> {
  const at = createdAt ?? new Date().toISOString()
  const res = await account.agent.com.atproto.repo.createRecord({
    repo: account.did,
    collection: 'app.bsky.feed.repost',
    record: { $type: 'app.bsky.feed.repost', subject, createdAt: at },
  })
  return { uri: res.data.uri, cid: res.data.cid, createdAt: at }
}

export async function createFollow(account: TestAccount, subjectDid: string, createdAt?: string): Promise<SeededRecord> {
  const at = createdAt ?? new Date().toISOString()
  const res = await account.agent.com.atproto.repo.createRecord({
    repo: account.did,
    collection: 'app.bsky.graph.follow',
    record: { $type: 'app.bsky.graph.follow', subject: subjectDid, createdAt: at },
  })
  return { uri: res.data.uri, cid: res.data.cid, createdAt: at }
}

export async function deleteRecord(account: TestAccount, uri: string): Promise<void> {
  const [, , , collection, rkey] = uri.split('/')
  await account.agent.com.atproto.repo.deleteRecord({ repo: account.did, collection: collection!, rkey: rkey! })
}

export async function setProfile(account: TestAccount, profile: { displayName?: string; description?: string }) {
  await account.agent.com.atproto.repo.putRecord({
    repo: account.did,
    collection: 'app.bsky.actor.profile',
    rkey: 'self',
    record: { $type: 'app.bsky.actor.profile', ...profile },
  })
}

/**
 * Seeds `count` posts, oldest first: post i is created at `start + i * stepMs` with text
 * `${prefix} ${i}`. Returns them in creation order.
 */
export async function seedPosts(
  account: TestAccount,
  count: number,
  opts: { start?: Date; stepMs?: number; prefix?: string; batchSize?: number } = {},
): Promise<SeededRecord[]> {
  const stepMs = opts.stepMs ?? 60_000
  const start = opts.start ?? new Date(Date.now() - count * stepMs)
  const prefix = opts.prefix ?? 'post'
  const batchSize = Math.min(opts.batchSize ?? 200, 200)
  const out: SeededRecord[] = []
  for (let i = 0; i < count; i += batchSize) {
    const writes = []
    const createdAts: string[] = []
    for (let j = i; j < Math.min(count, i + batchSize); j++) {
      const createdAt = new Date(start.getTime() + j * stepMs).toISOString()
      createdAts.push(createdAt)
      writes.push({
        $type: 'com.atproto.repo.applyWrites#create' as const,
        collection: 'app.bsky.feed.post',
        value: { $type: 'app.bsky.feed.post', text: `${prefix} ${j}`, createdAt },
      })
    }
    const res = await account.agent.com.atproto.repo.applyWrites({ repo: account.did, writes })
    const results = res.data.results ?? []
    results.forEach((r, k) => {
      const result = r as { uri?: string; cid?: string }
      if (!result.uri || !result.cid) throw new Error('applyWrites returned a result without uri/cid')
      out.push({ uri: result.uri, cid: result.cid, createdAt: createdAts[k]! })
    })
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Firehose → Jetstream bridge.
// ---------------------------------------------------------------------------------------

/**
 * Subscribes to the PDS's subscribeRepos and pushes every commit op, identity and account
 * event as Jetstream JSON into `sink`, in firehose order. time_us is the bridge's own
 * clock (µs, strictly increasing), as Jetstream stamps its own ingest time.
 */
export class FirehoseBridge {
  private readonly firehose: Firehose
  private lastSeq: number
  private lastTimeUs = 0
  private chain: Promise<void> = Promise.resolve()
  private readonly errors: Error[] = []
  /** Every event pushed, in order (handy for assertions and replays). */
  readonly pushed: BridgedEvent[] = []

  constructor(
    private readonly network: BridgeSource,
    private readonly sink: EventSink,
    cursor: number,
  ) {
    this.lastSeq = cursor
    this.firehose = new Firehose({
      idResolver: network.idResolver(),
      service: network.pdsDirectUrl.replace(/^http/, 'ws'),
      // Trust the local PDS: signature checks would only slow the tests down.
      unauthenticatedCommits: true,
      unauthenticatedHandles: true,
      excludeSync: true,
      subscriptionReconnectDelay: 100,
      onError: (err) => this.errors.push(err),
      handleEvent: () => {},
      // A runner sees every sequenced message, including ones that yield no op, so
      // caughtUp() can compare seqs exactly.
      runner: {
        getCursor: () => this.lastSeq,
        trackEvent: (_did, seq, handler) => {
          this.chain = this.chain.then(async () => {
            if (seq <= this.lastSeq) return
            await handler()
            this.lastSeq = seq
          })
          return this.chain
        },
      },
    })
    // The runner calls handleEvent; route it to the sink.
    this.firehose.opts.handleEvent = (evt) => this.forward(evt)
  }

  start(): void {
    void this.firehose.start()
  }

  /** Errors the firehose reported (parse/handler/subscription), for assertions. */
  get reportedErrors(): readonly Error[] {
    return this.errors
  }

  /** Resolves once every event the PDS has sequenced so far has been pushed into the sink. */
  async caughtUp(timeoutMs = 20_000): Promise<void> {
    const target = await this.network.currentSeq()
    await waitFor(() => this.lastSeq >= target, {
      timeoutMs,
      message: () => `bridge at seq ${this.lastSeq}, PDS at ${target}; errors: ${this.errors.map((e) => e.message).join('; ')}`,
    })
    await this.chain
  }

  private closing?: Promise<void>

  close(): Promise<void> {
    this.closing ??= this.firehose.destroy()
    return this.closing
  }

  private nextTimeUs(): number {
    const now = Date.now() * 1000
    this.lastTimeUs = Math.max(now, this.lastTimeUs + 1)
    return this.lastTimeUs
  }

  private async forward(evt: FirehoseEvent): Promise<void> {
    const out = this.toJetstream(evt)
    if (!out) return
    this.pushed.push(out)
    await this.sink(out)
  }

  private toJetstream(evt: FirehoseEvent): BridgedEvent | undefined {
    switch (evt.event) {
      case 'create':
      case 'update':
        return {
          did: evt.did,
          time_us: this.nextTimeUs(),
          kind: 'commit',
          commit: {
            rev: evt.rev,
            operation: evt.event,
            collection: evt.collection,
            rkey: evt.rkey,
            record: lexToJson(evt.record) as Record<string, unknown>,
            cid: evt.cid.toString(),
          },
        }
      case 'delete':
        return {
          did: evt.did,
          time_us: this.nextTimeUs(),
          kind: 'commit',
          commit: { rev: evt.rev, operation: 'delete', collection: evt.collection, rkey: evt.rkey },
        }
      case 'identity':
        return {
          did: evt.did,
          time_us: this.nextTimeUs(),
          kind: 'identity',
          identity: { did: evt.did, ...(evt.handle ? { handle: evt.handle } : {}), seq: evt.seq, time: evt.time },
        }
      case 'account':
        return {
          did: evt.did,
          time_us: this.nextTimeUs(),
          kind: 'account',
          account: {
            did: evt.did,
            active: evt.active,
            ...(evt.status ? { status: evt.status } : {}),
            seq: evt.seq,
            time: evt.time,
          },
        }
      default:
        return undefined
    }
  }
}

// ---------------------------------------------------------------------------------------
// Waiting for conditions (never sleeps as assertions).
// ---------------------------------------------------------------------------------------

/**
 * Polls `condition` until it returns a truthy value (returned) or the timeout passes
 * (throws with `message`). Use it to wait until the AppView has indexed something:
 *   await waitFor(async () => (await db.selectFrom('post').where('uri','=',uri).executeTakeFirst()))
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000)
  const interval = opts.intervalMs ?? 25
  let lastError: unknown
  for (;;) {
    try {
      const value = await condition()
      if (value) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const msg = typeof opts.message === 'function' ? opts.message() : (opts.message ?? 'condition not met')
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`waitFor timed out: ${msg}${cause}`)
    }
    await new Promise((r) => setTimeout(r, interval))
  }
}

type IndexedTable = 'post' | 'repost' | 'like' | 'follow' | 'block'

/**
 * Waits until every given AT-URI is stored in its record table (post, repost, like, follow,
 * block, by collection), i.e. our AppView indexed it.
 */
export async function waitForIndexed(
  db: import('../../src/db/database.js').Db,
  uris: string[],
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  const byTable = new Map<IndexedTable, string[]>()
  for (const uri of uris) {
    const table = tableForUri(uri)
    byTable.set(table, [...(byTable.get(table) ?? []), uri])
  }
  let missing = uris.length
  await waitFor(
    async () => {
      missing = 0
      for (const [table, list] of byTable) {
        const rows = await db
          .selectFrom(table as 'post')
          .select('uri')
          .where('uri', 'in', list)
          .execute()
        missing += list.length - rows.length
      }
      return missing === 0
    },
    { timeoutMs: opts.timeoutMs, message: () => `${missing} of ${uris.length} records not indexed` },
  )
}

function tableForUri(uri: string): IndexedTable {
  const collection = uri.split('/')[3]
  switch (collection) {
    case 'app.bsky.feed.post':
      return 'post'
    case 'app.bsky.feed.repost':
      return 'repost'
    case 'app.bsky.feed.like':
      return 'like'
    case 'app.bsky.graph.follow':
      return 'follow'
    case 'app.bsky.graph.block':
      return 'block'
    default:
      throw new Error(`waitForIndexed: no record table for ${uri}`)
  }
}
