// com.atproto.repo.getRecord: a record we hold (posts, profiles), else fetched from the
// author's PDS. The user's PDS pipes getRecord for non-local repos to its AppView (us).
import { InvalidRequestError, UpstreamFailureError } from '@atproto/xrpc-server'
import { errorMessage } from '../../../../errors.js'
import type { ReadContext } from '../../../context.js'
import { resolveActorDid } from '../../../util.js'

const NSID = 'com.atproto.repo.getRecord'

export default function register(ctx: ReadContext) {
  ctx.router.add<Params>(NSID, {
    auth: 'optional',
    handler: async ({ params }) => {
      const did = await resolveActorDid(ctx, params.repo)
      if (!did) throw new InvalidRequestError(`Could not find repo: ${params.repo}`, 'RecordNotFound')
      const uri = `at://${did}/${params.collection}/${params.rkey}`
      const local = await localRecord(ctx, did, params.collection, params.rkey, uri)
      if (local === 'deleted') throw new InvalidRequestError(`Could not locate record: ${uri}`, 'RecordNotFound')
      if (local && (!params.cid || params.cid === local.cid)) return { body: local }
      let remote
      try {
        remote = await ctx.getRemoteRecord(uri)
      } catch (err) {
        // A repo whose DID does not resolve (or names no usable PDS) has no records to give;
        // anything else (a PDS down, slow, erroring) is the upstream's failure, not the caller's.
        if ((err as { reason?: string; permanent?: boolean }).reason === 'identity' && (err as { permanent?: boolean }).permanent) {
          throw new InvalidRequestError(`Could not find repo: ${did}`, 'RecordNotFound')
        }
        throw new UpstreamFailureError(`could not fetch ${uri} from its PDS: ${errorMessage(err)}`)
      }
      if (!remote || (params.cid && remote.cid !== params.cid)) {
        throw new InvalidRequestError(`Could not locate record: ${uri}`, 'RecordNotFound')
      }
      return { body: { uri, cid: remote.cid, value: remote.value } }
    },
  })
}

async function localRecord(ctx: ReadContext, did: string, collection: string, rkey: string, uri: string) {
  const tomb = await ctx.db.selectFrom('tombstone').select('uri').where('uri', '=', uri).executeTakeFirst()
  if (tomb) return 'deleted' as const
  if (collection === 'app.bsky.feed.post') {
    const row = await ctx.db.selectFrom('post').select(['cid', 'record']).where('uri', '=', uri).executeTakeFirst()
    return row ? { uri, cid: row.cid, value: row.record } : undefined
  }
  if (collection === 'app.bsky.actor.profile' && rkey === 'self') {
    const row = await ctx.db
      .selectFrom('actor')
      .select(['profile_cid', 'profile_record'])
      .where('did', '=', did)
      .executeTakeFirst()
    return row?.profile_cid && row.profile_record ? { uri, cid: row.profile_cid, value: row.profile_record } : undefined
  }
  return undefined
}

type Params = { repo: string; collection: string; rkey: string; cid?: string }
