// The dashboard's build: `npm run build` at the root runs it after `tsc -b`. The output is what the
// API serves at `/` (services/api/dist/public); nothing is loaded from a CDN, so it works offline.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/public', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Evergreen browsers only: no preload polyfill, no inline script (the CSP allows none).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
});
