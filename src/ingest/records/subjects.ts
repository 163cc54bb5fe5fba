// What a record points at, read straight from its JSON. Shared by the live filter (does this
// event touch a local user?) and the processors (whom to notify, which counters to move), so
// both always agree. Everything here is defensive: the filter runs before validation.

/** The DID of an at:// URI (at://<did>/…), or undefined when it does not start with one. */
export function didOfUri(uri: unknown): string | undefined {
  if (typeof uri !== 'string' || !uri.startsWith('at://did:')) return undefined
  const end = uri.indexOf('/', 5)
  return end === -1 ? uri.slice(5) : uri.slice(5, end)
}

/** The collection of an at:// URI, or undefined. */
export function collectionOfUri(uri: string): string | undefined {
  const parts = uri.slice(5).split('/')
  return parts.length >= 2 ? parts[1] : undefined
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
}

/** like / repost: subject is a strong ref. */
export function strongRefUri(record: unknown): string | undefined {
  const uri = obj(obj(record)?.subject)?.uri
  return typeof uri === 'string' ? uri : undefined
}

/** follow / block: subject is a DID. */
export function subjectDid(record: unknown): string | undefined {
  const s = obj(record)?.subject
  return typeof s === 'string' ? s : undefined
}

export interface PostRefs {
  replyRootUri?: string
  replyParentUri?: string
  /** The record embedded by a quote (app.bsky.embed.record or recordWithMedia). */
  quotedUri?: string
  /** DIDs mentioned through app.bsky.richtext.facet#mention. */
  mentions: string[]
}

const EMBED_RECORD = 'app.bsky.embed.record'
const EMBED_RECORD_WITH_MEDIA = 'app.bsky.embed.recordWithMedia'
const FACET_MENTION = 'app.bsky.richtext.facet#mention'

export function postRefs(record: unknown): PostRefs {
  const r = obj(record)
  const reply = obj(r?.reply)
  const embed = obj(r?.embed)
  let quoted: unknown
  if (embed?.$type === EMBED_RECORD) quoted = obj(embed.record)?.uri
  else if (embed?.$type === EMBED_RECORD_WITH_MEDIA) quoted = obj(obj(embed.record)?.record)?.uri
  const mentions: string[] = []
  if (Array.isArray(r?.facets)) {
    for (const facet of r.facets) {
      const features = obj(facet)?.features
      if (!Array.isArray(features)) continue
      for (const f of features) {
        const feature = obj(f)
        if (feature?.$type === FACET_MENTION && typeof feature.did === 'string') mentions.push(feature.did)
      }
    }
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
  return {
    replyRootUri: str(obj(reply?.root)?.uri),
    replyParentUri: str(obj(reply?.parent)?.uri),
    quotedUri: str(quoted),
    mentions,
  }
}

/** Every DID a post points at: parent and root authors, the quoted author, mentions. */
export function postTouchedDids(record: unknown): string[] {
  const refs = postRefs(record)
  const dids = [...refs.mentions]
  for (const uri of [refs.replyParentUri, refs.replyRootUri, refs.quotedUri]) {
    const did = didOfUri(uri)
    if (did) dids.push(did)
  }
  return dids
}
