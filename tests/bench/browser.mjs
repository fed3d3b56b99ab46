// The browser figures of `cargo xtask bench` (2–6), in headless Chromium. xtask runs this inside
// a loopback-only network namespace with a release ds-local (--fast-timers) serving dist/ and this
// folder under /examples/; DS_BASE_URL points at it, DS_HISTORY_ACCOUNT names the account it
// seeded with DS_HISTORY_ROWS calls (figure 5).
//
//   2, 3  Ready and Call setup: three pages per run, alternating, each in a fresh browser context
//         (empty HTTP cache, like a first visit): the <ds-softphone> element (element.js, its Call
//         button clicked by role and name), the headless API (ours.js) and plain JS (baseline.js).
//   4     Screen pop: <ds-screen-pop> (screen-pop.js) vs a plain EventSource page
//         (screen-pop-baseline.js), BENCH_POP_CALLS test calls per run, alternating pages.
//   5     Call history: <ds-call-history> on the seeded account: first render, loading every row,
//         scroll frame times, JS heap (after a forced GC) and WASM memory.
//   6     Leaks: BENCH_LEAK_CALLS sequential echo calls through <ds-softphone> in one page; JS heap
//         (after HeapProfiler.collectGarbage) and WASM memory at checkpoints.
//
// BENCH_ONLY (comma list of ready,pop,history,leaks) limits what runs. Prints one JSON object.
import { chromium } from '@playwright/test';

const base = process.env.DS_BASE_URL;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const popCalls = Number(process.env.BENCH_POP_CALLS ?? 10);
const leakCalls = Number(process.env.BENCH_LEAK_CALLS ?? 100);
const leakRuns = Number(process.env.BENCH_LEAK_RUNS ?? 1);
const historyAccount = process.env.DS_HISTORY_ACCOUNT;
const only = (process.env.BENCH_ONLY ?? 'ready,pop,history,leaks').split(',');
const key = 'sk_test_local';
const WAIT_MS = 30_000;
const ECHO = '+15005550001';

async function rest(path, body, account) {
  const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  if (account) headers['DialStack-Account'] = account;
  const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

const account = (await rest('/v1/accounts', { email: 'browser@bench.test' })).id;
const user = (await rest('/v1/users', { name: 'Bench Browser', extension: '101' }, account)).id;
// The screen pop's calls ring a user with no softphone (ds-local simulates the ringing).
const popUser = (await rest('/v1/users', { name: 'Bench Pop', extension: '102' }, account)).id;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
    '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
  ],
});

/** A fresh context and tab; `fn(tab, pageErrors)` runs in it; errors come back as { error }. */
async function inTab(label, fn) {
  const context = await browser.newContext({ permissions: ['microphone'] });
  const tab = await context.newPage();
  const errors = [];
  tab.on('pageerror', (error) => errors.push(String(error)));
  try {
    return await fn(tab, context);
  } catch (error) {
    return { error: `${label}: ${error.message.split('\n')[0]}${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}` };
  } finally {
    await context.close();
  }
}

const benchValue = (tab) => tab.evaluate(() => {
  const { wasmBytes, ...rest } = window.__bench;
  return { ...rest, calls: undefined };
});

/** JS heap after a forced full GC (CDP), and the WASM memory when the page exposes it. */
async function memory(tab, context) {
  const cdp = await context.newCDPSession(tab);
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  const wasm = await tab.evaluate(() => (window.__bench.wasmBytes ? window.__bench.wasmBytes() : null));
  return { heap: heap.usedSize, wasm };
}

/** Types the echo number into <ds-softphone> and clicks its Call button; waits for `active`. */
async function elementCall(tab) {
  const softphone = tab.getByRole('region', { name: 'Softphone' });
  await softphone.getByRole('textbox', { name: 'Number to call' }).fill(ECHO);
  await softphone.getByRole('button', { name: 'Call', exact: true }).click();
  await tab.waitForFunction(() => window.__bench.callMs !== undefined || window.__bench.error, null, { timeout: WAIT_MS });
  const done = await benchValue(tab);
  if (done.error) throw new Error(done.error);
  return done;
}

/** Hangs up through the element's Hang up button; waits for `ds-call-ended` number `n`. */
async function elementHangup(tab, n) {
  const softphone = tab.getByRole('region', { name: 'Softphone' });
  await softphone.getByRole('region', { name: 'Current call' }).getByRole('button', { name: 'Hang up' }).click();
  await tab.waitForFunction((n) => window.__bench.ended >= n, n, { timeout: WAIT_MS });
  // The element is idle again: its Call button is back.
  await softphone.getByRole('button', { name: 'Call', exact: true }).waitFor({ timeout: WAIT_MS });
}

// ---- Figures 2 and 3 ----

async function readyAndCall(page) {
  return inTab(page, async (tab) => {
    await tab.goto(`${base}/examples/${page}.html?user=${user}`);
    await tab.waitForFunction(() => window.__bench?.ready || window.__bench?.error, null, { timeout: WAIT_MS });
    const ready = await benchValue(tab);
    if (ready.error) throw new Error(ready.error);
    if (page === 'element') {
      const done = await elementCall(tab);
      await elementHangup(tab, 1);
      return { ready: done.ready, call: done.callMs };
    }
    await tab.click('#call');
    await tab.waitForFunction(() => window.__bench.callMs !== undefined || window.__bench.error, null, { timeout: WAIT_MS });
    const done = await benchValue(tab);
    if (done.error) throw new Error(done.error);
    // Let the hang-up finish so the next run's call does not overlap this one.
    await tab.waitForFunction(() => window.__bench.ended, null, { timeout: WAIT_MS }).catch(() => {});
    return { ready: done.ready, call: done.callMs };
  });
}

// ---- Figure 4 ----

let nextCaller = 2_000_000;
async function screenPop(page) {
  return inTab(page, async (tab) => {
    await tab.goto(`${base}/examples/${page}.html?account=${account}`);
    await tab.waitForFunction(() => window.__bench?.loaded && window.__bench.streamOpen(), null, { timeout: WAIT_MS });
    if (page === 'screen-pop') {
      const pop = tab.getByRole('region', { name: 'Screen pop', exact: true });
      await pop.getByText('No incoming call.').waitFor({ timeout: WAIT_MS });
    }
    // The stream is open; give ds-local a moment to have subscribed it to the account's events.
    await tab.waitForTimeout(300);
    const calls = [];
    for (let i = 0; i < popCalls; i++) {
      nextCaller += 1;
      const number = `+1619${nextCaller}`;
      const name = `CALLER ${nextCaller}`;
      await tab.evaluate(([a, u, n, nm]) => window.__bench.ring(a, u, n, nm), [account, popUser, number, name]);
      await tab.waitForFunction(
        (n) => window.__bench.rings[n].shownAt !== undefined || window.__bench.error,
        number,
        { timeout: WAIT_MS },
      );
      const ring = await tab.evaluate((n) => ({ ...window.__bench.rings[n], error: window.__bench.error }), number);
      if (ring.error) throw new Error(ring.error);
      calls.push({
        sentToShown: ring.shownAt - ring.sentAt,
        sentToReceived: ring.receivedAt - ring.sentAt,
        receivedToShown: ring.shownAt - ring.receivedAt,
      });
      // Calls ring for 1 s and then end; a short gap keeps at most a couple ringing at once.
      await tab.waitForTimeout(100);
    }
    return { calls };
  });
}

// ---- Figure 5 ----

async function callHistory() {
  return inTab('history', async (tab, context) => {
    await tab.goto(`${base}/examples/history.html?account=${historyAccount}`);
    await tab.waitForFunction(() => window.__bench?.firstRender || window.__bench?.error, null, { timeout: WAIT_MS });
    const first = await benchValue(tab);
    if (first.error) throw new Error(first.error);
    const firstPage = await memory(tab, context);
    const loaded = await tab.evaluate((limit) => window.__bench.loadAll(limit), 120_000);
    const all = await memory(tab, context);
    // Visible in the list: 240 steps from the top to the bottom, one per animation frame.
    const scroll = await tab.evaluate(() => window.__bench.scroll(240));
    const after = await benchValue(tab);
    if (after.error) throw new Error(after.error);
    return {
      firstRender: first.firstRender,
      loadAllMs: loaded.ms,
      rows: loaded.rows,
      heapFirstPage: firstPage.heap,
      wasmFirstPage: firstPage.wasm,
      heapAll: all.heap,
      wasmAll: all.wasm,
      frameDeltas: scroll.deltas,
      lastPositionAfterScroll: scroll.lastPosition,
    };
  });
}

// ---- Figure 6 ----

async function leaks() {
  return inTab('leaks', async (tab, context) => {
    await tab.goto(`${base}/examples/element.html?user=${user}`);
    await tab.waitForFunction(() => window.__bench?.ready || window.__bench?.error, null, { timeout: WAIT_MS });
    const loaded = await memory(tab, context);
    const checkpoints = [{ calls: 0, ...loaded }];
    const marks = new Set([1, 10, 25, 50, 75, leakCalls]);
    const started = Date.now();
    for (let n = 1; n <= leakCalls; n++) {
      await elementCall(tab);
      await elementHangup(tab, n);
      if (marks.has(n)) checkpoints.push({ calls: n, ...(await memory(tab, context)) });
    }
    const setup = await tab.evaluate(() => window.__bench.calls);
    return { checkpoints, callMs: setup, seconds: (Date.now() - started) / 1000 };
  });
}

/**
 * The floor for figure 6: the plain-JS page (baseline.js, a bare RTCPeerConnection per call,
 * closed and its tracks stopped at call.ended) places the same calls to the echo number, so the
 * browser's own per-call residue is measured beside ours.
 */
async function baselineLeaks() {
  return inTab('leaks-baseline', async (tab, context) => {
    await tab.goto(`${base}/examples/baseline.html?user=${user}&destination=${encodeURIComponent(ECHO)}`);
    await tab.waitForFunction(() => window.__bench?.ready || window.__bench?.error, null, { timeout: WAIT_MS });
    const checkpoints = [{ calls: 0, ...(await memory(tab, context)) }];
    const marks = new Set([1, 10, 25, 50, 75, leakCalls]);
    for (let n = 1; n <= leakCalls; n++) {
      await tab.evaluate(() => {
        window.__bench.ended = false;
        window.__bench.callMs = undefined;
      });
      await tab.click('#call');
      await tab.waitForFunction(() => window.__bench.ended || window.__bench.error, null, { timeout: WAIT_MS });
      const done = await benchValue(tab);
      if (done.error) throw new Error(done.error);
      if (marks.has(n)) checkpoints.push({ calls: n, ...(await memory(tab, context)) });
    }
    return { checkpoints };
  });
}

const results = {
  ours: [],
  element: [],
  baseline: [],
  errors: [],
  pop: { ours: [], baseline: [] },
  history: [],
  leaks: [],
  leaksBaseline: [],
};
const timings = {};
const time = async (name, fn) => {
  const t = Date.now();
  await fn();
  timings[name] = (Date.now() - t) / 1000;
};

if (only.includes('ready')) {
  await time('ready', async () => {
    // One warm-up of each, not counted: the first Chromium start pays for its own caches.
    for (const page of ['baseline', 'ours', 'element']) await readyAndCall(page);
    for (let i = 0; i < runs; i++) {
      for (const page of ['baseline', 'ours', 'element']) {
        const result = await readyAndCall(page);
        if (result.error) {
          results.errors.push(result.error);
          results[page].push({ ready: null, call: null });
        } else {
          results[page].push(result);
        }
      }
    }
  });
}

if (only.includes('pop')) {
  await time('pop', async () => {
    for (let i = 0; i < runs; i++) {
      for (const [page, slot] of [['screen-pop-baseline', 'baseline'], ['screen-pop', 'ours']]) {
        const result = await screenPop(page);
        if (result.error) results.errors.push(result.error);
        else results.pop[slot].push(...result.calls);
      }
    }
  });
}

if (only.includes('history') && historyAccount) {
  await time('history', async () => {
    for (let i = 0; i < runs; i++) {
      const result = await callHistory();
      if (result.error) results.errors.push(result.error);
      else results.history.push(result);
    }
  });
}

if (only.includes('leaks')) {
  await time('leaks', async () => {
    for (let i = 0; i < leakRuns; i++) {
      const result = await leaks();
      if (result.error) results.errors.push(result.error);
      else results.leaks.push(result);
      const floor = await baselineLeaks();
      if (floor.error) results.errors.push(floor.error);
      else results.leaksBaseline.push(floor);
    }
  });
}

await browser.close();
results.seconds = timings;
results.settings = { runs, popCalls, leakCalls, leakRuns, historyRows: Number(process.env.DS_HISTORY_ROWS ?? 0) };
console.log(JSON.stringify(results));
