// app.bsky.actor.profile (rkey "self"): the profile columns of the actor row. An actor row
// exists without a profile (counters, handle, status), so "stored" means profile_cid is set,
// and a delete clears the profile columns instead of removing the row.
import { sql } from 'kysely'
import { isDatetimeStringLenient } from '@atproto/syntax'
import { notTombstoned, type RecordProcessor } from './processor.js'

interface BlobJson {
  ref?: { $link?: string }
}
interface StrongRef {
  uri: string
  cid: string
}

function blobCid(blob: unknown): string | null {
  const link = (blob as BlobJson | undefined)?.ref?.$link
  return typeof link === 'string' ? link : null
}

export const profileProcessor: RecordProcessor = {
  collection: 'app.bsky.actor.profile',
  rkey: 'self',

  async findStored(tx, _uri, did) {
    const row = await tx
      .selectFrom('actor')
      .select(['profile_rev', 'indexed_at'])
      .where('did', '=', did)
      .where('profile_cid', 'is not', null)
      .executeTakeFirst()
    return row ? { rev: row.profile_rev, indexedAt: row.indexed_at } : undefined
  },

  async insert(tx, input) {
    const r = input.record
    const pinned = r.pinnedPost as StrongRef | undefined
    const createdAt = typeof r.createdAt === 'string' && isDatetimeStringLenient(r.createdAt) ? r.createdAt : null
    const values = {
      displayName: typeof r.displayName === 'string' ? r.displayName : null,
      description: typeof r.description === 'string' ? r.description : null,
    }
    const { rows } = await sql`
      insert into actor (
        did, display_name, description, avatar_cid, banner_cid, pinned_post_uri, pinned_post_cid,
        profile_cid, profile_record, profile_rev, profile_created_at, updated_at
      )
      select ${input.did}, ${values.displayName}, ${values.description}, ${blobCid(r.avatar)}, ${blobCid(r.banner)},
             ${pinned?.uri ?? null}, ${pinned?.cid ?? null}, ${input.cid}, ${JSON.stringify(r)}::jsonb,
             ${input.rev}, ${createdAt}::timestamptz, now()
      where ${notTombstoned(input.uri, input.rev)}
      on conflict (did) do update set
        display_name = excluded.display_name,
        description = excluded.description,
        avatar_cid = excluded.avatar_cid,
        banner_cid = excluded.banner_cid,
        pinned_post_uri = excluded.pinned_post_uri,
        pinned_post_cid = excluded.pinned_post_cid,
        profile_cid = excluded.profile_cid,
        profile_record = excluded.profile_record,
        profile_rev = excluded.profile_rev,
        profile_created_at = excluded.profile_created_at,
        updated_at = now()
      where actor.profile_cid is null
      returning did
    `.execute(tx)
    return rows.length > 0
  },

  async remove(tx, _uri, did, rev) {
    const { rows } = await sql`
      update actor set
        display_name = null, description = null, avatar_cid = null, banner_cid = null,
        pinned_post_uri = null, pinned_post_cid = null, profile_cid = null, profile_record = null,
        profile_rev = null, profile_created_at = null, updated_at = now()
      where did = ${did} and profile_cid is not null
        and (${rev}::text is null or profile_rev is null or profile_rev < ${rev}::text)
      returning did
    `.execute(tx)
    return rows.length > 0
  },
}
