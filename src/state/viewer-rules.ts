// The moderation rules a viewer's reads apply: muted accounts and threads are hidden from
// timelines, threads and notifications; blocked accounts (either direction) are hidden, and a
// blocked reply parent/root is shown as #blockedPost. One batched load per request; the
// read pipelines (timeline, threads, notifications, search) call `loadViewerRules` with the
// actors and thread roots of their skeleton and filter with the returned object.
import type { Db } from '../db/database.js'
import { mutedActorsAmong, mutedThreadsAmong } from './mutes.js'

export class ViewerRules {
  constructor(
    readonly viewer: string | null,
    /** Accounts the viewer muted. */
    readonly mutedActors: ReadonlySet<string>,
    /** Accounts the viewer blocks → the block record's uri (viewer.blocking). */
    readonly blocking: ReadonlyMap<string, string>,
    /** Accounts that block the viewer (viewer.blockedBy). */
    readonly blockedBy: ReadonlySet<string>,
    /** Thread roots the viewer muted. */
    readonly mutedThreads: ReadonlySet<string>,
  ) {}

  static none(): ViewerRules {
    return new ViewerRules(null, new Set(), new Map(), new Set(), new Set())
  }

  isMuted(did: string): boolean {
    return this.mutedActors.has(did)
  }

  /** A block in either direction between the viewer and `did`. */
  isBlocked(did: string): boolean {
    return this.blocking.has(did) || this.blockedBy.has(did)
  }

  /** Content by `did` is left out of timelines, notifications and reply lists. */
  hidesAuthor(did: string): boolean {
    if (did === this.viewer) return false
    return this.isMuted(did) || this.isBlocked(did)
  }

  /** A reply or post under this thread root is left out of timelines and notifications. */
  isThreadMuted(rootUri: string | null | undefined): boolean {
    return !!rootUri && this.mutedThreads.has(rootUri)
  }
}

/**
 * Loads the rules between `viewer` and the given accounts / thread roots (batched: three
 * indexed queries whatever the count). No viewer → no rules.
 */
export async function loadViewerRules(
  db: Db,
  viewer: string | null | undefined,
  subjects: { actors?: Iterable<string>; threadRoots?: Iterable<string> } = {},
): Promise<ViewerRules> {
  if (!viewer) return ViewerRules.none()
  const actors = [...new Set(subjects.actors ?? [])].filter((d) => d !== viewer)
  const roots = [...new Set(subjects.threadRoots ?? [])]
  const [muted, blocking, blockedBy, threads] = await Promise.all([
    mutedActorsAmong(db, viewer, actors),
    actors.length
      ? db
          .selectFrom('block')
          .select(['subject_did', 'uri'])
          .where('author_did', '=', viewer)
          .where('subject_did', 'in', actors)
          .execute()
      : Promise.resolve([]),
    actors.length
      ? db
          .selectFrom('block')
          .select('author_did')
          .where('subject_did', '=', viewer)
          .where('author_did', 'in', actors)
          .execute()
      : Promise.resolve([]),
    mutedThreadsAmong(db, viewer, roots),
  ])
  return new ViewerRules(
    viewer,
    muted,
    new Map(blocking.map((r) => [r.subject_did, r.uri])),
    new Set(blockedBy.map((r) => r.author_did)),
    threads,
  )
}
