// JWT signature verification through native code instead of pure-JS elliptic curves: every
// proxied request carries a freshly minted token, so this is on the hot path of every read.
// ES256K goes to libsecp256k1 (the `secp256k1` package's prebuilt binding): ~90 µs a verify
// on the 2026-11-28 VM against ~680 µs in OpenSSL's generic curve code (17% of the timeline
// server's CPU) and several ms in @noble/curves. ES256 (P-256) goes to OpenSSL, whose
// P-256 code is fast. Without the binding, ES256K falls back to OpenSSL too.
//
// Same acceptance as xrpc-server's default (`allowMalleableSig: true`): ES256K with a
// secp256k1 key, ES256 with a P-256 key, raw r||s signatures, high-S accepted. Keys are
// did:key strings (compressed points); their KeyObjects are cached. Anything this cannot
// handle goes to the default verifier.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { createRequire } from 'node:module'
import { parseDidKey } from '@atproto/crypto'
import { cryptoVerifySignatureWithKey } from '@atproto/xrpc-server'

// SubjectPublicKeyInfo DER prefixes (id-ecPublicKey + curve) for a compressed (33-byte) or
// uncompressed (65-byte) point; @atproto/crypto's parseDidKey hands back the latter.
const SPKI_PREFIX: Record<string, Record<number, Buffer>> = {
  ES256K: {
    33: Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex'),
    65: Buffer.from('3056301006072a8648ce3d020106052b8104000a034200', 'hex'),
  },
  ES256: {
    33: Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
    65: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
  },
}

/** The part of the `secp256k1` package's native API used here (it has no type declarations). */
interface Libsecp256k1 {
  /** to low-S in place; throws when r or s is not below the curve order */
  signatureNormalize(sig: Uint8Array): Uint8Array
  /** low-S only; throws on an unparseable signature or key */
  ecdsaVerify(sig: Uint8Array, msg32: Uint8Array, publicKey: Uint8Array): boolean
}

/** The native binding only: the package's own fallback is pure JS (elliptic), slower than OpenSSL. */
const libsecp256k1: Libsecp256k1 | undefined = (() => {
  try {
    return createRequire(import.meta.url)('secp256k1/bindings') as Libsecp256k1
  } catch {
    return undefined
  }
})()

/** Which code verifies ES256K signatures here (tests: the fast path must really be taken). */
export const es256kBackend: 'libsecp256k1' | 'openssl' = libsecp256k1 ? 'libsecp256k1' : 'openssl'

const keyCache = new Map<string, { alg: string; key: KeyObject; point: Uint8Array }>()
const MAX_KEYS = 50_000

function keyObject(didKey: string): { alg: string; key: KeyObject; point: Uint8Array } {
  let entry = keyCache.get(didKey)
  if (!entry) {
    const { jwtAlg, keyBytes } = parseDidKey(didKey)
    const prefix = SPKI_PREFIX[jwtAlg]?.[keyBytes.length]
    if (!prefix) throw new Error(`unsupported key ${jwtAlg} (${keyBytes.length} bytes)`)
    const key = createPublicKey({ key: Buffer.concat([prefix, keyBytes]), format: 'der', type: 'spki' })
    entry = { alg: jwtAlg, key, point: keyBytes }
    if (keyCache.size >= MAX_KEYS) keyCache.delete(keyCache.keys().next().value!)
    keyCache.set(didKey, entry)
  }
  return entry
}

/** Whether a did:key takes the OpenSSL path (tests: the fast path must really be taken). */
export function hasNativeKey(didKey: string): boolean {
  try {
    keyObject(didKey)
    return true
  } catch {
    return false
  }
}

export async function verifySignatureWithKey(
  didKey: string,
  msgBytes: Uint8Array,
  sigBytes: Uint8Array,
  alg: string,
): Promise<boolean> {
  let entry
  try {
    entry = keyObject(didKey)
  } catch {
    return cryptoVerifySignatureWithKey(didKey, msgBytes, sigBytes, alg)
  }
  // A token must be signed with the algorithm of the issuer's key (no alg confusion).
  if (alg !== entry.alg) throw new Error(`jwt alg ${alg} does not match the ${entry.alg} signing key`)
  if (sigBytes.length !== 64) return false
  if (entry.alg === 'ES256K' && libsecp256k1) {
    try {
      // high-S accepted, as above: normalised first (a copy: normalising works in place)
      const sig = libsecp256k1.signatureNormalize(Uint8Array.from(sigBytes))
      return libsecp256k1.ecdsaVerify(sig, createHash('sha256').update(msgBytes).digest(), entry.point)
    } catch {
      return false // r or s out of range
    }
  }
  return verify('sha256', msgBytes, { key: entry.key, dsaEncoding: 'ieee-p1363' }, sigBytes)
}
