/// <reference types="vitest/config" />
// Multi-page build of the apps the binary serves: /support/chat (chat.html, the iframe
// app), /support/dashboard (dashboard.html) and the demo shop: /support (demo.html),
// /support/product/{slug} (demo-product.html) and /support/cart (demo-cart.html). Hashed assets go
// to /assets/*. The loader, widget.js, is a separate build (vite.widget.config.ts).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

const root = import.meta.dirname;

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    rollupOptions: {
      input: {
        chat: resolve(root, 'chat.html'),
        dashboard: resolve(root, 'dashboard.html'),
        demo: resolve(root, 'demo.html'),
        'demo-product': resolve(root, 'demo-product.html'),
        'demo-cart': resolve(root, 'demo-cart.html'),
      },
    },
  },
  server: {
    // `npm run dev` against a running server: the API and sockets go to it.
    proxy: {
      '/api': 'http://localhost:5000',
      '/ws': { target: 'ws://localhost:5000', ws: true },
      '/widget.js': 'http://localhost:5000',
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    // Above the five seconds a findBy* may wait (src/test/setup.ts), so a slow wait
    // fails on its own message rather than on the test's timeout.
    testTimeout: 20_000,
    setupFiles: ['src/test/setup.ts'],
  },
});
