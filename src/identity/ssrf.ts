// SSRF guard for requests to hosts that come from the network (PDS endpoints in DID
// documents, did:web hosts, handle well-known hosts): only https, and never an address that
// is loopback, private, link-local, unique-local, cloud metadata or otherwise not public
// unicast (IPv4 and IPv6, IPv4-mapped IPv6 unwrapped). The check runs where the socket is
// made — in the DNS lookup the connector uses and again on the connected socket's remote
// address — so a name that resolves to a public address at check time and to 127.0.0.1 at
// connect time (DNS rebinding) is still refused. DEV_LOCAL_NETWORK=true turns it off.
import dns from 'node:dns'
import net from 'node:net'
import ipaddr from 'ipaddr.js'
import { Agent, buildConnector, fetch as undiciFetch, type Dispatcher } from 'undici'

/** A request the guard refused; `reason` is one line for logs and the DID's error state. */
export class SsrfError extends Error {
  override name = 'SsrfError'
}

/** Why `ip` may not be contacted, or undefined when it is public unicast. */
export function forbiddenAddressReason(ip: string): string | undefined {
  if (!ipaddr.isValid(ip)) return `not an IP address: ${ip}`
  let addr = ipaddr.parse(ip)
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6
    if (v6.isIPv4MappedAddress()) addr = v6.toIPv4Address()
  }
  const range = addr.range()
  // Cloud metadata endpoints are link-local (169.254.169.254, fd00:ec2::254 is unique-local),
  // so the range check covers them; named for a clearer message.
  if (addr.kind() === 'ipv4' && addr.toString() === '169.254.169.254') return `${ip} is a cloud metadata address`
  if (range !== 'unicast') return `${ip} is a ${range} address`
  return undefined
}

function assertAllowedAddress(ip: string, host: string): void {
  const reason = forbiddenAddressReason(ip)
  if (reason) throw new SsrfError(`refusing to connect to ${host}: ${reason}`)
}

/** Checks a URL before any connection: scheme and IP-literal hosts. */
export function assertAllowedUrl(url: string | URL): URL {
  let u: URL
  try {
    u = typeof url === 'string' ? new URL(url) : url
  } catch {
    throw new SsrfError(`not a URL: ${String(url)}`)
  }
  if (u.protocol !== 'https:') throw new SsrfError(`refusing ${u.protocol}// URL ${u.origin}: only https is allowed`)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (net.isIP(host)) assertAllowedAddress(host, u.hostname)
  else if (host === 'localhost' || host.endsWith('.localhost')) {
    throw new SsrfError(`refusing to connect to ${u.hostname}: a loopback name`)
  }
  return u
}

/** Why an address may not be contacted (undefined: allowed). Tests substitute their own. */
export type AddressPolicy = (ip: string) => string | undefined

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void

/** A dns.lookup that fails when any resolved address is refused by the policy. */
export function guardedLookup(policy: AddressPolicy = forbiddenAddressReason) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0)
      const list = addresses as dns.LookupAddress[]
      for (const a of list) {
        const reason = policy(a.address)
        if (reason) return callback(new SsrfError(`refusing to connect to ${hostname}: ${reason}`), '', 0)
      }
      if (options.all) return callback(null, list)
      const first = list[0]
      if (!first) return callback(new SsrfError(`${hostname} did not resolve`), '', 0)
      callback(null, first.address, first.family)
    })
  }
}

/**
 * An undici dispatcher that enforces the guard at connect time: the lookup refuses
 * forbidden addresses, and the connected socket's remote address is checked again
 * (covers IP literals, which skip the lookup).
 */
export function createGuardedDispatcher(opts: { connections?: number; policy?: AddressPolicy } = {}): Dispatcher {
  const policy = opts.policy ?? forbiddenAddressReason
  const connector = buildConnector({ lookup: guardedLookup(policy) as never, timeout: 10_000 })
  return new Agent({
    connections: opts.connections,
    connect: (options, callback) => {
      connector(options, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('no socket'), null)
        const remote = socket.remoteAddress
        const reason = remote ? policy(remote) : 'no remote address'
        if (reason) {
          socket.destroy()
          return callback(new SsrfError(`refusing to connect to ${options.hostname}: ${reason}`), null)
        }
        callback(null, socket)
      })
    },
  })
}

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>

/**
 * fetch for network-supplied URLs. With `allowLocal` (DEV_LOCAL_NETWORK) it is plain
 * fetch; otherwise https only, through the guarded dispatcher. Redirects are refused: a
 * redirect could point anywhere and the callers (DID/handle/PDS reads) never need one.
 */
export function createGuardedFetch(opts: { allowLocal: boolean; dispatcher?: Dispatcher }): FetchLike {
  if (opts.allowLocal) {
    return (input, init) => globalThis.fetch(input, { redirect: 'error', ...init })
  }
  const dispatcher = opts.dispatcher ?? createGuardedDispatcher()
  return async (input, init) => {
    assertAllowedUrl(input)
    try {
      const res = await undiciFetch(input, { ...(init as object), redirect: 'error', dispatcher } as never)
      return res as unknown as Response
    } catch (err) {
      // undici wraps connect errors in "fetch failed"; surface the guard's own reason.
      const cause = (err as { cause?: unknown }).cause
      if (cause instanceof SsrfError) throw cause
      throw err
    }
  }
}
