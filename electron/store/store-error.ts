import type { SqliteDatabase } from './database.js';

export type StoreErrorKind =
  | 'locked'
  | 'disk-full'
  | 'read-only'
  | 'cannot-open'
  | 'corrupt'
  | 'newer-schema'
  | 'not-found'
  | 'invalid-edit';

/**
 * Why the store could not do what was asked. `message` is for the person using the app; the
 * SQLite error, when there was one, is kept as `cause` for logs.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Turns SQLite's failures into StoreErrors that say what happened; anything else passes through. */
export function translateSqliteError(error: unknown, databasePath: string): unknown {
  const code = sqliteCode(error);
  if (code === undefined) return error;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('locked', `The library database ${databasePath} is in use by another program (perhaps a second copy of Nestcap); nothing was changed. Close the other program and try again.`, { cause: error });
  }
  if (code === 'SQLITE_FULL') {
    return new StoreError('disk-full', `The disk holding ${databasePath} is full; the last change was not saved, everything before it is intact.`, { cause: error });
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreError('read-only', `The library database ${databasePath} cannot be written (read-only file or disk).`, { cause: error });
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code === 'SQLITE_AUTH') {
    return new StoreError('cannot-open', `The library database ${databasePath} cannot be opened (check the folder's permissions).`, { cause: error });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new StoreError('corrupt', `The library database ${databasePath} is damaged.`, { cause: error });
  }
  return error;
}

/**
 * Runs `work` as one write transaction. BEGIN IMMEDIATE takes the write lock up front, so a
 * second process makes us wait (busy_timeout) and then fail cleanly, never half-way through.
 */
export function writeTransaction<T>(db: SqliteDatabase, work: () => T): T {
  try {
    return db.transaction(work).immediate();
  } catch (error) {
    throw translateSqliteError(error, db.name);
  }
}

/** A read that maps SQLite failures the same way. */
export function read<T>(db: SqliteDatabase, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw translateSqliteError(error, db.name);
  }
}
