// Writes the official lexicon documents that ship inside @atproto/api into lexicons/,
// one JSON file per NSID (lexicons/app/bsky/feed/getTimeline.json), so the contract we
// validate against is reviewable in the repository and changes with a dependency bump.
// Usage: npm run lex:sync
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { schemas } from '@atproto/api'
import { projectRoot } from '../src/util/project-root.js'

const root = path.join(projectRoot(), 'lexicons')
const wanted = (id: string) => id.startsWith('app.bsky.') || id.startsWith('com.atproto.')

for (const dir of ['app', 'com']) rmSync(path.join(root, dir), { recursive: true, force: true })
let written = 0
for (const doc of schemas) {
  if (!wanted(doc.id)) continue
  const file = path.join(root, ...doc.id.split('.')) + '.json'
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n')
  written++
}
console.log(`wrote ${written} lexicon documents to ${root}`)
