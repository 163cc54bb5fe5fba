// Shared helpers for the pure view builders: CDN URLs and blob references.

export interface CdnConfig {
  /** e.g. https://cdn.bsky.app/img */
  imageUrl: string
  /** e.g. https://video.bsky.app/watch */
  videoUrl: string
}

export type ImagePreset = 'avatar' | 'banner' | 'feed_thumbnail' | 'feed_fullsize'

export function imageUrl(cdn: CdnConfig, preset: ImagePreset, did: string, cid: string): string {
  return `${cdn.imageUrl}/${preset}/plain/${did}/${cid}@jpeg`
}

export function videoPlaylistUrl(cdn: CdnConfig, did: string, cid: string): string {
  return `${cdn.videoUrl}/${encodeURIComponent(did)}/${cid}/playlist.m3u8`
}

export function videoThumbnailUrl(cdn: CdnConfig, did: string, cid: string): string {
  return `${cdn.videoUrl}/${encodeURIComponent(did)}/${cid}/thumbnail.jpg`
}

/**
 * The CID of a blob reference as stored JSON: {$type:'blob', ref:{$link}} or the legacy
 * {cid, mimeType} form. Undefined for anything else (never a broken URL).
 */
export function blobCid(blob: unknown): string | undefined {
  if (!blob || typeof blob !== 'object') return undefined
  const b = blob as { ref?: unknown; cid?: unknown }
  if (b.ref && typeof b.ref === 'object') {
    const link = (b.ref as { $link?: unknown }).$link
    if (typeof link === 'string' && CID_RE.test(link)) return link
    const str = String(b.ref)
    if (CID_RE.test(str)) return str
  }
  if (typeof b.cid === 'string' && CID_RE.test(b.cid)) return b.cid
  return undefined
}

const CID_RE = /^[a-zA-Z0-9]{8,}$/

export function iso(d: Date | string | null | undefined): string | undefined {
  if (!d) return undefined
  const date = d instanceof Date ? d : new Date(d)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

/** An aspect ratio record field, only when both sides are positive integers. */
export function aspectRatio(v: unknown): { width: number; height: number } | undefined {
  if (!v || typeof v !== 'object') return undefined
  const { width, height } = v as { width?: unknown; height?: unknown }
  if (Number.isInteger(width) && Number.isInteger(height) && (width as number) > 0 && (height as number) > 0) {
    return { width: width as number, height: height as number }
  }
  return undefined
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v)
}
