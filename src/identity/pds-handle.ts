// DEV_LOCAL_NETWORK only: `*.test` handles have neither DNS nor a reachable
// https://<handle>/.well-known/atproto-did, but the PDS that hosts them answers that path
// when asked with `Host: <handle>` (PROTOCOL.md §C). fetch() drops a custom Host header,
// hence node:http.
import http from 'node:http'
import https from 'node:https'

const DID_RE = /^did:[a-z]+:[a-zA-Z0-9._:%-]+$/

/** The DID the PDS at `pdsUrl` says `handle` belongs to, or undefined. */
export function resolveHandleViaPds(pdsUrl: string, handle: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let u: URL
    try {
      u = new URL('/.well-known/atproto-did', pdsUrl)
    } catch {
      return resolve(undefined)
    }
    const lib = u.protocol === 'https:' ? https : http
    const req = lib.request(
      u,
      { method: 'GET', headers: { host: handle, accept: 'text/plain' }, timeout: timeoutMs },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume()
          return resolve(undefined)
        }
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
          if (body.length > 2048) req.destroy()
        })
        res.on('end', () => {
          const did = body.trim()
          resolve(DID_RE.test(did) ? did : undefined)
        })
        res.on('error', () => resolve(undefined))
      },
    )
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
    req.end()
  })
}
