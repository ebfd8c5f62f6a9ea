import type { SqliteDatabase } from '../store/database.js';
import { listFolders, type Folder } from '../store/library.js';
import type { DiscoveredFile } from './media-discovery.js';
import { scanFolder, type Prober, type ScanResult } from './library-scan.js';

/**
 * Watches the library's watched folders by polling. Polling works the same on local disks,
 * network shares and removable drives (where change notifications are unreliable), and lets a
 * file settle: it is taken only once its size and time have not changed between two looks, so
 * a video still being copied in is not hashed and captioned half-written.
 */

export interface FolderWatcherOptions {
  readonly db: SqliteDatabase;
  readonly intervalMs?: number;
  readonly probe?: Prober;
  /** After each scan of a folder that found something new, changed, moved or missing. */
  readonly onChange?: (result: ScanResult) => void;
  readonly onError?: (folder: Folder, error: unknown) => void;
  readonly now?: () => Date;
}

export class FolderWatcher {
  readonly #options: FolderWatcherOptions;
  /** Size and modification time of each file at the previous look. */
  readonly #lastSeen = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;

  constructor(options: FolderWatcherOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer) return;
    const tick = () => {
      this.#scanning = this.scanOnce().finally(() => {
        this.#scanning = undefined;
        if (this.#timer) this.#timer = setTimeout(tick, this.#options.intervalMs ?? 5000);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#scanning;
  }

  /** One look at every watched folder. */
  async scanOnce(): Promise<void> {
    const seenNow = new Map<string, string>();
    const settled = (file: DiscoveredFile) => {
      const signature = `${file.sizeBytes}:${file.modifiedMs}`;
      seenNow.set(file.path, signature);
      return this.#lastSeen.get(file.path) === signature;
    };
    for (const folder of listFolders(this.#options.db, { watchedOnly: true })) {
      try {
        const result = await scanFolder(this.#options.db, folder, {
          accept: settled,
          ...(this.#options.probe ? { probe: this.#options.probe } : {}),
          ...(this.#options.now ? { now: this.#options.now } : {}),
        });
        if (result.added.length + result.changed.length + result.moved.length + result.missing.length > 0) this.#options.onChange?.(result);
      } catch (error) {
        this.#options.onError?.(folder, error);
      }
    }
    this.#lastSeen.clear();
    for (const [path, signature] of seenNow) this.#lastSeen.set(path, signature);
  }
}
