// app.bsky.ageassurance.begin: age assurance is Bluesky's regulatory process (KWS); this instance runs none.
// Refused with a clear 400 (never 501): the app shows the message instead of a broken flow.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.ageassurance.begin', {
    auth: 'required',
    handler: async () => {
      throw new InvalidRequestError('Age assurance is not offered by this AppView', 'NotSupported')
    },
  })
}
