import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitToDisplays, minimumWindowSize, parseWindowState } from '../../electron/shell/window-state.js';

const primary = { x: 0, y: 0, width: 1920, height: 1040 };
const secondary = { x: 1920, y: 0, width: 2560, height: 1400 };

test('a corrupt or partial state file is ignored', () => {
  assert.equal(parseWindowState(undefined), undefined);
  assert.equal(parseWindowState('{"bounds":'), undefined);
  assert.equal(parseWindowState('{"bounds":{"x":1,"y":2,"width":"wide","height":3}}'), undefined);
  assert.deepEqual(parseWindowState('{"bounds":{"x":5,"y":6,"width":100,"height":100},"maximized":true}'), {
    bounds: { x: 5, y: 6, width: minimumWindowSize.width, height: minimumWindowSize.height },
    maximized: true,
  });
});

test('a window on a display that is still connected keeps its place', () => {
  const saved = { bounds: { x: 2100, y: 100, width: 1200, height: 800 }, maximized: false };
  assert.deepEqual(fitToDisplays(saved, [primary, secondary], primary), saved);
});

test('a window left on an unplugged display comes back centred on the primary one', () => {
  const saved = { bounds: { x: 2100, y: 100, width: 1200, height: 800 }, maximized: true };
  const fitted = fitToDisplays(saved, [primary], primary);
  assert.deepEqual(fitted, { bounds: { x: 320, y: 110, width: 1280, height: 820 }, maximized: true });
});
