import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateRemainingSeconds, formatEta, ProgressReporter, renderBar } from '../../electron/cli/progress.js';

test('ETA extrapolates the average rate and is unknown before any progress', () => {
  assert.equal(estimateRemainingSeconds(0, 100, 5), undefined);
  assert.equal(estimateRemainingSeconds(25, 100, 10), 30);
  assert.equal(estimateRemainingSeconds(100, 100, 10), 0);
  assert.equal(formatEta(3725), '1:02:05');
  assert.equal(formatEta(65), '01:05');
});

test('the bar shows fraction, percent and ETA', () => {
  assert.equal(renderBar({ label: 'talk.mp4', done: 50, total: 200 }, 10, 8), '[##------]  25%  ETA 00:30  talk.mp4');
});

test('without a TTY, progress prints a line per tenth, not per update', () => {
  const lines: string[] = [];
  let clock = 0;
  const reporter = new ProgressReporter({ isTTY: false, write: (text) => lines.push(text) > 0 }, () => clock);
  for (let done = 0; done <= 100; done += 1) {
    clock = done / 10;
    reporter.update({ label: 'x', done, total: 100 });
  }
  assert.equal(lines.length, 11);
  assert.match(lines.at(-1) ?? '', /100%\s+ETA 00:00/);
});
