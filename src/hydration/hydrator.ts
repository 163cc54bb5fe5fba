// Batched loaders behind every view. Each composite method loads a fixed number of
// queries whatever the number of items (never one query per item) and returns a
// HydrationState the pure view functions read.
import type { RawBuilder } from 'kysely'
import type { Db } from '../db/database.js'
import type { FeedItemRow, TimelineSources } from '../dataplane/feeds.js'
import { getRelationships, type Relationship } from '../dataplane/graph.js'
import { getViewerPostStates, type ViewerPostState } from '../dataplane/interactions.js'
import { getViewerStateRows, viewerStateFromRows, type ViewerStateRow } from '../dataplane/viewer.js'
import { getPosts, getTombstoned, type PostRow } from '../dataplane/posts.js'
import type { ActorInfoSource } from './identity.js'
import { directRows, type RowSource } from './row-source.js'
import { emptyState, type HydrationState, type PostViewerState, type ProfileViewerState } from './state.js'
import { didFromUri, uniq } from './util.js'

/** Fetches posts we do not store (reply parents, quoted posts of untracked authors). */
export interface MissingPostFetcher {
  /** Fetch and index these posts; resolves when done or when its time budget ran out. */
  fetchPosts(uris: string[]): Promise<void>
}

/**
 * Viewer state owned by other modules (mutes, bookmarks, thread mutes): one batched call
 * per request each, merged into profileViewers/postViewers.
 */
export interface ViewerStateExtension {
  profiles?(viewer: string, dids: string[]): Promise<Map<string, Partial<ProfileViewerState>>>
  /** `state` holds the loaded posts (e.g. their reply roots), so no need to query them again */
  posts?(viewer: string, uris: string[], state: HydrationState): Promise<Map<string, Partial<PostViewerState>>>
  /**
   * Views of quoted records that are not posts (a generatorView, listView,
   * starterPackViewBasic or labelerView, with $type), for anonymous callers too.
   */
  records?(viewer: string | null, uris: string[]): Promise<Map<string, Record<string, unknown>>>
  /**
   * Profiles and posts as union-all branches the hydrator appends to its own viewer-state
   * query (a feed page: one round trip for all of the viewer's state). Without them the
   * hydrator asks `profiles` and `posts`.
   */
  viewerStateBranches?(viewer: string, dids: string[], uris: string[], state: HydrationState): ViewerStateBranches
}

export type { ViewerStateRow }

export interface ViewerStateBranches {
  /** `select … union all select …` yielding ViewerStateRow columns, kinds of its own */
  sql: RawBuilder<ViewerStateRow>
  /** the extension's answers from the query's rows (rows of other kinds are ignored) */
  collect(rows: ViewerStateRow[]): { profiles: Map<string, Partial<ProfileViewerState>>; posts: Map<string, Partial<PostViewerState>> }
}

type ExtResults<T> = Array<Promise<Map<string, Partial<T>> | undefined> | undefined>

export interface HydratorDeps {
  db: Db
  fetcher?: MissingPostFetcher
  /** fills in actors we have no row for, or whose handle we have not verified */
  actorInfo?: ActorInfoSource
  /** post, repost and actor rows: the read API's cache (row-source.ts), else straight from db */
  rows?: RowSource
}

export interface PostHydrationOpts {
  /** fetch posts we do not store from their authors' PDSes (reply parents, quotes) */
  fetchMissing?: boolean
}

export class Hydrator {
  private readonly extensions: ViewerStateExtension[] = []

  private readonly rows: RowSource

  constructor(private readonly deps: HydratorDeps) {
    this.rows = deps.rows ?? directRows
  }

  /** The database the loaders read (the read API's prepared-statement pool), for extensions. */
  get db(): Db {
    return this.deps.db
  }

  /**
   * The newest repo rev we indexed for `did` (the atproto-repo-rev response header), from its
   * actor row (cached like any other): the indexer keeps actor.repo_rev from every stream
   * commit, deletes and profile updates included. Null when no commit of theirs came through
   * the stream (only backfilled records, which carry no rev): then the header is left out,
   * which PROTOCOL.md calls safe; a guess from the newest records would miss later deletes and
   * make the PDS splice in records again.
   */
  async repoRev(did: string): Promise<string | null> {
    const [row] = await this.rows.actors(this.deps.db, [did])
    return row?.repo_rev ?? null
  }

  /** The timeline's sources held in memory (whom a viewer follows, accounts' newest items), if any. */
  get timelineSources(): TimelineSources | undefined {
    return this.rows.timeline
  }

  /** Adds viewer state from another module (app-surface: mutes, bookmarks). */
  extend(ext: ViewerStateExtension): void {
    this.extensions.push(ext)
  }

  // app.bsky.actor.defs#profileView(Basic|Detailed)
  // - actor row (handle, profile, counts, status)
  // - viewer relationship (following, followedBy, blocking, blockedBy) + extensions
  async hydrateProfiles(dids: string[], viewer: string | null): Promise<HydrationState> {
    const state = emptyState(viewer)
    await this.loadActors(state, uniq(dids))
    return state
  }

  // app.bsky.feed.defs#postView
  // - post
  //   - quoted record (embed.record / recordWithMedia)
  //     - its quoted record (shown without further embeds)
  // - authors of all of the above (+ viewer relationship)
  // - viewer like / repost of every post shown
  async hydratePosts(uris: string[], viewer: string | null, opts: PostHydrationOpts = {}): Promise<HydrationState> {
    const state = emptyState(viewer)
    const top = uniq(uris)
    await this.loadPostTree(state, top, opts.fetchMissing ?? false)
    await Promise.all([this.loadActorsAndViewer(state), this.loadEmbedRecords(state)])
    return state
  }

  // app.bsky.feed.defs#feedViewPost
  // - post (as postView above)
  // - repost (reason.by)
  // - reply
  //   - parent post, root post (fetched from their PDS when we do not store them)
  //   - grandparent author (from the parent's reply ref; no post load needed)
  async hydrateFeedItems(items: FeedItemRow[], viewer: string | null, opts: PostHydrationOpts = {}): Promise<HydrationState> {
    const state = emptyState(viewer)
    const postUris = uniq(items.map((i) => i.postUri))
    // repost rows the skeleton already read need no query
    for (const i of items) if (i.repost) state.reposts.set(i.uri, i.repost)
    const repostUris = uniq(items.filter((i) => i.type === 'repost' && !i.repost).map((i) => i.uri))
    const [, reposts] = await Promise.all([
      this.loadPostTree(state, postUris, opts.fetchMissing ?? true),
      this.rows.reposts(this.deps.db, repostUris),
    ])
    for (const uri of repostUris) state.reposts.set(uri, null)
    for (const r of reposts) state.reposts.set(r.uri, r)
    await Promise.all([this.loadActorsAndViewer(state), this.loadEmbedRecords(state)])
    return state
  }

  // app.bsky.feed.defs#threadViewPost / app.bsky.unspecced.defs#threadItemPost
  // - every post in the thread (as postView)
  async hydrateThreadPosts(uris: string[], viewer: string | null, opts: PostHydrationOpts = {}): Promise<HydrationState> {
    return this.hydratePosts(uris, viewer, opts)
  }

  /**
   * Makes sure these posts are stored, fetching the ones we lack from their authors' PDSes
   * (skipping deleted ones). For skeletons that walk stored rows (thread ancestors).
   */
  async ensureStored(uris: string[]): Promise<void> {
    const wanted = uniq(uris)
    if (wanted.length === 0 || !this.deps.fetcher) return
    const stored = new Set((await getPosts(this.deps.db, wanted)).map((r) => r.uri))
    await this.fetchMissing(wanted.filter((u) => !stored.has(u)))
  }

  /**
   * Loads `uris` and everything shown with them (reply parents and roots, quotes three
   * levels deep) in one query. Posts we lack at the first two levels are fetched from their
   * authors' PDSes when `fetch` (then loaded in one more query); whatever is still missing
   * is marked known-missing.
   */
  private async loadPostTree(state: HydrationState, uris: string[], fetch: boolean): Promise<void> {
    if (uris.length === 0) return
    for (const row of await this.rows.postsWithReferences(this.deps.db, uris)) state.posts.set(row.uri, row)
    let wanted = referencedUris(state, uris)
    if (fetch && this.deps.fetcher) {
      const missing = wanted.near.filter((u) => !state.posts.has(u))
      if (missing.length > 0) {
        const fetched = await this.fetchMissing(missing)
        if (fetched.length > 0) {
          for (const row of await this.rows.postsWithReferences(this.deps.db, fetched)) state.posts.set(row.uri, row)
          wanted = referencedUris(state, uris)
        }
      }
    }
    for (const uri of [...wanted.near, ...wanted.far]) if (!state.posts.has(uri)) state.posts.set(uri, null)
  }

  /** Fetches what is neither stored nor deleted; returns the URIs it asked for. */
  private async fetchMissing(missing: string[]): Promise<string[]> {
    if (missing.length === 0 || !this.deps.fetcher) return []
    // Deleted posts stay deleted: never fetch what we hold a tombstone for.
    const deleted = await getTombstoned(this.deps.db, missing)
    const fetchable = missing.filter((u) => !deleted.has(u) && u.includes('/app.bsky.feed.post/'))
    if (fetchable.length > 0) await this.deps.fetcher.fetchPosts(fetchable)
    return fetchable
  }

  /** Authors of every loaded post and repost, their relationship to the viewer, and the
   *  viewer's like/repost of every loaded post. */
  /** Quoted records that are not posts, from the extensions that know them. */
  private async loadEmbedRecords(state: HydrationState): Promise<void> {
    const uris = uniq(
      [...state.posts.values()].map((p) =>
        p?.embed_record_uri && !p.embed_record_uri.includes('/app.bsky.feed.post/') ? p.embed_record_uri : null,
      ),
    ).filter((u) => !state.embedRecords.has(u))
    const sources = this.extensions.filter((e) => e.records)
    if (uris.length === 0 || sources.length === 0) return
    const found = await Promise.all(sources.map((e) => e.records!(state.viewer, uris)))
    for (const uri of uris) state.embedRecords.set(uri, null)
    for (const m of found) for (const [uri, view] of m) state.embedRecords.set(uri, view)
  }

  private async loadActorsAndViewer(state: HydrationState): Promise<void> {
    const dids: string[] = []
    for (const p of state.posts.values()) {
      if (!p) continue
      dids.push(p.author_did)
      // grandparentAuthor: the DID is in the parent's reply ref, no post load needed
      if (p.reply_parent_uri) dids.push(didFromUri(p.reply_parent_uri) ?? '')
      // a quoted generator/list: its creator's block state decides #viewBlocked
      if (p.embed_record_uri) dids.push(didFromUri(p.embed_record_uri) ?? '')
    }
    for (const r of state.reposts.values()) if (r) dids.push(r.author_did)
    const viewer = state.viewer
    const wantedDids = uniq(dids).filter((d) => !state.actors.has(d))
    if (!viewer) return this.loadActors(state, wantedDids)
    const wantedUris = [...state.posts.entries()].filter(([u, p]) => p && !state.postViewers.has(u)).map(([u]) => u)
    // relationships and the viewer's likes/reposts in one round trip (whom the viewer follows
    // from memory when the read API holds it)
    const follows = this.rows.timeline ? await this.rows.timeline.follows(this.deps.db, viewer) : undefined
    // extensions that offer query branches join the viewer-state query (one round trip)
    const branchesFor = (dids: string[], uris: string[]) =>
      this.extensions.map((e) => e.viewerStateBranches?.(viewer, dids, uris, state))
    const branches = branchesFor(wantedDids, wantedUris)
    const query = (dids: string[], uris: string[], bs: typeof branches) =>
      getViewerStateRows(this.deps.db, viewer, dids, uris, follows, bs.filter((b) => b !== undefined).map((b) => b.sql))
    // With the read API's cache, only the accounts and posts it holds no answers for are
    // queried (the viewer's own follows must come from memory then: they are not announced
    // as viewer state). The extensions' branches are built again for just those keys.
    const rows =
      this.rows.viewerStateRows && follows
        ? this.rows.viewerStateRows(viewer, wantedDids, wantedUris, (dids, uris) => query(dids, uris, branchesFor(dids, uris)))
        : query(wantedDids, wantedUris, branches)
    const viewerState = rows.then((r) => viewerStateFromRows(r, wantedDids, follows))
    const relationships = viewerState.then((v) => v.relationships)
    const postStates = viewerState.then((v) => v.posts)
    // Either half may go unused (nothing to load on that side): never an unhandled rejection;
    // the half that is used still sees the error.
    relationships.catch(() => {})
    postStates.catch(() => {})
    const both = branches.map((b) => (b ? viewerState.then((v) => b.collect(v.other)) : undefined))
    for (const b of both) b?.catch(() => {})
    const extProfiles: ExtResults<ProfileViewerState> = this.extensions.map((e, i) =>
      both[i] ? both[i].then((r) => r.profiles) : e.profiles?.(viewer, wantedDids),
    )
    const extPosts: ExtResults<PostViewerState> = this.extensions.map((e, i) =>
      both[i] ? both[i].then((r) => r.posts) : e.posts?.(viewer, wantedUris, state),
    )
    for (const p of [...extProfiles, ...extPosts]) p?.catch(() => {})
    await Promise.all([
      this.loadActors(state, wantedDids, relationships, extProfiles),
      this.loadPostViewer(state, viewer, wantedUris, postStates, extPosts),
    ])
  }

  private async loadActors(
    state: HydrationState,
    dids: string[],
    relationships?: Promise<Map<string, Relationship>>,
    /** the extensions' answers for exactly these DIDs, when the caller already asked */
    extProfiles?: ExtResults<ProfileViewerState>,
  ): Promise<void> {
    const wanted = dids.filter((d) => !state.actors.has(d))
    if (wanted.length === 0) return
    const viewer = state.viewer
    const [rows, rels, ...ext] = await Promise.all([
      this.rows.actors(this.deps.db, wanted),
      viewer ? (relationships ?? getRelationships(this.deps.db, viewer, wanted)) : Promise.resolve(new Map<string, Relationship>()),
      ...(viewer ? (extProfiles ?? this.extensions.map((e) => e.profiles?.(viewer, wanted))) : []),
    ])
    for (const did of wanted) state.actors.set(did, null)
    for (const row of rows) state.actors.set(row.did, row)
    if (this.deps.actorInfo) {
      const unknown = wanted.filter((d) => !state.actors.value(d)?.handle)
      if (unknown.length > 0) {
        const found = await this.deps.actorInfo.complete(unknown, state.actors)
        for (const [did, row] of found) state.actors.set(did, row)
      }
    }
    if (viewer) {
      for (const did of wanted) {
        const merged: ProfileViewerState = { ...(rels.get(did) ?? {}) }
        for (const m of ext) Object.assign(merged, m?.get(did) ?? {})
        state.profileViewers.set(did, merged)
      }
    }
  }

  private async loadPostViewer(
    state: HydrationState,
    viewer: string,
    uris: string[],
    own?: Promise<Map<string, ViewerPostState>>,
    /** the extensions' answers for exactly these URIs, when the caller already asked */
    extPosts?: ExtResults<PostViewerState>,
  ): Promise<void> {
    const wanted = uris.filter((u) => !state.postViewers.has(u))
    if (wanted.length === 0) return
    const [ownStates, ...ext] = await Promise.all([
      own ?? getViewerPostStates(this.deps.db, viewer, wanted),
      ...(extPosts ?? this.extensions.map((e) => e.posts?.(viewer, wanted, state))),
    ])
    for (const uri of wanted) {
      const merged: PostViewerState = { ...(ownStates.get(uri) ?? {}) }
      for (const m of ext) Object.assign(merged, m?.get(uri) ?? {})
      state.postViewers.set(uri, merged)
    }
  }
}

function quotedUri(p: PostRow | undefined): string | null {
  return p?.embed_record_uri?.includes('/app.bsky.feed.post/') ? p.embed_record_uri : null
}

/**
 * What showing `uris` needs: `near` = the posts themselves, their reply parents and roots
 * and the posts they quote (worth fetching when missing); `far` = quotes of those, two
 * levels down (shown when stored).
 */
function referencedUris(state: HydrationState, uris: string[]): { near: string[]; far: string[] } {
  const near: Array<string | null> = [...uris]
  for (const uri of uris) {
    const p = state.posts.value(uri)
    near.push(p?.reply_parent_uri ?? null, p?.reply_root_uri ?? null, quotedUri(p))
  }
  const nearUris = uniq(near)
  const l2 = uniq(nearUris.map((u) => quotedUri(state.posts.value(u))))
  const l3 = uniq(l2.map((u) => quotedUri(state.posts.value(u))))
  const far = uniq([...l2, ...l3]).filter((u) => !nearUris.includes(u))
  return { near: nearUris, far }
}
