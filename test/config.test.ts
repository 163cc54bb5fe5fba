import { describe, expect, it } from 'vitest'
import { ConfigError, envToConfig, readEnv } from '../src/config.js'

describe('config', () => {
  it('applies the contract defaults', () => {
    const cfg = envToConfig({})
    expect(cfg.http).toEqual({ port: 2584, host: '0.0.0.0' })
    expect(cfg.db.url).toBe('postgres://localhost:5432/appview')
    expect(cfg.redis.url).toBe('redis://127.0.0.1:6379')
    expect(cfg.service.url).toBe('http://localhost:2584')
    expect(cfg.service.did).toBe('did:web:localhost%3A2584')
    expect(cfg.identity.plcUrl).toBe('https://plc.directory')
    expect(cfg.jetstream.retentionHours).toBe(24)
    expect(cfg.jetstream.urls.length).toBeGreaterThan(1)
    expect(cfg.backfill.days).toBe(30)
    expect([...cfg.roles]).toEqual(['api', 'ingest', 'backfill'])
    expect(cfg.admission).toEqual({ registration: 'open', allowedDids: [], maxUsers: 1000 })
    expect(cfg.service.extraAudiences).toEqual([])
    expect(cfg.devLocalNetwork).toBe(false)
  })

  it('derives APPVIEW_DID from APPVIEW_URL and keeps an explicit one', () => {
    expect(envToConfig({ APPVIEW_URL: 'https://appview.example.com/' }).service).toMatchObject({
      did: 'did:web:appview.example.com',
      url: 'https://appview.example.com',
    })
    expect(envToConfig({ APPVIEW_DID: 'did:web:other.example' }).service.did).toBe('did:web:other.example')
  })

  it('reads comma-separated lists', () => {
    const cfg = envToConfig({
      JETSTREAM_URL: 'ws://127.0.0.1:1/subscribe, ws://127.0.0.1:2/subscribe',
      ROLES: 'api,backfill',
      ALLOWED_DIDS: 'did:plc:a,did:plc:b',
      EXTRA_AUDIENCES: 'did:web:api.bsky.app',
    })
    expect(cfg.jetstream.urls).toEqual(['ws://127.0.0.1:1/subscribe', 'ws://127.0.0.1:2/subscribe'])
    expect([...cfg.roles]).toEqual(['api', 'backfill'])
    expect(cfg.admission.allowedDids).toEqual(['did:plc:a', 'did:plc:b'])
    expect(cfg.service.extraAudiences).toEqual(['did:web:api.bsky.app'])
  })

  it.each([
    [{ PORT: 'eighty' }, 'PORT', /whole number/],
    [{ PORT: '70000' }, 'PORT', /from 0 to 65535/],
    [{ ROLES: 'api,web' }, 'ROLES', /api,ingest,backfill/],
    [{ REGISTRATION: 'closed' }, 'REGISTRATION', /open or allowlist/],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /postgres:\/\//],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL', /redis:\/\//],
    [{ JETSTREAM_URL: 'https://jetstream.example/subscribe' }, 'JETSTREAM_URL', /ws:\/\/ or wss:\/\//],
    [{ DEV_LOCAL_NETWORK: 'maybe' }, 'DEV_LOCAL_NETWORK', /true or false/],
    [{ BACKFILL_DAYS: '-1' }, 'BACKFILL_DAYS', /from 0/],
    [{ ALLOWED_DIDS: 'alice.example.com' }, 'ALLOWED_DIDS', /DIDs/],
    [{ PLC_URL: 'plc.directory' }, 'PLC_URL', /http\(s\) URL/],
  ] as const)('rejects %o naming the variable and the expected form', (env, variable, form) => {
    let caught: unknown
    try {
      envToConfig(env)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect((caught as ConfigError).variable).toBe(variable)
    expect((caught as ConfigError).message).toMatch(new RegExp(`^${variable}: `))
    expect((caught as ConfigError).message).toMatch(form)
  })

  it('reads only known variables and ignores blank ones', () => {
    const raw = readEnv({ PORT: '3000', HOST: '  ', UNRELATED: 'x' })
    expect(raw).toEqual({ PORT: '3000' })
  })
})
