import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { findProjectRoot } from '../../electron/app/project-root.js';

export const projectRoot = findProjectRoot(import.meta.url);

/** Screenshots and other artefacts a person looks at after a run. */
export function testOutputDirectory(...parts: string[]): string {
  const directory = join(projectRoot, 'test-output', ...parts);
  mkdirSync(directory, { recursive: true });
  return directory;
}

/** Debian's Chromium, headless, as the brief prescribes; CHROMIUM_PATH overrides the binary. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', ...extraArgs],
  });
}
