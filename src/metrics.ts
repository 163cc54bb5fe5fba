import { Registry, collectDefaultMetrics } from 'prom-client'

/**
 * One Prometheus registry per App instance (tests run several apps in one process, so the
 * global registry would collide). Subsystems register their own metrics on `registry`.
 */
export class Metrics {
  readonly registry = new Registry()

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'appview_' })
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
