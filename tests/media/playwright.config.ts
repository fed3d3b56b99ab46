// Browser proof for ds-media (not wired into CI): see README.md for how to run it.
// run.sh builds the example server and passes its path as MEDIA_SERVER_BIN; Playwright starts
// it, so server and Chromium share the loopback-only namespace run.sh creates.
import { defineConfig } from '@playwright/test';

const port = process.env.MEDIA_PORT ?? '8790';
const server = process.env.MEDIA_SERVER_BIN ?? '../../target/debug/examples/echo_page';

export default defineConfig({
  testDir: '.',
  timeout: 60_000,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: '../../target/media-test-results',
  webServer: {
    command: `${server} 127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/health`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'pipe',
  },
  use: {
    baseURL: `http://127.0.0.1:${port}`,
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
