// app.bsky.feed.defs#generatorView from a generator record we fetched, its creator's
// profileView and what we hold about likes of it. Pure. Record fields the lexicon does not
// accept (a facet of a newer shape, an over-long description) are left out, never passed on.
import type { CdnConfig } from '../views/util.js'
import { blobCid, imageUrl, iso } from '../views/util.js'
import { loadLexicons } from '../lexicon/lexicons.js'
import type { GeneratorRecord } from './generator-records.js'

export interface GeneratorExtras {
  creator: Record<string, unknown> | undefined
  likeCount: number
  viewerLike?: string
}

export function generatorView(cdn: CdnConfig, rec: GeneratorRecord, extras: GeneratorExtras): Record<string, unknown> {
  const v = rec.value
  const view: Record<string, unknown> = {
    uri: rec.uri,
    cid: rec.cid,
    did: rec.serviceDid,
    creator: extras.creator ?? { did: rec.creatorDid, handle: 'handle.invalid' },
    displayName: String(v.displayName),
    likeCount: Math.max(0, extras.likeCount),
    indexedAt: iso(typeof v.createdAt === 'string' ? v.createdAt : undefined) ?? new Date(0).toISOString(),
    labels: [],
  }
  if (typeof v.description === 'string') view.description = v.description
  if (Array.isArray(v.descriptionFacets)) view.descriptionFacets = v.descriptionFacets
  const avatar = blobCid(v.avatar)
  if (avatar) view.avatar = imageUrl(cdn, 'avatar', rec.creatorDid, avatar)
  if (typeof v.acceptsInteractions === 'boolean') view.acceptsInteractions = v.acceptsInteractions
  if (typeof v.contentMode === 'string') view.contentMode = v.contentMode
  if (extras.viewerLike) view.viewer = { like: extras.viewerLike }
  return valid(view) ? view : valid(stripOptional(view)) ? stripOptional(view) : minimal(view)
}

function valid(view: Record<string, unknown>): boolean {
  return loadLexicons().validate('app.bsky.feed.defs#generatorView', view).success
}

function stripOptional(view: Record<string, unknown>): Record<string, unknown> {
  const { descriptionFacets: _f, contentMode: _c, ...rest } = view
  return rest
}

function minimal(view: Record<string, unknown>): Record<string, unknown> {
  const { description: _d, descriptionFacets: _f, contentMode: _c, ...rest } = view
  return rest
}
