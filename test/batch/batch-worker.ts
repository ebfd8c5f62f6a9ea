/**
 * A batch process for the crash test: opens the library database, runs the queue with the real
 * captioner until it is idle, and reports each committed segment on stdout so the test knows
 * when to kill it.
 */
import { BatchQueue } from '../../electron/batch/batch-queue.js';
import { openStore } from '../../electron/store/database.js';
import { realCaptioner } from './fixtures.js';

const databasePath = process.argv[2]!;
const { db } = openStore(databasePath);
const { captioner, run, release } = await realCaptioner(undefined);
const queue = new BatchQueue({
  db,
  captioner,
  run,
  concurrency: 1,
  onEvent: (event) => {
    if (event.type === 'segment') process.stdout.write(`segment ${event.committedSeconds}\n`);
  },
});
queue.start();
await queue.whenIdle();
await release();
db.close();
process.stdout.write('idle\n');
