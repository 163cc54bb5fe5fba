// app.bsky.graph.block: the block row (views use it both ways). No counters, no notification.
import { sql } from 'kysely'
import { findStoredIn, notTombstoned, revAllowsRemoval, times, type RecordProcessor } from './processor.js'

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

  async remove(tx, uri, _did, rev) {
    const { rows } = await sql`delete from block where uri = ${uri} and ${revAllowsRemoval(rev)} returning uri`.execute(tx)
    return rows.length > 0
  },
}
