// The processors, keyed by collection: the indexer looks a record's collection up here and
// nothing else in the write path branches on collections.
import { blockProcessor } from './block.js'
import { followProcessor } from './follow.js'
import { likeProcessor } from './like.js'
import { postProcessor } from './post.js'
import type { RecordProcessor } from './processor.js'
import { profileProcessor } from './profile.js'
import { repostProcessor } from './repost.js'

export const PROCESSORS: ReadonlyMap<string, RecordProcessor> = new Map(
  [postProcessor, repostProcessor, likeProcessor, followProcessor, blockProcessor, profileProcessor].map((p) => [
    p.collection,
    p,
  ]),
)

/** The collections the indexer stores (what the Jetstream subscription asks for). */
export const INDEXED_COLLECTIONS = [...PROCESSORS.keys()]
