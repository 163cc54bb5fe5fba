// Errors that cross module boundaries. XRPC errors themselves are @atproto/xrpc-server's
// classes (InvalidRequestError, AuthRequiredError, …): handlers throw them and the HTTP
// layer turns them into {"error","message"} bodies with their status.

/**
 * A dependency we cannot start without (Postgres, Redis). The message is one line an
 * operator can act on; bin.ts prints it and exits non-zero without a stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError'
}

/** Postgres/Redis URLs with the password removed, safe to print. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorMessage(err.errors[0])
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name
  return String(err)
}
