// com.atproto.identity.resolveHandle: a handle we hold (verified), else resolved through
// the identity module (DNS TXT / https well-known, PDS in development).
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { ReadContext } from '../../../context.js'
import { resolveActorDid } from '../../../util.js'

const NSID = 'com.atproto.identity.resolveHandle'

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>(NSID, {
    auth: 'none',
    handler: async ({ params }) => {
      const did = await resolveActorDid(ctx, params.handle)
      if (!did) throw new InvalidRequestError(`Unable to resolve handle: ${params.handle}`, 'HandleNotFound')
      return { body: { did } }
    },
  })
}

type Params = { handle: string }
