// JWT signature verification through Node's OpenSSL instead of pure-JS elliptic curves:
// a secp256k1 verify costs ~0.1 ms here against several ms in @noble/curves, and every
// proxied request carries a freshly minted token, so this is on the hot path of every read.
//
// Same acceptance as xrpc-server's default (`allowMalleableSig: true`): ES256K with a
// secp256k1 key, ES256 with a P-256 key, raw r||s signatures, high-S accepted. Keys are
// did:key strings (compressed points); their KeyObjects are cached. Anything this cannot
// handle goes to the default verifier.
import { createPublicKey, verify, type KeyObject } from 'node:crypto'
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

const keyCache = new Map<string, { alg: string; key: KeyObject }>()
const MAX_KEYS = 50_000

function keyObject(didKey: string): { alg: string; key: KeyObject } {
  let entry = keyCache.get(didKey)
  if (!entry) {
    const { jwtAlg, keyBytes } = parseDidKey(didKey)
    const prefix = SPKI_PREFIX[jwtAlg]?.[keyBytes.length]
    if (!prefix) throw new Error(`unsupported key ${jwtAlg} (${keyBytes.length} bytes)`)
    const key = createPublicKey({ key: Buffer.concat([prefix, keyBytes]), format: 'der', type: 'spki' })
    entry = { alg: jwtAlg, key }
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
  return verify('sha256', msgBytes, { key: entry.key, dsaEncoding: 'ieee-p1363' }, sigBytes)
}
