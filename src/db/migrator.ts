import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { sql, type Kysely } from 'kysely'
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration'
import { projectRoot } from '../util/project-root.js'

/**
 * Forward-only SQL migrations from migrations/NNNN_name.sql, applied in name order.
 * Kysely's migrator records what ran (in the configured schema) and takes a lock, so two
 * processes starting together apply each file once.
 */
export class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir = path.join(projectRoot(), 'migrations')) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {}
    for (const file of readdirSync(this.dir).filter((f) => f.endsWith('.sql')).sort()) {
      const text = readFileSync(path.join(this.dir, file), 'utf8')
      migrations[file.replace(/\.sql$/, '')] = {
        up: async (db: Kysely<any>) => {
          await sql.raw(text).execute(db)
        },
      }
    }
    return migrations
  }
}

export function createMigrator(db: Kysely<any>, schema: string): Migrator {
  return new Migrator({
    db,
    provider: new SqlFileMigrationProvider(),
    migrationTableSchema: schema,
    // Engineers own disjoint number ranges (0070–0079, 0090–…), so a file from a lower range
    // can land after a higher one was applied somewhere. Each file is independent forward-only
    // SQL: a pending one is applied whatever its place, instead of refusing to start.
    allowUnorderedMigrations: true,
  })
}
