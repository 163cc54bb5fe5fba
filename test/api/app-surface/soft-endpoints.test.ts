// Everything else the official app calls answers 200 with a body valid against the official
// lexicons (the app drops a whole call on one invalid field), never 501.
import { lexicons } from '@atproto/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../_util/app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
})

// [nsid, query string the app sends]
const CALLS: Array<[string, string]> = [
  ['app.bsky.ageassurance.getState', 'countryCode=US&regionCode=CA'],
  ['app.bsky.unspecced.getAgeAssuranceState', ''],
  ['app.bsky.labeler.getServices', 'dids=did:plc:ar7c4by46qjdydhdevvrndac&detailed=true'],
  ['app.bsky.unspecced.getConfig', ''],
  ['app.bsky.unspecced.getTrends', 'limit=5'],
  ['app.bsky.unspecced.getTrendingTopics', 'limit=14'],
  ['app.bsky.unspecced.getPopularFeedGenerators', 'limit=10'],
  ['app.bsky.unspecced.getSuggestedFeeds', 'limit=10'],
  ['app.bsky.feed.getSuggestedFeeds', 'limit=10'],
  ['app.bsky.actor.getSuggestions', 'limit=25'],
  ['app.bsky.graph.getSuggestedFollowsByActor', 'actor=did:plc:ar7c4by46qjdydhdevvrndac'],
  ['app.bsky.unspecced.getSuggestedUsers', 'limit=25'],
  ['app.bsky.unspecced.getSuggestedUsersForDiscover', 'limit=25'],
  ['app.bsky.unspecced.getSuggestedUsersForExplore', 'limit=25'],
  ['app.bsky.unspecced.getSuggestedUsersForSeeMore', 'limit=25'],
  ['app.bsky.unspecced.getSuggestedOnboardingUsers', 'limit=25'],
  ['app.bsky.unspecced.getSuggestedStarterPacks', 'limit=10'],
  ['app.bsky.unspecced.getOnboardingSuggestedStarterPacks', 'limit=10'],
  ['app.bsky.unspecced.getTaggedSuggestions', ''],
  ['app.bsky.graph.searchStarterPacks', 'q=cats'],
  ['app.bsky.graph.searchStarterPacksV2', 'q=cats'],
  ['app.bsky.ageassurance.getConfig', ''],
  ['app.bsky.graph.getStarterPacksWithMembership', 'actor=did:plc:ar7c4by46qjdydhdevvrndac'],
  ['app.bsky.unspecced.getPostThreadOtherV2', 'anchor=at://did:plc:ar7c4by46qjdydhdevvrndac/app.bsky.feed.post/3k2a'],
  ['app.bsky.contact.getMatches', 'limit=50'],
  ['app.bsky.contact.getSyncStatus', ''],
]

describe('valid answers for the rest of what the app calls', () => {
  it.each(CALLS)('%s answers 200 with a lexicon-valid body', async (nsid, qs) => {
    const res = await t.app.http!.inject({ method: 'GET', url: `/xrpc/${nsid}${qs ? `?${qs}` : ''}` })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json()
    expect(() => lexicons.assertValidXrpcOutput(nsid, body)).not.toThrow()
  })

  it('age assurance reports no process running and full access', async () => {
    const res = await t.app.http!.inject({ url: '/xrpc/app.bsky.ageassurance.getState?countryCode=GB' })
    expect(res.json()).toEqual({ state: { status: 'unknown', access: 'full' }, metadata: {} })
  })

  it('a malformed request is a 400 naming the parameter, not a crash', async () => {
    const res = await t.app.http!.inject({ url: '/xrpc/app.bsky.ageassurance.getState' })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toMatch(/countryCode/)
  })

  it('state-changing calls require authentication', async () => {
    const res = await t.app.http!.inject({
      method: 'POST',
      url: '/xrpc/app.bsky.graph.muteActor',
      payload: { actor: 'did:plc:ar7c4by46qjdydhdevvrndac' },
    })
    expect(res.statusCode).toBe(401)
  })
})
