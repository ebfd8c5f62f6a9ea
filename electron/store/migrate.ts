import type { SqliteDatabase } from './database.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';
import { StoreError, writeTransaction } from './store-error.js';

/**
 * Brings the schema up to date, one transaction per migration, so a crash mid-way leaves the
 * database at the last complete version. `user_version` says where it stands; the migrations
 * table keeps when each step ran.
 */
export function migrate(db: SqliteDatabase, migrations: readonly Migration[] = allMigrations, now: () => Date = () => new Date()): number {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > latest) {
    throw new StoreError('newer-schema', `The library database ${db.name} was written by a newer Nestcap (schema ${current}, this version knows ${latest}); it was left untouched. Update Nestcap to open it.`);
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    writeTransaction(db, () => {
      db.exec('create table if not exists migrations (version integer primary key, name text not null, applied_at text not null)');
      db.exec(migration.sql);
      db.prepare('insert into migrations (version, name, applied_at) values (?, ?, ?)').run(migration.version, migration.name, now().toISOString());
      db.pragma(`user_version = ${migration.version}`);
    });
  }
  return latest;
}
