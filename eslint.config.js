import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

/** Layers only point one way: services know nothing of Electron, hosts or the UI. */
const serviceLayerRestrictions = {
  paths: [{ name: 'electron', message: 'Services run in plain Node; only electron/main.ts and the preload import Electron.' }],
  patterns: [
    { group: ['**/host/*', '**/shell/*', '**/main.js', '**/renderer/**'], message: 'Services must not depend on a host or the UI.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'release/', 'node_modules/', 'test-output/', 'native-models/**/*.py', 'native-models/data/', 'native-models/runs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.config.js'] },
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.svelte'],
      },
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { parser: tseslint.parser, svelteConfig },
    },
  },
  {
    files: ['electron/**/*.ts', 'test/**/*.ts', '*.config.{js,ts}'],
    languageOptions: { globals: globals.node },
  },
  {
    // In-memory media streams in tests are async generators with nothing to await.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // Code passed to page.evaluate/waitForFunction runs in the browser.
    files: ['test/e2e/**/*.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['renderer/**/*.ts'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['electron/{engine,media,monitor,store,batch,export,app}/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', serviceLayerRestrictions] },
  },
  {
    files: ['electron/ipc/contract.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['*'], message: 'The contract is shared with the sandboxed preload and the renderer: no imports.' }] }],
    },
  },
  {
    files: ['renderer/**/*.{ts,svelte}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The renderer runs sandboxed: it talks to Electron only through the preload.' }],
          patterns: [
            { group: ['node:*'], message: 'The renderer runs sandboxed: no Node modules.' },
            { regex: '(^|/)electron/(?!ipc/contract\\.js$)', message: 'The renderer reaches main-side code only through the IPC contract.' },
          ],
        },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it'], package: 'node:test' }] },
      ],
    },
  },
);
