// Post drafts (app.bsky.draft.*): private per-user state. The only writer of `draft`.
// A user holds at most MAX_DRAFTS; beyond that creating one is refused (abuse bound).
import { TID } from '@atproto/common-web'
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { Db } from '../db/database.js'
import { packCursor, unpackCursor, type Page } from './cursor.js'

export const MAX_DRAFTS = 1000

export interface DraftRow {
  id: string
  draft: unknown
  createdAt: Date
  updatedAt: Date
}

export async function createDraft(db: Db, owner: string, draft: unknown): Promise<string> {
  const count = await db
    .selectFrom('draft')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('owner_did', '=', owner)
    .executeTakeFirstOrThrow()
  if (Number(count.n) >= MAX_DRAFTS) {
    throw new InvalidRequestError(`At most ${MAX_DRAFTS} drafts can be kept; delete some first`, 'DraftLimitReached')
  }
  const id = TID.nextStr()
  const now = new Date()
  await db
    .insertInto('draft')
    .values({ owner_did: owner, id, draft: JSON.stringify(draft), created_at: now, updated_at: now })
    .execute()
  return id
}

/** Replaces a draft's content; an id the user does not have is the caller's mistake. */
export async function updateDraft(db: Db, owner: string, id: string, draft: unknown): Promise<void> {
  const res = await db
    .updateTable('draft')
    .set({ draft: JSON.stringify(draft), updated_at: new Date() })
    .where('owner_did', '=', owner)
    .where('id', '=', id)
    .executeTakeFirst()
  if (Number(res.numUpdatedRows) === 0) throw new InvalidRequestError(`No draft ${id}`, 'DraftNotFound')
}

export async function deleteDraft(db: Db, owner: string, id: string): Promise<void> {
  await db.deleteFrom('draft').where('owner_did', '=', owner).where('id', '=', id).execute()
}

/** Most recently updated first. */
export async function listDrafts(db: Db, owner: string, limit: number, cursor?: string): Promise<Page<DraftRow>> {
  let q = db
    .selectFrom('draft')
    .select(['id', 'draft', 'created_at', 'updated_at'])
    .where('owner_did', '=', owner)
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
  const c = unpackCursor(cursor)
  if (c) {
    q = q.where((eb) => eb.or([eb('updated_at', '<', c.at), eb.and([eb('updated_at', '=', c.at), eb('id', '<', c.key)])]))
  }
  const rows = await q.execute()
  const last = rows.at(-1)
  return {
    items: rows.map((r) => ({ id: r.id, draft: r.draft, createdAt: r.created_at, updatedAt: r.updated_at })),
    cursor: rows.length === limit && last ? packCursor(last.updated_at, last.id) : undefined,
  }
}
