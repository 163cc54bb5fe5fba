// Concurrency limits for outbound requests: one global semaphore and one per PDS host, so a
// slow PDS cannot take every slot and no PDS gets more than its share at once.

export class Semaphore {
  private active = 0
  private readonly waiters: Array<() => void> = []

  constructor(readonly limit: number) {}

  get inFlight(): number {
    return this.active
  }

  get waiting(): number {
    return this.waiters.length
  }

  async acquire(): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++
    } else {
      // The releasing holder hands its slot straight to us (active stays the same).
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiters.shift()
      if (next) next()
      else this.active--
    }
  }
}

/** Global + per-key semaphores; per-key ones are dropped when idle. */
export class HostLimiter {
  private readonly global: Semaphore
  private readonly perHost = new Map<string, Semaphore>()

  constructor(
    globalLimit: number,
    private readonly perHostLimit: number,
  ) {
    this.global = new Semaphore(globalLimit)
  }

  inFlight(host: string): number {
    return this.perHost.get(host)?.inFlight ?? 0
  }

  /** Runs `fn` holding a per-host slot, then a global slot (per-host first: no global slot idles behind a busy host). */
  async run<T>(host: string, fn: () => Promise<T>): Promise<T> {
    let sem = this.perHost.get(host)
    if (!sem) {
      sem = new Semaphore(this.perHostLimit)
      this.perHost.set(host, sem)
    }
    const releaseHost = await sem.acquire()
    const releaseGlobal = await this.global.acquire()
    try {
      return await fn()
    } finally {
      releaseGlobal()
      releaseHost()
      if (sem.inFlight === 0 && sem.waiting === 0) this.perHost.delete(host)
    }
  }
}
