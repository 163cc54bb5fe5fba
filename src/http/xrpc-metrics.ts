// Per-method request metrics for the XRPC router: how long calls take and how they end.
// Operators read latency per method from here; the timeline benchmark compares it with what
// its clients saw, which separates time in the server from time queued before it.
import { Histogram, type Registry } from 'prom-client'

// 1 ms … 10 s: a timeline page is a few ms when served from memory, a cold thread with PDS
// fetches can take seconds.
const BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]

export interface XrpcMetrics {
  onCall(nsid: string, status: number, seconds: number): void
}

/**
 * `isKnown` says whether an NSID is served: calls to anything else are counted under
 * "unknown", so a client inventing method names cannot grow the label set without bound.
 */
export function createXrpcMetrics(registry: Registry, isKnown: (nsid: string) => boolean): XrpcMetrics {
  const duration = new Histogram({
    name: 'appview_xrpc_request_duration_seconds',
    help: 'XRPC calls by method and HTTP status: time from routing to the answer being handed to the socket',
    labelNames: ['nsid', 'status'],
    buckets: BUCKETS,
    registers: [registry],
  })
  return {
    onCall(nsid, status, seconds) {
      duration.observe({ nsid: isKnown(nsid) ? nsid : 'unknown', status: String(status) }, seconds)
    },
  }
}
