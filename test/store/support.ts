import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openStore, type OpenOptions, type SqliteDatabase } from '../../electron/store/database.js';
import { createLibrary, insertMedia, type Media } from '../../electron/store/library.js';

/** A real database file in a throwaway folder, closed and removed when the test ends. */
export function scratchStore(t: TestContext, options: OpenOptions = {}): { db: SqliteDatabase; path: string; directory: string } {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-store-'));
  const path = join(directory, 'nestcap.sqlite');
  const { db } = openStore(path, options);
  t.after(() => {
    if (db.open) db.close();
    rmSync(directory, { recursive: true, force: true });
  });
  return { db, path, directory };
}

/** A media row as a folder scan would make it (the file itself is not needed by the store). */
export function someMedia(db: SqliteDatabase, path = '/videos/talk.mp4', contentHash = 'hash-1'): Media {
  const library = createLibrary(db, 'Talks');
  return insertMedia(db, { libraryId: library.id }, { path, contentHash, sizeBytes: 1000, modifiedMs: 1, durationSeconds: 60 });
}
