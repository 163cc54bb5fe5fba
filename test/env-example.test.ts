import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ENV_NAMES, envToConfig } from '../src/config.js'
import { projectRoot } from '../src/util/project-root.js'

// .env.example is the operator's reference: it must list exactly what the service reads,
// each with a comment, and its values must be accepted by the config validation.
describe('.env.example', () => {
  const text = readFileSync(path.join(projectRoot(), '.env.example'), 'utf8')
  const lines = text.split('\n')
  const assignments = new Map<string, string>()
  lines.forEach((line, i) => {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line)
    if (m) {
      assignments.set(m[1], m[2])
      expect(lines[i - 1], `${m[1]} needs a comment line above it`).toMatch(/^# \S/)
    }
  })

  it('lists every variable the service reads, and nothing else', () => {
    expect([...assignments.keys()].sort()).toEqual([...ENV_NAMES].sort())
  })

  it('holds values the config accepts', () => {
    const raw = Object.fromEntries([...assignments].filter(([, v]) => v !== ''))
    expect(() => envToConfig(raw)).not.toThrow()
  })
})
