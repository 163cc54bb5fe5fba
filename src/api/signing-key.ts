// The signing key a service-auth JWT is checked against, from the identity module's cached
// DID document. Keys are read with @atproto/identity's getKey, which understands both the
// current Multikey form and the legacy EcdsaSecp256k1VerificationKey2019 /
// EcdsaSecp256r1VerificationKey2019 forms (older PLC documents and many did:web documents
// publish uncompressed legacy keys; prefixing their multibase with did:key: gives a key
// @atproto/crypto cannot parse).
import { getKey } from '@atproto/identity'
import type { SigningKeyResolver } from './auth-verifier.js'

export interface DidDocumentSource {
  resolveDidDocument(did: string, forceRefresh?: boolean): Promise<unknown>
}

export function signingKeysFrom(identity: SigningKeyResolver & Partial<DidDocumentSource>): SigningKeyResolver {
  if (typeof identity.resolveDidDocument !== 'function') return identity
  const source = identity as DidDocumentSource
  // Reading a legacy key means elliptic-curve point arithmetic: do it once per cached document.
  const keyOfDoc = new WeakMap<object, string | undefined>()
  return {
    async resolveAtprotoKey(did: string, forceRefresh: boolean): Promise<string> {
      const doc = await source.resolveDidDocument(did, forceRefresh)
      let key: string | undefined
      if (doc && typeof doc === 'object' && keyOfDoc.has(doc)) key = keyOfDoc.get(doc)
      else {
        key = getKey(doc as Parameters<typeof getKey>[0])
        if (doc && typeof doc === 'object') keyOfDoc.set(doc, key)
      }
      if (!key) throw new Error(`${did}: the DID document has no usable #atproto signing key`)
      return key
    },
  }
}
