import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { rendererContentSecurityPolicyMeta } from './electron/ipc/content-security-policy.js';

/** Writes the one CSP into the page, so a file-loaded page is protected even without headers. */
function contentSecurityPolicyMeta(): Plugin {
  return {
    name: 'nestcap-csp-meta',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: rendererContentSecurityPolicyMeta },
        injectTo: 'head-prepend',
      },
    ],
  };
}

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [
    svelte({ configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)) }),
    contentSecurityPolicyMeta(),
  ],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // Inline assets would need data: in script-src/style-src; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'chrome120',
  },
});
