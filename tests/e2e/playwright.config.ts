// Playwright end-to-end tests. `cargo xtask test` starts ds-local on a free loopback port and
// passes its URL as DS_BASE_URL; it also sets PLAYWRIGHT_JSON_OUTPUT_NAME to count the results.
import { defineConfig } from '@playwright/test';

const baseURL = process.env.DS_BASE_URL ?? 'http://127.0.0.1:8787';

export default defineConfig({
  testDir: '.',
  timeout: 60_000,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json']],
  use: {
    baseURL,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
        '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
      ],
    },
  },
});
