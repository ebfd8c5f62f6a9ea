import { svelte } from '@sveltejs/vite-plugin-svelte';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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

/**
 * Ships the live camera's face model with the renderer: the tiny face detector and tiny
 * landmark weights, copied from the @vladmandic/face-api npm package into `face-models/`, so
 * the page loads them from its own origin (nothing is fetched from the network).
 */
function faceModels(): Plugin {
  const wanted = /^(tiny_face_detector_model|face_landmark_68_tiny_model)(-weights_manifest\.json|\.bin)$/;
  return {
    name: 'nestcap-face-models',
    generateBundle() {
      const require = createRequire(import.meta.url);
      const directory = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
      for (const file of readdirSync(directory).filter((name) => wanted.test(name))) {
        this.emitFile({ type: 'asset', fileName: `face-models/${file}`, source: readFileSync(join(directory, file)) });
      }
    },
  };
}

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [
    svelte({ configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)) }),
    contentSecurityPolicyMeta(),
    faceModels(),
  ],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // Inline assets would need data: in script-src/style-src; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // face-api with TensorFlow.js (1.3 MB) is one chunk, loaded only when the camera is switched on.
    chunkSizeWarningLimit: 1500,
    target: 'chrome120',
  },
});
