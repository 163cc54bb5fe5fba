// Service-auth verification for every XRPC call that carries a token.
//
// The user's PDS mints a short-lived JWT (iss = the user's DID, signed with their repo
// signing key, aud = our DID, lxm = the called NSID) and proxies the call to us. We check
// the signature (ES256K or ES256; the key is re-resolved once when it fails, so a user who
// rotated keys is not locked out), exp, aud ∈ {our DID, our DID#bsky_appview, operator
// extras}, lxm = NSID and that iss is an account DID. Anything wrong is a 401, never a 500.
// A verified DID we have not seen yet goes through admission (onboarding) once; refused →
// 403 saying so.
import { AuthRequiredError, ForbiddenError, verifyJwt, XRPCError } from '@atproto/xrpc-server'
import type { FastifyRequest } from 'fastify'
import { errorMessage } from '../errors.js'
import type { Authenticator, Viewer } from '../http/xrpc.js'
import type { Logger } from '../logger.js'
import { verifySignatureWithKey } from './verify-signature.js'

/** The slice of the identity module the verifier needs (ctx.identity). */
export interface SigningKeyResolver {
  resolveAtprotoKey(did: string, forceRefresh: boolean): Promise<string>
}

/** The slice of the onboarding module the verifier needs (ctx.onboarding). */
export interface Admission {
  admit(did: string, addedBy: 'request' | 'operator'): Promise<{ admitted: true } | { admitted: false; reason: string }>
}

export interface AuthVerifierOpts {
  serviceDid: string
  extraAudiences: string[]
  keys: SigningKeyResolver
  admission?: Admission
  log: Logger
  /** how long an admitted DID skips the admission check (it is cheap, not free) */
  admittedTtlMs?: number
}

/**
 * getFeed is proxied with the feed generator's DID as aud and getFeedSkeleton as lxm
 * (PROTOCOL.md §A2): for it the aud check is skipped and either lxm is accepted.
 */
const LXM_ALTERNATIVES: Record<string, { lxms: string[]; skipAud: boolean }> = {
  'app.bsky.feed.getFeed': { lxms: ['app.bsky.feed.getFeed', 'app.bsky.feed.getFeedSkeleton'], skipAud: true },
}

export function createAuthVerifier(opts: AuthVerifierOpts): Authenticator {
  const audiences = new Set([opts.serviceDid, `${opts.serviceDid}#bsky_appview`, ...opts.extraAudiences])
  const admittedUntil = new Map<string, number>()
  const ttl = opts.admittedTtlMs ?? 10 * 60_000

  const getSigningKey = async (iss: string, forceRefresh: boolean): Promise<string> => {
    const did = iss.split('#')[0]!
    try {
      return await opts.keys.resolveAtprotoKey(did, forceRefresh)
    } catch (err) {
      throw new AuthRequiredError(`could not resolve the signing key of ${did}: ${errorMessage(err)}`, 'BadJwtIss')
    }
  }

  const admit = async (did: string) => {
    if (!opts.admission) return
    if ((admittedUntil.get(did) ?? 0) > Date.now()) return
    const result = await opts.admission.admit(did, 'request')
    if (!result.admitted) {
      throw new ForbiddenError(`${did} is not admitted to this AppView: ${result.reason}`, 'NotAdmitted')
    }
    if (admittedUntil.size > 100_000) admittedUntil.clear()
    admittedUntil.set(did, Date.now() + ttl)
  }

  const verify = async (req: FastifyRequest, nsid: string): Promise<Viewer | null> => {
    const header = req.headers.authorization
    if (header === undefined || header === '') return null
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    if (!match) throw new AuthRequiredError('Authorization must be "Bearer <service JWT>"', 'BadJwt')
    const token = match[1]!
    const alt = LXM_ALTERNATIVES[nsid]

    let payload
    try {
      payload = await verifyJwt(token, null, null, getSigningKey, verifySignatureWithKey)
    } catch (err) {
      if (err instanceof XRPCError) throw err
      // malformed base64/JSON inside the token and the like: the caller's mistake
      throw new AuthRequiredError(`invalid service token: ${errorMessage(err)}`, 'BadJwt')
    }
    if (typeof payload.exp !== 'number') throw new AuthRequiredError('jwt has no exp', 'BadJwt')
    if (!alt?.skipAud) {
      const aud = payload.aud
      if (typeof aud !== 'string' || !audiences.has(aud)) {
        throw new AuthRequiredError(`jwt audience ${JSON.stringify(aud)} is not this service`, 'BadJwtAudience')
      }
    }
    const lxms = alt?.lxms ?? [nsid]
    if (typeof payload.lxm !== 'string' || !lxms.includes(payload.lxm)) {
      throw new AuthRequiredError(
        payload.lxm === undefined ? `missing jwt lxm; must be ${nsid}` : `jwt lxm ${payload.lxm} does not match ${nsid}`,
        'BadJwtLexiconMethod',
      )
    }
    if (payload.iss.includes('#')) {
      throw new AuthRequiredError('jwt iss must be an account DID, not a service', 'BadJwtIss')
    }
    await admit(payload.iss)
    return { did: payload.iss, authorization: header }
  }

  return async (req, nsid) => {
    try {
      return await verify(req, nsid)
    } catch (err) {
      // why a caller was turned away, for operators (the caller gets the same message)
      opts.log.debug({ nsid, err: errorMessage(err) }, 'service auth refused')
      throw err
    }
  }
}
