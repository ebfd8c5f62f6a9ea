import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate } from './migrate.js';
import { StoreError, translateSqliteError } from './store-error.js';

export type SqliteDatabase = Database.Database;

export interface OpenOptions {
  /** How long a write waits for another process's lock before failing as 'locked'. */
  readonly busyTimeoutMs?: number;
  /** Called when a damaged database was moved aside and a new one created. */
  readonly onRecovery?: (recovery: StoreRecovery) => void;
  readonly now?: () => Date;
}

export interface StoreRecovery {
  /** Where the damaged file now is; it is kept byte for byte for recovery tools. */
  readonly movedTo: string;
  readonly reason: string;
  readonly message: string;
}

export interface OpenedStore {
  readonly db: SqliteDatabase;
  readonly recovery: StoreRecovery | undefined;
}

function connect(path: string, busyTimeoutMs: number): SqliteDatabase {
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    // WAL lets the UI read while a batch job writes; foreign keys are off by default in SQLite.
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // FULL syncs the WAL at every commit: a committed segment survives a power cut, not just a crash.
    db.pragma('synchronous = FULL');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Empty list when the database is sound, otherwise SQLite's own description of the damage. */
function integrityProblems(db: SqliteDatabase): string[] {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  return rows.map((row) => row.integrity_check).filter((line) => line !== 'ok');
}

function isDamage(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_NOTADB' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'));
}

function moveAside(path: string, now: Date): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let target = `${path}.corrupt-${stamp}`;
  for (let n = 2; existsSync(target); n += 1) target = `${path}.corrupt-${stamp}-${n}`;
  // The WAL holds committed pages not yet in the main file: it travels with it.
  for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  renameSync(path, target);
  return target;
}

/**
 * Opens (creating if needed) the app database, checks its integrity and migrates it. A damaged
 * file is moved aside (never overwritten) and a fresh database is created; the returned
 * `recovery` says where the old one went so the app can tell the user.
 */
export function openStore(path: string, options: OpenOptions = {}): OpenedStore {
  const now = options.now ?? (() => new Date());
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let recovery: StoreRecovery | undefined;
  let db: SqliteDatabase | undefined;
  try {
    db = connect(path, busyTimeoutMs);
    const problems = path === ':memory:' ? [] : integrityProblems(db);
    if (problems.length > 0) {
      db.close();
      db = undefined;
      recovery = recover(path, problems.slice(0, 3).join('; '), now());
    }
  } catch (error) {
    db?.close();
    db = undefined;
    if (!isDamage(error)) throw translateSqliteError(error, path);
    recovery = recover(path, error instanceof Error ? error.message : String(error), now());
  }
  try {
    db ??= connect(path, busyTimeoutMs);
    migrate(db, undefined, now);
  } catch (error) {
    db?.close();
    throw error instanceof StoreError ? error : translateSqliteError(error, path);
  }
  if (recovery) options.onRecovery?.(recovery);
  return { db, recovery };
}

function recover(path: string, reason: string, now: Date): StoreRecovery {
  const movedTo = moveAside(path, now);
  return {
    movedTo,
    reason,
    message: `The library database was damaged (${reason}). It was moved to ${movedTo} and a new, empty library was started; your media files were not touched.`,
  };
}

/** The app database with its pragmas, integrity check and migrations (see openStore). */
export function openDatabase(path: string, options: OpenOptions = {}): SqliteDatabase {
  return openStore(path, options).db;
}

export function sqliteVersion(db: SqliteDatabase): string {
  const row = db.prepare('select sqlite_version() as version').get() as { version: string };
  return row.version;
}
