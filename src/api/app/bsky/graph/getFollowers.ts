// app.bsky.graph.getFollowers: accounts following an actor, newest follow first.
import { getFollowersPage } from '../../../../dataplane/graph.js'
import type { ReadContext } from '../../../context.js'
import { registerFollowList } from './follow-list.js'

export default function register(ctx: ReadContext) {
  registerFollowList(ctx, 'app.bsky.graph.getFollowers', getFollowersPage, 'followers')
}
