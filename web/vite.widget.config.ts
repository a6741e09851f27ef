// widget.js: the loader, as one self-contained IIFE (no imports, no chunks), written
// next to the multi-page build in dist/. Runs after the main build (emptyOutDir: false).
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

const root = import.meta.dirname;

export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2017',
    minify: true,
    copyPublicDir: false,
    lib: {
      entry: resolve(root, 'src/widget/widget.ts'),
      formats: ['iife'],
      name: 'LiveSupportWidget',
      fileName: () => 'widget.js',
    },
  },
});
