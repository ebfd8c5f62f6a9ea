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

/**
 * TensorFlow.js carries long.js, which at load tries to compile a tiny WebAssembly module for
 * 64-bit multiplication and falls back to plain JavaScript when it cannot. Our CSP forbids
 * compiling WebAssembly, so the attempt only fails, with a CSP violation report and a console
 * error each time the face model loads. The attempt is cut out of face-api's bundle at build
 * time; the build fails if face-api's bundle stops containing it, so an update is noticed.
 */
function faceApiWithoutWasmProbe(): Plugin {
  const probe = /new WebAssembly\.Instance\(new WebAssembly\.Module\(new Uint8Array\(\[[\d,]+\]\)\),\{\}\)\.exports/g;
  return {
    name: 'nestcap-face-api-without-wasm-probe',
    transform(code, id) {
      if (!id.includes('@vladmandic/face-api/dist/face-api.esm.js')) return undefined;
      const found = code.match(probe)?.length ?? 0;
      if (found !== 1) this.error(`expected long.js's one WebAssembly probe in face-api.esm.js, found ${found}`);
      // long.js reads null as "no WebAssembly here", exactly as when compiling throws.
      return { code: code.replace(probe, 'null'), map: null };
    },
  };
}

/**
 * `vite build --mode test-pages` builds the app plus pages that exist only for browser tests
 * (renderer/test-pages/) into test-output/, so they never ship in dist/renderer.
 */
export default defineConfig(({ mode }) => ({
  root: 'renderer',
  base: './',
  plugins: [
    svelte({ configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)) }),
    contentSecurityPolicyMeta(),
    faceModels(),
  ],
  // The face model runs in a worker (renderer/lib/live/face-worker.ts); the page's plugins do not reach worker bundles.
  worker: { format: 'es', plugins: () => [faceApiWithoutWasmProbe()] },
  build: {
    outDir: mode === 'test-pages' ? '../test-output/renderer-test-pages' : '../dist/renderer',
    emptyOutDir: true,
    // Inline assets would need data: in script-src/style-src; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // face-api with TensorFlow.js (1.3 MB) is one chunk, loaded only when the camera is switched on.
    chunkSizeWarningLimit: 1500,
    target: 'chrome120',
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('./renderer/index.html', import.meta.url)),
        ...(mode === 'test-pages'
          ? { cameraCheck: fileURLToPath(new URL('./renderer/test-pages/camera-check.html', import.meta.url)) }
          : {}),
      },
    },
  },
}));
