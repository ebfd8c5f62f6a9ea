import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isAllowedRequest,
  isAppUrl,
  isExternalLinkAllowed,
  rendererFileFor,
} from '../../electron/shell/navigation-policy.js';

test('only the app scheme loads inside the window', () => {
  assert.equal(isAppUrl('app://nestcap/index.html'), true);
  assert.equal(isAppUrl('app://other/index.html'), false);
  assert.equal(isAppUrl('https://nestcap/index.html'), false);
  assert.equal(isAppUrl('file:///etc/passwd'), false);
  assert.equal(isAllowedRequest('https://cdn.example/x.js'), false);
  assert.equal(isAllowedRequest('ws://127.0.0.1:9/ipc'), false);
  assert.equal(isAllowedRequest('blob:app://nestcap/123'), true);
  assert.equal(isExternalLinkAllowed('https://example.org/help'), true);
  assert.equal(isExternalLinkAllowed('file:///bin/sh'), false);
});

test('app URLs map into the renderer folder and never out of it', () => {
  assert.equal(rendererFileFor('app://nestcap/', '/r', '/'), '/r/index.html');
  assert.equal(rendererFileFor('app://nestcap/assets/a.js', '/r', '/'), '/r/assets/a.js');
  assert.equal(rendererFileFor('app://nestcap/assets/..%2f..%2fsecret', '/r', '/'), undefined);
  assert.equal(rendererFileFor('app://nestcap/a%5cb', '/r', '/'), undefined);
  assert.equal(rendererFileFor('https://nestcap/a.js', '/r', '/'), undefined);
});
