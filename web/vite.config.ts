/**
 * The dashboard's build: `npm run build:web` (part of `npm run build`) writes hashed files to
 * dist/web, which the API serves on its own origin (src/platform/http/web-dashboard.ts).
 * Preact through esbuild's automatic JSX runtime: no Babel, no plugin.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    // The API sends index.html's CSP; no inline script may be needed, so no module preload polyfill.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
