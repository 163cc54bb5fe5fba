import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'

/**
 * did:web document for this service. The PDS resolves it to route `atproto-proxy:
 * <did>#bsky_appview` requests here; `#bsky_notif` is what registerPush looks up.
 */
export function didDocument(service: Config['service']) {
  return {
    '@context': ['https://www.w3.org/ns/did/v1'],
    id: service.did,
    service: [
      { id: '#bsky_appview', type: 'BskyAppView', serviceEndpoint: service.url },
      { id: '#bsky_notif', type: 'BskyNotificationService', serviceEndpoint: service.url },
    ],
  }
}

export function registerDidDocumentRoute(app: FastifyInstance, service: Config['service']): void {
  const doc = didDocument(service)
  app.get('/.well-known/did.json', async () => doc)
}
