// What one request loaded: flat keyed maps, merged across loaders. Views read only this.
import type { ActorRow } from '../dataplane/actors.js'
import type { PostRow, RepostRow } from '../dataplane/posts.js'
import { HydrationMap } from './util.js'

/** The viewer's relationship with an account (app.bsky.actor.defs#viewerState inputs). */
export interface ProfileViewerState {
  following?: string
  followedBy?: string
  blocking?: string
  blockedBy?: boolean
  /** filled by extensions (mutes live with the app-surface module) */
  muted?: boolean
  mutedByList?: unknown
  blockingByList?: unknown
  /** the viewer's activity subscription to this account (app-surface extension) */
  activitySubscription?: { post: boolean; reply: boolean }
}

/** The viewer's relationship with a post (app.bsky.feed.defs#viewerState inputs). */
export interface PostViewerState {
  like?: string
  repost?: string
  bookmarked?: boolean
  threadMuted?: boolean
  pinned?: boolean
}

export interface HydrationState {
  /** DID of the verified caller, null for anonymous requests */
  viewer: string | null
  actors: HydrationMap<string, ActorRow>
  posts: HydrationMap<string, PostRow>
  reposts: HydrationMap<string, RepostRow>
  /** keyed by subject DID; only for authenticated requests */
  profileViewers: HydrationMap<string, ProfileViewerState>
  /** keyed by post URI; only for authenticated requests */
  postViewers: HydrationMap<string, PostViewerState>
  /**
   * Views of quoted records that are not posts (feed generators, lists, starter packs,
   * labelers), keyed by URI, each a complete union member with its $type; filled by
   * extensions (ViewerStateExtension.records). Absent or null → #viewNotFound.
   */
  embedRecords: HydrationMap<string, Record<string, unknown>>
}

export function emptyState(viewer: string | null): HydrationState {
  return {
    viewer,
    actors: new HydrationMap(),
    posts: new HydrationMap(),
    reposts: new HydrationMap(),
    profileViewers: new HydrationMap(),
    postViewers: new HydrationMap(),
    embedRecords: new HydrationMap(),
  }
}

/** Merges `b` into `a` (b wins per key) and returns a. */
export function mergeStates(a: HydrationState, b: HydrationState): HydrationState {
  a.actors.merge(b.actors)
  a.posts.merge(b.posts)
  a.reposts.merge(b.reposts)
  a.profileViewers.merge(b.profileViewers)
  a.postViewers.merge(b.postViewers)
  a.embedRecords.merge(b.embedRecords)
  return a
}
