// app.bsky.graph.block: the block row (views use it both ways). No counters, no notification.
import { sql } from 'kysely'
import {
  BULK_NOT_TOMBSTONED,
  baseColumns,
  findStoredIn,
  notTombstoned,
  revAllowsRemoval,
  times,
  type RecordProcessor,
} from './processor.js'

export const blockProcessor: RecordProcessor = {
  collection: 'app.bsky.graph.block',

  findStored: (tx, uri) => findStoredIn(tx, 'block', uri),

  async insert(tx, input, env) {
    const subject = input.record.subject as string
    const t = times(input)
    const { rows } = await sql<{ uri: string }>`
      insert into block (uri, cid, author_did, rev, subject_did, created_at, indexed_at, sort_at)
      select ${input.uri}, ${input.cid}, ${input.did}, ${input.rev}, ${subject}, ${t.createdAt}, ${t.indexedAt}, ${t.sortAt}
      where ${notTombstoned(input.uri, input.rev)}
      on conflict (uri) do nothing
      returning uri
    `.execute(tx)
    if (rows.length === 0) return false
    await sql`insert into actor (did) values (${input.did}) on conflict (did) do nothing`.execute(tx)
    // A stranger blocking a local user: their unblock (a delete) must reach us too.
    if (env.isLocalUser(subject)) env.effects.interactors.add(input.did)
    return true
  },

  async insertMany(tx, inputs, env) {
    const c = baseColumns(inputs)
    const subjects = inputs.map((i) => i.record.subject as string)
    const { rows } = await sql<{ uri: string; author_did: string; subject_did: string }>`
      with i as (
        select * from unnest(
          ${c.uris}::text[], ${c.cids}::text[], ${c.dids}::text[], ${c.revs}::text[], ${subjects}::text[],
          ${c.createdAt}::timestamptz[], ${c.indexedAt}::timestamptz[], ${c.sortAt}::timestamptz[]
        ) as t(uri, cid, author_did, rev, subject_did, created_at, indexed_at, sort_at)
      ), ins as (
        insert into block (uri, cid, author_did, rev, subject_did, created_at, indexed_at, sort_at)
        select i.* from i where ${BULK_NOT_TOMBSTONED}
        on conflict (uri) do nothing
        returning uri, author_did, subject_did
      ), authors as (
        insert into actor (did) select distinct author_did from ins on conflict (did) do nothing
      )
      select uri, author_did, subject_did from ins
    `.execute(tx)
    for (const r of rows) if (env.isLocalUser(r.subject_did)) env.effects.interactors.add(r.author_did)
    return new Set(rows.map((r) => r.uri))
  },

  async remove(tx, uri, _did, rev) {
    const { rows } = await sql`delete from block where uri = ${uri} and ${revAllowsRemoval(rev)} returning uri`.execute(tx)
    return rows.length > 0
  },
}
