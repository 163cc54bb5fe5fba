// Mutes are AppView state: private to the muter, written by the graph.mute* procedures and
// read by every view that hides muted accounts, lists and threads. The only writer of the
// mute_* tables.
import type { Db } from '../db/database.js'
import { packCursor, unpackCursor, type Page } from './cursor.js'

export async function muteActor(db: Db, muter: string, subject: string): Promise<void> {
  await db
    .insertInto('mute_actor')
    .values({ muter_did: muter, subject_did: subject, created_at: new Date() })
    .onConflict((oc) => oc.columns(['muter_did', 'subject_did']).doNothing())
    .execute()
}

export async function unmuteActor(db: Db, muter: string, subject: string): Promise<void> {
  await db.deleteFrom('mute_actor').where('muter_did', '=', muter).where('subject_did', '=', subject).execute()
}

/** Mutes a list and everyone on it (`members`: the list's members as read just now). */
export async function muteList(db: Db, muter: string, listUri: string, members: string[]): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('mute_list')
      .values({ muter_did: muter, list_uri: listUri, created_at: new Date() })
      .onConflict((oc) => oc.columns(['muter_did', 'list_uri']).doNothing())
      .execute()
    await tx.deleteFrom('mute_list_member').where('muter_did', '=', muter).where('list_uri', '=', listUri).execute()
    const unique = [...new Set(members)].filter((d) => d !== muter)
    if (unique.length > 0) {
      await tx
        .insertInto('mute_list_member')
        .values(unique.map((subject_did) => ({ muter_did: muter, list_uri: listUri, subject_did })))
        .execute()
    }
  })
}

export async function unmuteList(db: Db, muter: string, listUri: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('mute_list').where('muter_did', '=', muter).where('list_uri', '=', listUri).execute()
    await tx.deleteFrom('mute_list_member').where('muter_did', '=', muter).where('list_uri', '=', listUri).execute()
  })
}

export async function muteThread(db: Db, muter: string, rootUri: string): Promise<void> {
  await db
    .insertInto('mute_thread')
    .values({ muter_did: muter, root_uri: rootUri, created_at: new Date() })
    .onConflict((oc) => oc.columns(['muter_did', 'root_uri']).doNothing())
    .execute()
}

export async function unmuteThread(db: Db, muter: string, rootUri: string): Promise<void> {
  await db.deleteFrom('mute_thread').where('muter_did', '=', muter).where('root_uri', '=', rootUri).execute()
}

/** Muted accounts, most recently muted first. Cursor: `<created_at ms>::<did>`. */
export async function listMutedActors(db: Db, muter: string, limit: number, cursor?: string): Promise<Page<string>> {
  let q = db
    .selectFrom('mute_actor')
    .select(['subject_did', 'created_at'])
    .where('muter_did', '=', muter)
    .orderBy('created_at', 'desc')
    .orderBy('subject_did', 'desc')
    .limit(limit)
  const c = unpackCursor(cursor)
  if (c) {
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', c.at),
        eb.and([eb('created_at', '=', c.at), eb('subject_did', '<', c.key)]),
      ]),
    )
  }
  const rows = await q.execute()
  const last = rows.at(-1)
  return {
    items: rows.map((r) => r.subject_did),
    cursor: rows.length === limit && last ? packCursor(last.created_at, last.subject_did) : undefined,
  }
}

/** Muted list URIs, most recently muted first. */
export async function listMutedLists(db: Db, muter: string, limit: number, cursor?: string): Promise<Page<string>> {
  let q = db
    .selectFrom('mute_list')
    .select(['list_uri', 'created_at'])
    .where('muter_did', '=', muter)
    .orderBy('created_at', 'desc')
    .orderBy('list_uri', 'desc')
    .limit(limit)
  const c = unpackCursor(cursor)
  if (c) {
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', c.at), eb.and([eb('created_at', '=', c.at), eb('list_uri', '<', c.key)])]),
    )
  }
  const rows = await q.execute()
  const last = rows.at(-1)
  return {
    items: rows.map((r) => r.list_uri),
    cursor: rows.length === limit && last ? packCursor(last.created_at, last.list_uri) : undefined,
  }
}

/** Of `subjects`, the ones `muter` muted. */
export async function mutedActorsAmong(db: Db, muter: string, subjects: string[]): Promise<Set<string>> {
  if (subjects.length === 0) return new Set()
  const rows = await db
    .selectFrom('mute_actor')
    .select('subject_did')
    .where('muter_did', '=', muter)
    .where('subject_did', 'in', [...new Set(subjects)])
    .execute()
  return new Set(rows.map((r) => r.subject_did))
}

/** Of `subjects`, the ones on a list `muter` muted → that list's uri. */
export async function listMutedActorsAmong(db: Db, muter: string, subjects: string[]): Promise<Map<string, string>> {
  if (subjects.length === 0) return new Map()
  const rows = await db
    .selectFrom('mute_list_member')
    .select(['subject_did', 'list_uri'])
    .where('muter_did', '=', muter)
    .where('subject_did', 'in', [...new Set(subjects)])
    .execute()
  return new Map(rows.map((r) => [r.subject_did, r.list_uri]))
}

/** Of `listUris`, the lists `muter` muted. */
export async function mutedListsAmong(db: Db, muter: string, listUris: string[]): Promise<Set<string>> {
  if (listUris.length === 0) return new Set()
  const rows = await db
    .selectFrom('mute_list')
    .select('list_uri')
    .where('muter_did', '=', muter)
    .where('list_uri', 'in', [...new Set(listUris)])
    .execute()
  return new Set(rows.map((r) => r.list_uri))
}
