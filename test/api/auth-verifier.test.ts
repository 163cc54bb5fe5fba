// Service-auth: genuine tokens from a real PDS are accepted; forged, expired, misaddressed or
// malformed ones get 401 (never 500); ES256 keys work; a rotated key is picked up; a DID the
// admission policy refuses gets 403 saying so.
import { P256Keypair, Secp256k1Keypair, type Keypair } from '@atproto/crypto'
import { createServiceJwt } from '@atproto/xrpc-server'
import * as plc from '@did-plc/lib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp } from '../_util/app.js'
import type { TestAccount } from '../_util/network.js'
import { ReadApiHarness } from './_harness.js'

const TL = 'app.bsky.feed.getTimeline'
const PROFILE = 'app.bsky.actor.getProfile'

describe('service-auth verification', () => {
  let h: ReadApiHarness
  let alice: TestAccount

  beforeAll(async () => {
    h = await ReadApiHarness.start({ EXTRA_AUDIENCES: 'did:web:api.bsky.app' })
    alice = await h.net.createAccount('alice')
  })
  afterAll(async () => {
    await h?.close()
  })

  /** A did:plc registered in the test PLC directory with `signingKey` as its #atproto key. */
  async function plcDid(signingKey: Keypair, name: string): Promise<{ did: string; rotation: Keypair }> {
    const rotation = await Secp256k1Keypair.create()
    const client = new plc.Client(h.net.plcUrl)
    const did = await client.createDid({
      signingKey: signingKey.did(),
      handle: `${name}.test`,
      pds: h.net.pdsUrl,
      rotationKeys: [rotation.did()],
      signer: rotation as never,
    })
    return { did, rotation }
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

  it('accepts the token the PDS mints (aud = our DID)', async () => {
    const res = await h.call(TL, {}, alice)
    expect(res.status).toBe(200)
  })

  it('accepts aud = our DID#bsky_appview and operator-added audiences', async () => {
    const frag = await h.token(alice, TL, `${h.serviceDid}#bsky_appview`)
    expect((await h.call(TL, {}, bearer(frag))).status).toBe(200)
    const extra = await h.token(alice, TL, 'did:web:api.bsky.app')
    expect((await h.call(TL, {}, bearer(extra))).status).toBe(200)
  })

  it('rejects a token for another service (wrong aud) with 401', async () => {
    const token = await h.token(alice, TL, 'did:web:someone-else.example')
    const res = await h.call(TL, {}, bearer(token))
    expect(res.status).toBe(401)
    expect(res.body.message).toMatch(/audience/)
  })

  it('rejects a token minted for another method (wrong lxm) with 401', async () => {
    const token = await h.token(alice, PROFILE)
    const res = await h.call(TL, {}, bearer(token))
    expect(res.status).toBe(401)
    expect(res.body.message).toMatch(/lxm/)
  })

  it("rejects a token signed with another key than the issuer's with 401", async () => {
    const other = await Secp256k1Keypair.create()
    const token = await createServiceJwt({ iss: alice.did, aud: h.serviceDid, lxm: TL, keypair: other })
    const res = await h.call(TL, {}, bearer(token))
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('BadJwtSignature')
  })

  it('rejects an expired token with 401', async () => {
    const key = await Secp256k1Keypair.create()
    const { did } = await plcDid(key, 'expired')
    const now = Math.floor(Date.now() / 1000)
    const token = await createServiceJwt({ iss: did, aud: h.serviceDid, lxm: TL, keypair: key, iat: now - 120, exp: now - 60 })
    const res = await h.call(TL, {}, bearer(token))
    expect(res.status).toBe(401)
    expect(res.body.message).toMatch(/expired/)
  })

  it('rejects alg "none", garbage and non-bearer credentials with 401', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const exp = Math.floor(Date.now() / 1000) + 60
    const none = `${b64({ typ: 'JWT', alg: 'none' })}.${b64({ iss: alice.did, aud: h.serviceDid, lxm: TL, exp })}.`
    for (const authorization of [
      `Bearer ${none}`,
      'Bearer not-a-jwt',
      'Bearer a.b.c',
      `Bearer ${b64({ alg: 'ES256K' })}.%%%.${b64('x')}`,
      `Bearer ${b64({ typ: 'JWT', alg: 'ES256K' })}.${b64({ iss: 'not a did', aud: h.serviceDid, lxm: TL, exp })}.AAAA`,
      'Basic YWxpY2U6cGFzcw==',
      'Bearer',
    ]) {
      const res = await h.call(TL, {}, { authorization })
      expect(res.status, authorization).toBe(401)
      expect(res.body.error).toMatch(/^(AuthenticationRequired|BadJwt\w*)$/)
    }
  })

  it('verifies ES256 (P-256) tokens', async () => {
    const key = await P256Keypair.create()
    const { did } = await plcDid(key, 'psixteen')
    const token = await createServiceJwt({ iss: did, aud: h.serviceDid, lxm: TL, keypair: key })
    const res = await h.call(TL, {}, bearer(token))
    expect(res.status, JSON.stringify(res.body)).toBe(200)
  })

  it('picks up a rotated signing key (re-resolves once when the signature fails)', async () => {
    const first = await Secp256k1Keypair.create()
    const { did, rotation } = await plcDid(first, 'rotator')
    const t1 = await createServiceJwt({ iss: did, aud: h.serviceDid, lxm: TL, keypair: first })
    expect((await h.call(TL, {}, bearer(t1))).status).toBe(200) // the old key is cached now

    const second = await Secp256k1Keypair.create()
    await new plc.Client(h.net.plcUrl).updateAtprotoKey(did, rotation as never, second.did())
    const t2 = await createServiceJwt({ iss: did, aud: h.serviceDid, lxm: TL, keypair: second })
    expect((await h.call(TL, {}, bearer(t2))).status).toBe(200)
    // and the old key no longer works
    const t3 = await createServiceJwt({ iss: did, aud: h.serviceDid, lxm: TL, keypair: first })
    expect((await h.call(TL, {}, bearer(t3))).status).toBe(401)
  })

  it('answers anonymous callers viewer-less where the method allows it', async () => {
    await h.index({ kind: 'identity', did: alice.did, handle: 'alice.test' })
    const res = await h.call(PROFILE, { actor: alice.did })
    expect(res.status).toBe(200)
    expect(res.body.did).toBe(alice.did)
    expect(res.body.viewer).toBeUndefined()
    const authed = await h.call(PROFILE, { actor: alice.did }, alice)
    expect(authed.body.viewer).toEqual({ muted: false, blockedBy: false })
  })

  it('refuses a DID the admission policy does not admit with 403 saying so', async () => {
    const closed = await createTestApp({
      ...h.net.appviewEnv(),
      PORT: '0',
      ROLES: 'api',
      REGISTRATION: 'allowlist',
      ALLOWED_DIDS: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa',
    })
    try {
      const token = await h.token(alice, TL, closed.cfg.service.did)
      const res = await fetch(`${closed.app.url}/xrpc/${TL}`, { headers: { authorization: `Bearer ${token}` } })
      expect(res.status).toBe(403)
      const body = (await res.json()) as { message: string }
      expect(body.message).toMatch(/not admitted/)
      expect(body.message).toMatch(/invitation only/)
      const anon = await fetch(`${closed.app.url}/xrpc/${PROFILE}?actor=${alice.did}`)
      expect(anon.status).not.toBe(403)
    } finally {
      await closed.close()
    }
  })
})
