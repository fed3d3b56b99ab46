// Figures 2 and 3 of `cargo xtask bench`: Ready and Call setup, ours vs the plain-JS baseline,
// in headless Chromium. xtask runs this inside a loopback-only network namespace with a release
// ds-local (--fast-timers) serving dist/ and this folder under /examples/; DS_BASE_URL points at it.
//
// Each run uses a fresh browser context (empty HTTP cache, like a first visit) and alternates
// ours and baseline so drift on a noisy machine hits both. Prints one JSON object.
import { chromium } from '@playwright/test';

const base = process.env.DS_BASE_URL;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const key = 'sk_test_local';
const WAIT_MS = 30_000;

async function rest(path, body, account) {
  const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  if (account) headers['DialStack-Account'] = account;
  const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

const account = (await rest('/v1/accounts', { email: 'browser@bench.test' })).id;
const user = (await rest('/v1/users', { name: 'Bench Browser', extension: '101' }, account)).id;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
    '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
  ],
});

async function measure(page) {
  const context = await browser.newContext({ permissions: ['microphone'] });
  const tab = await context.newPage();
  const errors = [];
  tab.on('pageerror', (error) => errors.push(String(error)));
  try {
    await tab.goto(`${base}/examples/${page}.html?user=${user}`);
    await tab.waitForFunction(() => window.__bench?.ready || window.__bench?.error, null, { timeout: WAIT_MS });
    const ready = await tab.evaluate(() => window.__bench);
    if (ready.error) throw new Error(ready.error);
    await tab.click('#call');
    await tab.waitForFunction(() => window.__bench.callMs !== undefined || window.__bench.error, null, { timeout: WAIT_MS });
    const done = await tab.evaluate(() => window.__bench);
    if (done.error) throw new Error(done.error);
    // Let the hang-up finish so the next run's call does not overlap this one.
    await tab.waitForFunction(() => window.__bench.ended, null, { timeout: WAIT_MS }).catch(() => {});
    return { ready: done.ready, call: done.callMs };
  } catch (error) {
    return { error: `${page}: ${error.message}${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}` };
  } finally {
    await context.close();
  }
}

const results = { ours: [], baseline: [], errors: [] };
// One warm-up of each, not counted: the first Chromium start pays for its own caches.
await measure('baseline');
await measure('ours');
for (let i = 0; i < runs; i++) {
  for (const page of ['baseline', 'ours']) {
    const result = await measure(page);
    if (result.error) {
      results.errors.push(result.error);
      results[page].push({ ready: null, call: null });
    } else {
      results[page].push(result);
    }
  }
}
await browser.close();
console.log(JSON.stringify(results));
