// Identity against a real PLC directory + PDS: DID → PDS/key/handle (verified both ways),
// handle → DID, and the SSRF guard refusing PDS endpoints and did:web hosts on loopback,
// private, link-local and metadata addresses while DEV_LOCAL_NETWORK is off.
import { bytesToMultibase, type Keypair, P256Keypair, parseDidKey, Secp256k1Keypair } from '@atproto/crypto'
import { verifyJwt } from '@atproto/xrpc-server'
import { Client as PlcClient } from '@did-plc/lib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PdsClient, PdsError } from '../../src/backfill/pds-client.js'
import { Identity, IdentityError, INVALID_HANDLE } from '../../src/identity/identity.js'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { fetch as undiciFetch } from 'undici'
import {
  createGuardedDispatcher,
  createGuardedFetch,
  forbiddenAddressReason,
  SsrfError,
} from '../../src/identity/ssrf.js'
import { createLogger } from '../../src/logger.js'
import { testConfig } from '../_util/config.js'
import { TestNetwork, type TestAccount } from '../_util/network.js'

const log = createLogger(testConfig())

describe('SSRF address classification', () => {
  it.each([
    ['127.0.0.1', /loopback/],
    ['127.8.9.10', /loopback/],
    ['::1', /loopback/],
    ['::ffff:127.0.0.1', /loopback/],
    ['10.0.0.1', /private/],
    ['172.16.5.4', /private/],
    ['192.168.1.1', /private/],
    ['::ffff:10.0.0.1', /private/],
    ['169.254.169.254', /metadata/],
    ['169.254.10.10', /linkLocal/],
    ['fe80::1', /linkLocal/],
    ['fd00:ec2::254', /uniqueLocal/],
    ['fc00::1', /uniqueLocal/],
    ['100.64.0.1', /carrierGradeNat/],
    ['0.0.0.0', /unspecified/],
    ['224.0.0.1', /multicast/],
  ])('refuses %s', (ip, reason) => {
    expect(forbiddenAddressReason(ip)).toMatch(reason)
  })

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])('allows public %s', (ip) => {
    expect(forbiddenAddressReason(ip)).toBeUndefined()
  })

  it('refuses plain http and loopback names before connecting', async () => {
    const fetch = createGuardedFetch({ allowLocal: false })
    await expect(fetch('http://example.com/')).rejects.toThrow(/only https/)
    await expect(fetch('https://localhost/')).rejects.toThrow(/loopback/)
    await expect(fetch('https://[::1]/')).rejects.toThrow(/loopback/)
    await expect(fetch('https://169.254.169.254/latest/meta-data/')).rejects.toThrow(/metadata/)
  })

  it('refuses a name that resolves to loopback at connect time (the DNS answer is checked)', async () => {
    // /etc/hosts maps "vm" to 127.0.0.1 on this machine; any such name is treated alike.
    const fetch = createGuardedFetch({ allowLocal: false })
    const err = await fetch('https://vm/').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SsrfError)
    expect((err as Error).message).toMatch(/vm: 127\.0\.0\.1 is a loopback address/)
  })
})

describe('the guarded connector (checks at connect time)', () => {
  let server: http.Server
  let port: number
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('reached'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    port = (server.address() as AddressInfo).port
  })
  afterAll(async () => {
    await new Promise((r) => server.close(r))
  })

  const get = async (url: string, dispatcher: ReturnType<typeof createGuardedDispatcher>) => {
    try {
      const res = await undiciFetch(url, { dispatcher })
      return await res.text()
    } catch (err) {
      throw (err as { cause?: unknown }).cause ?? err
    }
  }

  it('connects when the resolved and the connected address pass the policy', async () => {
    const open = createGuardedDispatcher({ policy: () => undefined })
    expect(await get(`http://localhost:${port}/`, open)).toBe('reached')
    expect(await get(`http://127.0.0.1:${port}/`, open)).toBe('reached')
  })

  it('refuses a name whose DNS answer is forbidden, in the lookup', async () => {
    const guarded = createGuardedDispatcher()
    await expect(get(`http://localhost:${port}/`, guarded)).rejects.toThrow(/localhost: 127\.0\.0\.1 is a loopback address/)
  })

  it('refuses an IP literal (no lookup) by the connected socket’s address', async () => {
    const seen: string[] = []
    const guarded = createGuardedDispatcher({
      policy: (ip) => {
        seen.push(ip)
        return forbiddenAddressReason(ip)
      },
    })
    await expect(get(`http://127.0.0.1:${port}/`, guarded)).rejects.toThrow(/127\.0\.0\.1 is a loopback address/)
    expect(seen).toEqual(['127.0.0.1'])
  })
})

describe('identity on a test network', () => {
  let net: TestNetwork
  let alice: TestAccount
  let dev: Identity
  let strict: Identity

  beforeAll(async () => {
    net = await TestNetwork.start()
    alice = await net.createAccount('ualice')
    dev = new Identity({ plcUrl: net.plcUrl, devLocalNetwork: true, log })
    strict = new Identity({ plcUrl: net.plcUrl, devLocalNetwork: false, log })
  })
  afterAll(async () => {
    await net?.close()
  })

  it('resolves a DID to its PDS, signing key and handle, verified through the PDS', async () => {
    const id = await dev.resolveDid(alice.did)
    expect(id).toEqual({
      did: alice.did,
      pdsUrl: net.pdsUrl,
      signingKey: expect.stringMatching(/^did:key:z/),
      handle: 'ualice.test',
    })
    expect(await dev.resolveAtprotoKey(alice.did)).toBe(id.signingKey)
  })

  it("the resolved key verifies the service tokens the account's PDS signs", async () => {
    const aud = 'did:web:appview.example'
    const lxm = 'app.bsky.feed.getTimeline'
    const { data } = await alice.agent.com.atproto.server.getServiceAuth({ aud, lxm })
    const payload = await verifyJwt(data.token, aud, lxm, (iss, force) => dev.resolveAtprotoKey(iss, force))
    expect(payload.iss).toBe(alice.did)
  })

  // The test PLC directory (like plc.directory's older documents) publishes keys in the legacy
  // EcdsaSecp256k1VerificationKey2019 / EcdsaSecp256r1VerificationKey2019 form: bare key bytes,
  // not a multicodec-prefixed Multikey, so `did:key:` + the multibase is not the key.
  it.each([
    ['secp256k1', 'EcdsaSecp256k1VerificationKey2019', () => Secp256k1Keypair.create()],
    ['P-256', 'EcdsaSecp256r1VerificationKey2019', () => P256Keypair.create()],
  ])('reads a legacy %s key from a PLC document as the did:key it stands for', async (_curve, legacyType, create) => {
    const key: Keypair = await create()
    const rotation = await Secp256k1Keypair.create()
    const did = await new PlcClient(net.plcUrl).createDid({
      signingKey: key.did(),
      handle: 'legacy.test',
      pds: net.pdsUrl,
      rotationKeys: [rotation.did()],
      signer: rotation as never,
    })
    const doc = (await dev.resolveDidDocument(did)) as { verificationMethod: Array<{ id: string; type: string }> }
    expect(doc.verificationMethod.find((vm) => vm.id.endsWith('#atproto'))?.type).toBe(legacyType)
    expect(await dev.resolveAtprotoKey(did)).toBe(key.did())
    expect((await dev.resolveDid(did)).signingKey).toBe(key.did())
  })

  it('reads legacy uncompressed keys from a did:web document; an unusable key is a permanent error', async () => {
    const k256 = await Secp256k1Keypair.create()
    const p256 = await P256Keypair.create()
    // Uncompressed points (65 bytes), as many did:web documents publish them.
    const legacy = (type: string, key: Keypair) => ({
      type,
      publicKeyMultibase: bytesToMultibase(parseDidKey(key.did()).keyBytes, 'base58btc'),
    })
    const servers: http.Server[] = []
    /** A did:web on its own loopback port whose #atproto method is `method`. */
    const serve = async (method: Record<string, unknown>): Promise<string> => {
      let did = ''
      const server = http.createServer((req, res) => {
        if (req.url !== '/.well-known/did.json') return void res.writeHead(404).end()
        res.setHeader('content-type', 'application/json')
        res.end(
          JSON.stringify({
            '@context': ['https://www.w3.org/ns/did/v1'],
            id: did,
            verificationMethod: [{ id: `${did}#atproto`, controller: did, ...method }],
            service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: net.pdsUrl }],
          }),
        )
      })
      servers.push(server)
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
      did = `did:web:localhost%3A${(server.address() as AddressInfo).port}`
      return did
    }
    try {
      const k256Did = await serve(legacy('EcdsaSecp256k1VerificationKey2019', k256))
      const p256Did = await serve(legacy('EcdsaSecp256r1VerificationKey2019', p256))
      expect(await dev.resolveAtprotoKey(k256Did)).toBe(k256.did())
      expect(await dev.resolveAtprotoKey(p256Did)).toBe(p256.did())
      expect((await dev.resolveDid(p256Did)).signingKey).toBe(p256.did())
      const unusable = {
        unknownType: await serve({ type: 'Ed25519VerificationKey2020', publicKeyMultibase: 'z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK' }),
        notAPoint: await serve({ type: 'EcdsaSecp256k1VerificationKey2019', publicKeyMultibase: 'z111' }),
      }
      for (const [name, did] of Object.entries(unusable)) {
        const err = await dev.resolveAtprotoKey(did).catch((e: unknown) => e)
        expect(err, name).toBeInstanceOf(IdentityError)
        expect((err as IdentityError).permanent, name).toBe(true)
        expect((err as Error).message, name).toMatch(/no usable #atproto signing key/)
      }
    } finally {
      await Promise.all(servers.map((server) => new Promise((r) => server.close(r))))
    }
  })

  it('resolves a handle to its DID both ways', async () => {
    await dev.resolveDid(alice.did) // learns the PDS
    expect(await dev.resolveHandle('ualice.test')).toBe(alice.did)
    expect(await dev.resolveHandle('@UAlice.test')).toBe(alice.did)
    expect(await dev.resolveHandle('nobody-here.test')).toBeUndefined()
    expect(await dev.resolveHandle('not a handle')).toBeUndefined()
  })

  it('shows handle.invalid when the DID document claims a handle that does not point back', async () => {
    const impostor = await net.createDid({ pds: net.pdsUrl, handle: 'ualice.test' })
    const id = await dev.resolveDid(impostor)
    expect(id.handle).toBe(INVALID_HANDLE)
    // … and the handle still resolves to its real owner only.
    expect(await dev.resolveHandle('ualice.test')).toBe(alice.did)
  })

  it('reports an unknown DID as a permanent failure', async () => {
    const err = await dev.resolveDid('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityError)
    expect((err as IdentityError).permanent).toBe(true)
    expect((err as Error).message).toMatch(/not found/i)
  })

  it.each([
    ['https://127.0.0.1', /loopback/],
    ['https://169.254.169.254', /metadata/],
    ['https://[::1]', /loopback/],
    ['https://10.0.0.1', /private/],
    ['https://[::ffff:10.0.0.1]', /private/],
    ['http://pds.example.com', /only https/],
  ])('refuses a DID document whose PDS is %s while the development switch is off', async (pds, reason) => {
    const did = await net.createDid({ pds, handle: 'someone.test' })
    const err = await strict.resolveDid(did).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityError)
    expect((err as IdentityError).permanent).toBe(true)
    expect((err as Error).message).toMatch(reason)
    // With the switch on (local test networks) the same document is usable.
    expect((await dev.resolveDid(did)).pdsUrl).toBe(new URL(pds).origin)
  })

  it('refuses a PDS whose name resolves to a loopback address, at connect time', async () => {
    const did = await net.createDid({ pds: 'https://vm', handle: 'someone.test' })
    expect((await strict.resolveDid(did)).pdsUrl).toBe('https://vm')
    const pds = new PdsClient({
      identity: strict,
      log,
      requestTimeoutMs: 2_000,
      concurrency: 2,
      perHostConcurrency: 1,
      baseDelayMs: 10,
    })
    const err = await pds.listRecords(did, 'app.bsky.feed.post').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PdsError)
    expect(err).toMatchObject({ reason: 'ssrf', permanent: true })
    expect((err as Error).message).toMatch(/127\.0\.0\.1 is a loopback address/)
  })

  it('resolves a did:web document (plain http for localhost only with the development switch)', async () => {
    const key = await Secp256k1Keypair.create()
    let did = ''
    const server = http.createServer((req, res) => {
      if (req.url !== '/.well-known/did.json') return void res.writeHead(404).end()
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          '@context': ['https://www.w3.org/ns/did/v1'],
          id: did,
          alsoKnownAs: ['at://ualice.test'],
          verificationMethod: [
            { id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: key.did().slice('did:key:'.length) },
          ],
          service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: net.pdsUrl }],
        }),
      )
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    try {
      did = `did:web:localhost%3A${(server.address() as AddressInfo).port}`
      const id = await dev.resolveDid(did)
      // ualice.test belongs to another DID: the claim is not verified.
      expect(id).toEqual({ did, pdsUrl: net.pdsUrl, signingKey: key.did(), handle: INVALID_HANDLE })
      const err = await strict.resolveDid(did).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IdentityError)
      expect((err as IdentityError).permanent).toBe(true)
    } finally {
      await new Promise((r) => server.close(r))
    }
  })

  it('refuses did:web hosts on loopback and private addresses', async () => {
    for (const did of ['did:web:127.0.0.1', 'did:web:10.0.0.1', 'did:web:vm']) {
      const err = await strict.resolveDid(did).catch((e: unknown) => e)
      expect(err, did).toBeInstanceOf(IdentityError)
      expect((err as IdentityError).permanent, did).toBe(true)
      expect((err as Error).message, did).toMatch(/loopback|private|refus/)
    }
  })

  it('fetches records from the PDS named by the DID document', async () => {
    await alice.agent.post({ text: 'hello identity' })
    const pds = new PdsClient({ identity: dev, log, requestTimeoutMs: 5_000, concurrency: 2, perHostConcurrency: 1 })
    const page = await pds.listRecords(alice.did, 'app.bsky.feed.post')
    expect(page.records.map((r) => (r.value as { text: string }).text)).toEqual(['hello identity'])
    const one = await pds.getRecord(page.records[0]!.uri)
    expect(one?.cid).toBe(page.records[0]!.cid)
    expect(await pds.getRecord(`at://${alice.did}/app.bsky.feed.post/3zzzzzzzzzzzz`)).toBeNull()
  })
})
