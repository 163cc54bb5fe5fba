// app.bsky.contact.verifyPhone: contact import needs Bluesky's phone-verification service (SMS), which a self-hosted AppView does not have.
// Refused with a clear 400 (never 501): the app shows the message instead of a broken flow.
import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../app.js'

export default function register(ctx: AppContext): void {
  ctx.router.add('app.bsky.contact.verifyPhone', {
    auth: 'required',
    handler: async () => {
      throw new InvalidRequestError('Finding contacts by phone number is not offered by this AppView', 'NotSupported')
    },
  })
}
