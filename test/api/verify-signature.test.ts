// The OpenSSL-backed JWT signature check accepts exactly what @atproto/crypto accepts with
// allowMalleableSig (xrpc-server's default verifier), for both key types.
import { P256Keypair, Secp256k1Keypair, verifySignature } from '@atproto/crypto'
import { describe, expect, it } from 'vitest'
import { es256kBackend, hasNativeKey, verifySignatureWithKey } from '../../src/api/verify-signature.js'

const ORDER: Record<string, bigint> = {
  ES256K: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
}

/** The same signature with s replaced by n - s (valid, but "high-S": malleable). */
function highS(sig: Uint8Array, alg: string): Uint8Array {
  const s = BigInt('0x' + Buffer.from(sig.slice(32)).toString('hex'))
  const flipped = ORDER[alg]! - s
  return Buffer.concat([Buffer.from(sig.slice(0, 32)), Buffer.from(flipped.toString(16).padStart(64, '0'), 'hex')])
}

describe('verifySignatureWithKey', () => {
  for (const [alg, make] of [
    ['ES256K', () => Secp256k1Keypair.create()],
    ['ES256', () => P256Keypair.create()],
  ] as const) {
    it(`${alg}: agrees with @atproto/crypto on good, tampered, high-S and foreign signatures`, async () => {
      const key = await make()
      const other = await make()
      // the point of this module: native code (libsecp256k1 for ES256K, OpenSSL for ES256),
      // not the pure-JS fallback
      expect(hasNativeKey(key.did())).toBe(true)
      if (alg === 'ES256K') expect(es256kBackend).toBe('libsecp256k1')
      for (let i = 0; i < 20; i++) {
        const msg = Buffer.from(`header.payload-${i}-${Math.random()}`)
        const sig = await key.sign(msg)
        const tampered = Buffer.from(msg)
        tampered[0] ^= 1
        const cases: Array<[Uint8Array, Uint8Array, string]> = [
          [msg, sig, key.did()],
          [tampered, sig, key.did()],
          [msg, highS(sig, alg), key.did()],
          [msg, sig, other.did()],
        ]
        for (const [m, s, did] of cases) {
          const ours = await verifySignatureWithKey(did, m, s, alg)
          const reference = await verifySignature(did, m, s, { jwtAlg: alg, allowMalleableSig: true })
          expect(ours).toBe(reference)
        }
        expect(await verifySignatureWithKey(key.did(), msg, sig, alg)).toBe(true)
        expect(await verifySignatureWithKey(key.did(), tampered, sig, alg)).toBe(false)
      }
    })
  }

  it('refuses a token whose alg does not match the key (no algorithm confusion)', async () => {
    const key = await Secp256k1Keypair.create()
    const msg = Buffer.from('x.y')
    const sig = await key.sign(msg)
    await expect(verifySignatureWithKey(key.did(), msg, sig, 'ES256')).rejects.toThrow()
    await expect(verifySignatureWithKey(key.did(), msg, sig, 'none')).rejects.toThrow()
  })

  it('rejects signatures whose r or s is not below the curve order', async () => {
    for (const [alg, key] of [
      ['ES256K', await Secp256k1Keypair.create()],
      ['ES256', await P256Keypair.create()],
    ] as const) {
      const msg = Buffer.from('x.y')
      const sig = await key.sign(msg)
      const order = Buffer.from(ORDER[alg]!.toString(16), 'hex')
      const overR = Buffer.concat([Buffer.alloc(32, 0xff), Buffer.from(sig.slice(32))])
      const sAtOrder = Buffer.concat([Buffer.from(sig.slice(0, 32)), order])
      const zero = new Uint8Array(64)
      for (const bad of [overR, sAtOrder, zero]) {
        expect(await verifySignatureWithKey(key.did(), msg, bad, alg)).toBe(false)
        expect(await verifySignature(key.did(), msg, bad, { jwtAlg: alg, allowMalleableSig: true })).toBe(false)
      }
      // the signature itself is untouched (normalising works on a copy)
      const copy = Buffer.from(highS(sig, alg))
      const given = Uint8Array.from(copy)
      expect(await verifySignatureWithKey(key.did(), msg, given, alg)).toBe(true)
      expect(Buffer.from(given).equals(copy)).toBe(true)
    }
  })

  it('rejects signatures of the wrong length', async () => {
    const key = await P256Keypair.create()
    expect(await verifySignatureWithKey(key.did(), Buffer.from('x.y'), new Uint8Array(10), 'ES256')).toBe(false)
  })
})
