/**
 * `p`, or a rejection "no answer within <ms> ms" once `ms` have passed. The timer is always
 * cleared, so a settled race never keeps the process alive. `p` itself is not cancelled.
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
