// Profile views: app.bsky.actor.defs#profileViewBasic, #profileView, #profileViewDetailed.
// Pure functions of the hydration state.
import type { ActorRow } from '../dataplane/actors.js'
import type { HydrationState } from '../hydration/state.js'
import { type CdnConfig, imageUrl, iso, isObject } from './util.js'

export interface ViewInput {
  state: HydrationState
  cdn: CdnConfig
}

const INVALID_HANDLE = 'handle.invalid'

/** Is this actor's content shown? Deactivated, suspended or taken-down accounts: no. */
export function actorIsActive(state: HydrationState, did: string): boolean {
  const a = state.actors.value(did)
  return !!a && a.status === 'active'
}

/** The viewer blocks the actor or the actor blocks the viewer. */
export function isBlocked(state: HydrationState, did: string): boolean {
  const v = state.profileViewers.value(did)
  return !!v && (!!v.blocking || !!v.blockedBy || !!v.blockingByList)
}

export function profileViewerState(state: HydrationState, did: string) {
  if (!state.viewer) return undefined
  const v = state.profileViewers.value(did)
  if (!v) return { muted: false, blockedBy: false }
  const out: Record<string, unknown> = { muted: v.muted ?? false, blockedBy: v.blockedBy ?? false }
  if (v.mutedByList) out.mutedByList = v.mutedByList
  if (v.blockingByList) out.blockingByList = v.blockingByList
  if (v.activitySubscription) out.activitySubscription = v.activitySubscription
  // A blocked relationship hides the follow edges, as the reference AppView does.
  const blocked = !!v.blocking || !!v.blockedBy
  if (v.blocking) out.blocking = v.blocking
  if (!blocked && v.following) out.following = v.following
  if (!blocked && v.followedBy) out.followedBy = v.followedBy
  return out
}

function basicFields(input: ViewInput, a: ActorRow) {
  const out: Record<string, unknown> = {
    did: a.did,
    handle: a.handle ?? INVALID_HANDLE,
  }
  if (a.display_name) out.displayName = a.display_name
  const pronouns = profileString(a, 'pronouns')
  if (pronouns) out.pronouns = pronouns
  if (a.avatar_cid) out.avatar = imageUrl(input.cdn, 'avatar', a.did, a.avatar_cid)
  const viewer = profileViewerState(input.state, a.did)
  if (viewer) out.viewer = viewer
  out.labels = []
  const createdAt = iso(a.profile_created_at)
  if (createdAt) out.createdAt = createdAt
  return out
}

export function profileViewBasic(input: ViewInput, did: string): Record<string, unknown> | undefined {
  const a = input.state.actors.value(did)
  if (!a) return undefined
  return basicFields(input, a)
}

export function profileView(input: ViewInput, did: string): Record<string, unknown> | undefined {
  const a = input.state.actors.value(did)
  if (!a) return undefined
  const out: Record<string, unknown> = basicFields(input, a)
  if (a.description) out.description = a.description
  out.indexedAt = iso(a.indexed_at)
  return out
}

export function profileViewDetailed(input: ViewInput, did: string): Record<string, unknown> | undefined {
  const a = input.state.actors.value(did)
  if (!a) return undefined
  const out: Record<string, unknown> = basicFields(input, a)
  if (a.description) out.description = a.description
  const website = profileString(a, 'website')
  if (website && /^https?:\/\/\S+$/.test(website)) out.website = website
  if (a.banner_cid) out.banner = imageUrl(input.cdn, 'banner', a.did, a.banner_cid)
  out.followersCount = Math.max(0, a.followers_count)
  out.followsCount = Math.max(0, a.follows_count)
  out.postsCount = Math.max(0, a.posts_count)
  out.indexedAt = iso(a.indexed_at)
  if (a.pinned_post_uri && a.pinned_post_cid) out.pinnedPost = { uri: a.pinned_post_uri, cid: a.pinned_post_cid }
  return out
}

function profileString(a: ActorRow, key: string): string | undefined {
  const rec = a.profile_record
  if (!isObject(rec)) return undefined
  const v = rec[key]
  return typeof v === 'string' && v.length > 0 ? v : undefined
}
