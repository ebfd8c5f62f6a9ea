import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

/** Opens (creating if needed) the app database with the pragmas every connection must have. */
export function openDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // WAL lets the UI read while a batch job writes; foreign keys are off by default in SQLite.
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

export function sqliteVersion(db: SqliteDatabase): string {
  const row = db.prepare('select sqlite_version() as version').get() as { version: string };
  return row.version;
}
