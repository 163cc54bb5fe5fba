// Registers everything the app-surface module serves (issue 6): notifications, custom
// feeds, mutes/blocks state, bookmarks, preferences, search, and the valid answers for the
// rest of what the official app calls, plus the abuse limits for every XRPC call.
// One line per NSID; each file is named after its NSID.
import type { AppContext } from '../app.js'
import { Feeds } from '../feeds/feeds.js'
import { GeneratorRecords } from '../feeds/generator-records.js'
import { appSurfaceViewerState } from '../state/viewer-extension.js'
import type { SurfaceContext } from './app-surface/context.js'
import { RateLimiter } from './rate-limit.js'
import getPreferences from './app/bsky/actor/getPreferences.js'
import searchActors from './app/bsky/actor/searchActors.js'
import searchActorsTypeahead from './app/bsky/actor/searchActorsTypeahead.js'
import getBookmarks from './app/bsky/bookmark/getBookmarks.js'
import getActorFeeds from './app/bsky/feed/getActorFeeds.js'
import getFeed from './app/bsky/feed/getFeed.js'
import getFeedGenerator from './app/bsky/feed/getFeedGenerator.js'
import getFeedGenerators from './app/bsky/feed/getFeedGenerators.js'
import getListFeed from './app/bsky/feed/getListFeed.js'
import searchPosts from './app/bsky/feed/searchPosts.js'
import searchPostsV2 from './app/bsky/feed/searchPostsV2.js'
import getActorStarterPacks from './app/bsky/graph/getActorStarterPacks.js'
import getBlocks from './app/bsky/graph/getBlocks.js'
import getList from './app/bsky/graph/getList.js'
import getListBlocks from './app/bsky/graph/getListBlocks.js'
import getListMutes from './app/bsky/graph/getListMutes.js'
import getLists from './app/bsky/graph/getLists.js'
import getListsWithMembership from './app/bsky/graph/getListsWithMembership.js'
import getStarterPack from './app/bsky/graph/getStarterPack.js'
import getStarterPacks from './app/bsky/graph/getStarterPacks.js'
import getKnownFollowers from './app/bsky/graph/getKnownFollowers.js'
import getMutes from './app/bsky/graph/getMutes.js'
import getRelationships from './app/bsky/graph/getRelationships.js'
import getUnreadCount from './app/bsky/notification/getUnreadCount.js'
import listActivitySubscriptions from './app/bsky/notification/listActivitySubscriptions.js'
import listNotifications from './app/bsky/notification/listNotifications.js'
import getSuggestions from './app/bsky/actor/getSuggestions.js'
import putPreferences from './app/bsky/actor/putPreferences.js'
import ageAssuranceGetState from './app/bsky/ageassurance/getState.js'
import createBookmark from './app/bsky/bookmark/createBookmark.js'
import deleteBookmark from './app/bsky/bookmark/deleteBookmark.js'
import contactGetMatches from './app/bsky/contact/getMatches.js'
import contactGetSyncStatus from './app/bsky/contact/getSyncStatus.js'
import feedGetSuggestedFeeds from './app/bsky/feed/getSuggestedFeeds.js'
import getStarterPacksWithMembership from './app/bsky/graph/getStarterPacksWithMembership.js'
import getSuggestedFollowsByActor from './app/bsky/graph/getSuggestedFollowsByActor.js'
import muteActor from './app/bsky/graph/muteActor.js'
import muteActorList from './app/bsky/graph/muteActorList.js'
import muteThread from './app/bsky/graph/muteThread.js'
import searchStarterPacks from './app/bsky/graph/searchStarterPacks.js'
import unmuteActor from './app/bsky/graph/unmuteActor.js'
import unmuteActorList from './app/bsky/graph/unmuteActorList.js'
import unmuteThread from './app/bsky/graph/unmuteThread.js'
import labelerGetServices from './app/bsky/labeler/getServices.js'
import notifGetPreferences from './app/bsky/notification/getPreferences.js'
import putActivitySubscription from './app/bsky/notification/putActivitySubscription.js'
import notifPutPreferences from './app/bsky/notification/putPreferences.js'
import notifPutPreferencesV2 from './app/bsky/notification/putPreferencesV2.js'
import registerPush from './app/bsky/notification/registerPush.js'
import unregisterPush from './app/bsky/notification/unregisterPush.js'
import updateSeen from './app/bsky/notification/updateSeen.js'
import ageAssuranceBegin from './app/bsky/ageassurance/begin.js'
import ageAssuranceGetConfig from './app/bsky/ageassurance/getConfig.js'
import contactDismissMatch from './app/bsky/contact/dismissMatch.js'
import contactImportContacts from './app/bsky/contact/importContacts.js'
import contactRemoveData from './app/bsky/contact/removeData.js'
import contactSendNotification from './app/bsky/contact/sendNotification.js'
import contactStartPhoneVerification from './app/bsky/contact/startPhoneVerification.js'
import contactVerifyPhone from './app/bsky/contact/verifyPhone.js'
import createDraft from './app/bsky/draft/createDraft.js'
import deleteDraft from './app/bsky/draft/deleteDraft.js'
import getDrafts from './app/bsky/draft/getDrafts.js'
import updateDraft from './app/bsky/draft/updateDraft.js'
import searchStarterPacksV2 from './app/bsky/graph/searchStarterPacksV2.js'
import getAgeAssuranceState from './app/bsky/unspecced/getAgeAssuranceState.js'
import unspeccedGetConfig from './app/bsky/unspecced/getConfig.js'
import getOnboardingSuggestedStarterPacks from './app/bsky/unspecced/getOnboardingSuggestedStarterPacks.js'
import getPopularFeedGenerators from './app/bsky/unspecced/getPopularFeedGenerators.js'
import getPostThreadOtherV2 from './app/bsky/unspecced/getPostThreadOtherV2.js'
import unspeccedGetSuggestedFeeds from './app/bsky/unspecced/getSuggestedFeeds.js'
import getSuggestedOnboardingUsers from './app/bsky/unspecced/getSuggestedOnboardingUsers.js'
import getSuggestedStarterPacks from './app/bsky/unspecced/getSuggestedStarterPacks.js'
import getSuggestedUsers from './app/bsky/unspecced/getSuggestedUsers.js'
import getSuggestedUsersForDiscover from './app/bsky/unspecced/getSuggestedUsersForDiscover.js'
import getSuggestedUsersForExplore from './app/bsky/unspecced/getSuggestedUsersForExplore.js'
import getSuggestedUsersForSeeMore from './app/bsky/unspecced/getSuggestedUsersForSeeMore.js'
import getTaggedSuggestions from './app/bsky/unspecced/getTaggedSuggestions.js'
import getTrendingTopics from './app/bsky/unspecced/getTrendingTopics.js'
import getTrends from './app/bsky/unspecced/getTrends.js'

const HANDLERS: Array<(ctx: AppContext) => void> = [
  // per-user state: mutes, bookmarks, preferences
  muteActor,
  unmuteActor,
  unmuteActorList,
  muteThread,
  unmuteThread,
  createBookmark,
  deleteBookmark,
  createDraft,
  updateDraft,
  deleteDraft,
  getDrafts,
  getPreferences,
  putPreferences,
  // notifications
  notifGetPreferences,
  notifPutPreferences,
  notifPutPreferencesV2,
  putActivitySubscription,
  updateSeen,
  registerPush,
  unregisterPush,
  // valid answers for the rest the app calls (empty by design: see each file)
  ageAssuranceGetState,
  getAgeAssuranceState,
  labelerGetServices,
  unspeccedGetConfig,
  getPostThreadOtherV2,
  getTrends,
  getTrendingTopics,
  getPopularFeedGenerators,
  unspeccedGetSuggestedFeeds,
  feedGetSuggestedFeeds,
  getSuggestions,
  getSuggestedFollowsByActor,
  getSuggestedUsers,
  getSuggestedUsersForDiscover,
  getSuggestedUsersForExplore,
  getSuggestedUsersForSeeMore,
  getSuggestedOnboardingUsers,
  getSuggestedStarterPacks,
  getOnboardingSuggestedStarterPacks,
  getTaggedSuggestions,
  searchStarterPacks,
  getStarterPacksWithMembership,
  searchStarterPacksV2,
  contactGetMatches,
  contactGetSyncStatus,
  contactRemoveData,
  contactDismissMatch,
  ageAssuranceGetConfig,
  // refused with a clear 400: services only Bluesky runs (phone verification, KWS)
  contactStartPhoneVerification,
  contactVerifyPhone,
  contactImportContacts,
  contactSendNotification,
  ageAssuranceBegin,
]

// Handlers that read through the hydrator and views (skeleton → hydrate → rules → present).
const READ_HANDLERS: Array<(ctx: SurfaceContext) => void> = [
  // notifications
  listNotifications,
  getUnreadCount,
  listActivitySubscriptions,
  // custom feeds
  getFeedGenerators,
  getFeedGenerator,
  getFeed,
  // records we read from repos: lists, feeds and starter packs of an account
  getActorFeeds,
  getLists,
  getList,
  getListFeed,
  getListsWithMembership,
  getListMutes,
  getListBlocks,
  getActorStarterPacks,
  getStarterPack,
  getStarterPacks,
  // moderation state and the graph
  muteActorList,
  getMutes,
  getBlocks,
  getRelationships,
  getKnownFollowers,
  getBookmarks,
  // search
  searchActors,
  searchActorsTypeahead,
  searchPosts,
  searchPostsV2,
]

export function registerAppSurface(ctx: AppContext): void {
  const limiter = new RateLimiter({
    cfg: ctx.cfg.rateLimit,
    redis: ctx.redis,
    log: ctx.log.child({ component: 'rate-limit' }),
    metrics: ctx.metrics,
    prefix: `ratelimit:${ctx.cfg.db.schema}`,
  })
  ctx.router.addGuard(limiter.guard())
  for (const register of HANDLERS) register(ctx)

  // viewer.muted on profiles, viewer.bookmarked / threadMuted on posts, for every read view
  // (on the hydrator's read pool: prepared statements, one query per side per request)
  ctx.hydrator.extend(appSurfaceViewerState(ctx.hydrator.db))
  const records = new GeneratorRecords({
    redis: ctx.redis,
    fetcher: ctx.pds,
    log: ctx.log.child({ component: 'feedgen' }),
    timeoutMs: ctx.cfg.feedGen.timeoutMs,
    prefix: `feedgen:${ctx.cfg.db.schema}`,
  })
  const surface: SurfaceContext = {
    cfg: ctx.cfg,
    db: ctx.db.db,
    router: ctx.router,
    hydrator: ctx.hydrator,
    views: ctx.views,
    resolveHandle: (handle) => ctx.identity.resolveHandle(handle),
    getRemoteRecord: (uri) => ctx.pds.getRecord(uri),
    pds: ctx.pds,
    log: ctx.log.child({ component: 'app-surface' }),
    feeds: new Feeds({
      records,
      identity: ctx.identity,
      log: ctx.log.child({ component: 'feedgen' }),
      metrics: ctx.metrics,
      timeoutMs: ctx.cfg.feedGen.timeoutMs,
    }),
  }
  for (const register of READ_HANDLERS) register(surface)
}
