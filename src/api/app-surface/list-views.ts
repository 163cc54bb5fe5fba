// Views of records we read from repos (lists, starter packs): listView, listViewBasic,
// listItemView, starterPackViewBasic. Pure functions of the record and a hydration state
// holding the creators/subjects. A view the lexicon would reject is dropped, never sent.
import type { HydrationState } from '../../hydration/state.js'
import { loadLexicons } from '../../lexicon/lexicons.js'
import { blobCid, imageUrl, iso } from '../../views/util.js'
import type { SurfaceContext } from './context.js'
import type { RepoRecord } from './repo-records.js'

export interface ListViewer {
  muted?: boolean
  /** uri of the viewer's listblock record */
  blocked?: string
}

function creatorOf(uri: string): string {
  return uri.split('/')[2] ?? ''
}

function validOr(def: string, view: Record<string, unknown>): Record<string, unknown> | undefined {
  const lex = loadLexicons()
  if (lex.validate(def, view).success) return view
  const { description: _d, descriptionFacets: _f, ...rest } = view
  return lex.validate(def, rest).success ? rest : undefined
}

function basicFields(ctx: SurfaceContext, rec: RepoRecord, viewer: ListViewer | undefined, itemCount?: number) {
  const v = rec.value
  const out: Record<string, unknown> = {
    uri: rec.uri,
    cid: rec.cid,
    name: typeof v.name === 'string' ? v.name : '',
    purpose: typeof v.purpose === 'string' ? v.purpose : '',
    indexedAt: iso(typeof v.createdAt === 'string' ? v.createdAt : undefined) ?? new Date(0).toISOString(),
    labels: [],
  }
  const avatar = blobCid(v.avatar)
  if (avatar) out.avatar = imageUrl(ctx.views.cdn, 'avatar', creatorOf(rec.uri), avatar)
  if (itemCount !== undefined) out.listItemCount = itemCount
  if (viewer) {
    out.viewer = { muted: viewer.muted ?? false, ...(viewer.blocked ? { blocked: viewer.blocked } : {}) }
  }
  return out
}

export function listViewBasic(ctx: SurfaceContext, rec: RepoRecord, viewer?: ListViewer, itemCount?: number) {
  return validOr('app.bsky.graph.defs#listViewBasic', basicFields(ctx, rec, viewer, itemCount))
}

export function listView(
  ctx: SurfaceContext,
  state: HydrationState,
  rec: RepoRecord,
  viewer?: ListViewer,
  itemCount?: number,
): Record<string, unknown> | undefined {
  const creatorDid = creatorOf(rec.uri)
  const creator = ctx.views.profileView(state, creatorDid) ?? { did: creatorDid, handle: 'handle.invalid' }
  const out: Record<string, unknown> = { ...basicFields(ctx, rec, viewer, itemCount), creator }
  if (typeof rec.value.description === 'string') out.description = rec.value.description
  if (Array.isArray(rec.value.descriptionFacets)) out.descriptionFacets = rec.value.descriptionFacets
  return validOr('app.bsky.graph.defs#listView', out)
}

export function listItemView(ctx: SurfaceContext, state: HydrationState, item: RepoRecord) {
  const subject = typeof item.value.subject === 'string' ? item.value.subject : ''
  const view = ctx.views.profileView(state, subject)
  return view ? { uri: item.uri, subject: view } : undefined
}

export function starterPackViewBasic(ctx: SurfaceContext, state: HydrationState, rec: RepoRecord) {
  const creatorDid = creatorOf(rec.uri)
  const creator = ctx.views.profileViewBasic(state, creatorDid) ?? { did: creatorDid, handle: 'handle.invalid' }
  const view = {
    uri: rec.uri,
    cid: rec.cid,
    record: rec.value,
    creator,
    indexedAt: iso(typeof rec.value.createdAt === 'string' ? rec.value.createdAt : undefined) ?? new Date(0).toISOString(),
    labels: [],
  }
  return loadLexicons().validate('app.bsky.graph.defs#starterPackViewBasic', view).success ? view : undefined
}

/** A list's items: the creator's listitem records naming this list (bounded scan). */
export function itemsOfList(listUri: string, listitems: RepoRecord[]): RepoRecord[] {
  return listitems.filter((i) => i.value.list === listUri && typeof i.value.subject === 'string')
}

export const PURPOSES: Record<string, string> = {
  modlist: 'app.bsky.graph.defs#modlist',
  curatelist: 'app.bsky.graph.defs#curatelist',
  referencelist: 'app.bsky.graph.defs#referencelist',
}
