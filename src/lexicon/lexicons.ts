import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { Lexicons, type LexiconDoc } from '@atproto/lexicon'
import { projectRoot } from '../util/project-root.js'

let cached: Lexicons | undefined

/**
 * The lexicon documents in lexicons/ (the official app.bsky.* and com.atproto.* schemas,
 * written by `npm run lex:sync`). Loaded once per process.
 */
export function loadLexicons(): Lexicons {
  if (cached) return cached
  const docs: LexiconDoc[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.name.endsWith('.json')) docs.push(JSON.parse(readFileSync(full, 'utf8')))
    }
  }
  walk(path.join(projectRoot(), 'lexicons'))
  cached = new Lexicons(docs)
  return cached
}
