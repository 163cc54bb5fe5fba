// The root of the thread a post belongs to: its stored reply root, else the post itself.
import type { Db } from '../../db/database.js'

export async function threadRootOf(db: Db, uri: string): Promise<string> {
  const row = await db.selectFrom('post').select('reply_root_uri').where('uri', '=', uri).executeTakeFirst()
  return row?.reply_root_uri ?? uri
}
