// Keyed hydration maps. A key mapped to `null` was looked up and is known to be missing
// (deleted, never existed, hidden); a key that is absent was never loaded. Views treat the
// two differently: known-missing becomes #notFoundPost, never-loaded is a bug upstream.

export class HydrationMap<K, T> extends Map<K, T | null> {
  /** Copies every entry of `other` into this map (later loads win) and returns this. */
  merge(other: Map<K, T | null> | undefined): this {
    if (other) for (const [k, v] of other) this.set(k, v)
    return this
  }

  /** The value, or undefined when missing or never loaded. */
  value(key: K): T | undefined {
    return this.get(key) ?? undefined
  }
}

/** Distinct, non-empty values, in first-seen order. */
export function uniq<T>(values: Iterable<T | null | undefined>): T[] {
  const seen = new Set<T>()
  for (const v of values) if (v !== null && v !== undefined && v !== '') seen.add(v)
  return [...seen]
}

/** The repo DID of an at:// URI (at://<did>/<collection>/<rkey>), or undefined. */
export function didFromUri(uri: string): string | undefined {
  if (!uri.startsWith('at://')) return undefined
  const did = uri.slice(5).split('/')[0]
  return did && did.startsWith('did:') ? did : undefined
}
