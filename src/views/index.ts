// Views: the pure presentation layer, bound to the CDN configuration. Every method reads
// only the HydrationState it is given. Domain files: actor, post, embed, feed, thread.
import type { HydrationState } from '../hydration/state.js'
import * as actor from './actor.js'
import * as embed from './embed.js'
import * as feed from './feed.js'
import * as post from './post.js'
import * as thread from './thread.js'
import type { CdnConfig } from './util.js'

export type { CdnConfig } from './util.js'
export type { FeedItemInput } from './feed.js'
export type { ThreadSkeleton, ThreadV2Opts, ReplySort } from './thread.js'

export class Views {
  constructor(readonly cdn: CdnConfig) {}

  private input(state: HydrationState) {
    return { state, cdn: this.cdn }
  }

  profileViewBasic(state: HydrationState, did: string) {
    return actor.profileViewBasic(this.input(state), did)
  }
  profileView(state: HydrationState, did: string) {
    return actor.profileView(this.input(state), did)
  }
  profileViewDetailed(state: HydrationState, did: string) {
    return actor.profileViewDetailed(this.input(state), did)
  }
  /** Whether the actor's content may be shown (status active). */
  actorIsActive(state: HydrationState, did: string) {
    return actor.actorIsActive(state, did)
  }
  /** The viewer and the actor block each other in either direction. */
  isBlocked(state: HydrationState, did: string) {
    return actor.isBlocked(state, did)
  }
  postView(state: HydrationState, uri: string) {
    return post.postView(this.input(state), uri)
  }
  embedView(state: HydrationState, did: string, embedRecord: unknown) {
    return embed.embedView(this.input(state), did, embedRecord)
  }
  feedViewPost(state: HydrationState, item: feed.FeedItemInput) {
    return feed.feedViewPost(this.input(state), item)
  }
  replyRef(state: HydrationState, uri: string) {
    return feed.replyRef(this.input(state), uri)
  }
  threadV1(state: HydrationState, skel: thread.ThreadSkeleton, depth: number) {
    return thread.threadV1(this.input(state), skel, depth)
  }
  threadV2(state: HydrationState, skel: thread.ThreadSkeleton, opts: thread.ThreadV2Opts) {
    return thread.threadV2(this.input(state), skel, opts)
  }
}
