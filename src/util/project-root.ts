import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

/**
 * The folder holding package.json, migrations/ and lexicons/. Found by walking up from
 * this file so it is the same whether we run from src/ (tsx, vitest) or dist/src/ (tsc).
 */
export function projectRoot(): string {
  if (cached) return cached
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!existsSync(path.join(dir, 'migrations'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('cannot find the project root (a folder with migrations/)')
    dir = parent
  }
  cached = dir
  return dir
}
