// Viewer state held by the app-surface module, plugged into the read API's hydrator
// (Hydrator.extend): profile viewer.muted and viewer.activitySubscription, post
// viewer.bookmarked and viewer.threadMuted.
//
// No query of its own on a feed page: its branches join the hydrator's viewer-state query
// (one round trip for all of the viewer's state); alone (profiles or posts only) it is one
// query. Fixed SQL text (arrays as `= any`) so the read pool prepares it once per connection
// (see src/dataplane/read-db.ts). It used to be five unprepared queries; on the timeline
// benchmark planning them cost more than running them.
import { type RawBuilder, sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { ViewerStateBranches, ViewerStateExtension, ViewerStateRow } from '../hydration/hydrator.js'
import type { HydrationState, PostViewerState, ProfileViewerState } from '../hydration/state.js'

/** `db`: the read pool (Hydrator.db), so the statement is prepared. */
export function appSurfaceViewerState(db: Db): ViewerStateExtension {
  return {
    viewerStateBranches: (viewer, dids, uris, state) => viewerStateBranches(viewer, dids, uris, state),
    profiles: async (viewer, dids) => (await loadViewerState(db, viewer, dids, [])).profiles,
    posts: async (viewer, uris, state) => (await loadViewerState(db, viewer, [], uris, state)).posts,
  }
}

/**
 * Both sides in one round trip (a side asked with no keys costs nothing): profiles muted
 * directly or through a muted list, activity subscriptions; posts bookmarked, threads muted.
 */
async function loadViewerState(db: Db, viewer: string, dids: string[], uris: string[], state?: HydrationState) {
  const branches = viewerStateBranches(viewer, dids, uris, state)
  if (dids.length === 0 && uris.length === 0) return branches.collect([])
  const res = await sql<ViewerStateRow>`select * from (${branches.sql}) s`.execute(db)
  return branches.collect(res.rows)
}

/**
 * The query's union-all branches, rows (kind, key, uri, post, reply), and how their rows
 * become viewer state: the hydrator may append them to its own viewer-state query, so a
 * feed page asks Postgres once for all of the viewer's state.
 */
function viewerStateBranches(viewer: string, dids: string[], uris: string[], state?: HydrationState): ViewerStateBranches {
  // A thread is muted by its root: the root itself and every reply under it. The roots of
  // posts the hydrator loaded are known (null in `roots` = look it up; posts we do not store
  // can only be muted as roots).
  const roots = uris.map((uri) => knownRoot(state, uri))
  const query: RawBuilder<ViewerStateRow> = sql`
    select 'muted'::text as kind, subject_did::text as key, null::text as uri, null::boolean as post, null::boolean as reply
      from mute_actor where muter_did = ${viewer} and subject_did = any(${dids}::text[])
    union all
    select 'muted', subject_did, null, null, null
      from mute_list_member where muter_did = ${viewer} and subject_did = any(${dids}::text[])
    union all
    select 'subscribed', subject_did, null, post, reply
      from activity_subscription where subscriber_did = ${viewer} and subject_did = any(${dids}::text[])
    union all
    select 'bookmarked', subject_uri, null, null, null
      from bookmark where owner_did = ${viewer} and subject_uri = any(${uris}::text[])
    union all
    select 'threadMuted', u.uri, null, null, null
      from unnest(${uris}::text[], ${roots}::text[]) u(uri, root)
      join mute_thread mt on mt.muter_did = ${viewer} and mt.root_uri = coalesce(
        u.root, (select p.reply_root_uri from post p where p.uri = u.uri), u.uri)`
  return { sql: query, collect: (rows) => collect(rows, dids, uris) }
}

function collect(rows: ViewerStateRow[], dids: string[], uris: string[]) {
  const profiles = new Map<string, Partial<ProfileViewerState>>()
  const posts = new Map<string, Partial<PostViewerState>>()
  for (const did of dids) profiles.set(did, { muted: false })
  for (const uri of uris) posts.set(uri, { bookmarked: false, threadMuted: false })
  for (const row of rows) {
    if (row.kind === 'muted' || row.kind === 'subscribed') {
      const view = profiles.get(row.key) ?? { muted: false }
      if (row.kind === 'muted') view.muted = true
      else view.activitySubscription = { post: row.post === true, reply: row.reply === true }
      profiles.set(row.key, view)
    } else if (row.kind === 'bookmarked' || row.kind === 'threadMuted') {
      const view = posts.get(row.key)
      if (view) view[row.kind] = true
    }
  }
  return { profiles, posts }
}

/** The thread root of a loaded post (itself when it is not a reply); null when not loaded. */
function knownRoot(state: HydrationState | undefined, uri: string): string | null {
  const row = state?.posts.value(uri)
  if (!row) return null
  return row.reply_root_uri ?? uri
}
