// app.bsky.graph.getFollows: accounts an actor follows, newest follow first.
import { getFollowsPage } from '../../../../dataplane/graph.js'
import type { ReadContext } from '../../../context.js'
import { registerFollowList } from './follow-list.js'

export default function register(ctx: ReadContext) {
  registerFollowList(ctx, 'app.bsky.graph.getFollows', getFollowsPage, 'follows')
}
