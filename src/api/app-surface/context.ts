// What the app-surface read handlers use: the read API's context plus the custom-feed
// machinery (generator records, services, skeleton calls).
import type { Feeds } from '../../feeds/feeds.js'
import type { ReadContext } from '../context.js'

export interface SurfaceContext extends ReadContext {
  feeds: Feeds
}
