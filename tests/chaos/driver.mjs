// The driver of `cargo xtask chaos` (crates/xtask/src/chaos/): headless Chromium through
// Playwright, REST through fetch, and the xtask control server for the failures themselves
// (cutting proxied connections, SIGKILLing ds-local, netem on lo). Runs inside the loopback-only
// network namespace xtask made. Prints progress, and one `CHAOS-RESULT {json}` line per scenario:
// { number, figure, met, details }.
import http from 'node:http';
import { chromium } from '@playwright/test';

const direct = process.env.DS_BASE_URL; // ds-local itself
const proxied = process.env.DS_PROXY_URL; // the cutting proxy in front of it
const control = process.env.CHAOS_CONTROL_URL;
const only = (process.env.CHAOS_ONLY ?? '1,2,3,4,5').split(',').map(Number);
const count = (name, fallback) => Number(process.env[name] ?? fallback);
const CUTS = count('CHAOS_CUTS', 100);
const EVENT_CUTS = count('CHAOS_EVENT_CUTS', 100);
const KILLS = count('CHAOS_KILLS', 5);
const CALL_SECONDS = count('CHAOS_CALL_SECONDS', 180);
const TOKEN_SECONDS = count('CHAOS_TOKEN_SECONDS', 10);
const NETEM_SECONDS = count('CHAOS_NETEM_SECONDS', 30);
const KEY = 'sk_test_local';
const ECHO = '+15005550001';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text) => console.log(`    ${text}`);

/** Polls `probe` until it returns something truthy or `ms` pass; returns the value or null. */
async function until(probe, ms, every = 50) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) return null;
    await sleep(every);
  }
}

async function ctl(method, path) {
  const response = await fetch(`${control}${path}`, { method });
  const body = await response.json();
  if (!response.ok) throw new Error(`control ${path}: ${body.error}`);
  return body;
}

async function rest(method, path, body, account) {
  const headers = { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' };
  if (account) headers['DialStack-Account'] = account;
  const response = await fetch(`${direct}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

function result(number, figure, met, details) {
  console.log(`CHAOS-RESULT ${JSON.stringify({ number, figure, met, details })}`);
}

/** "m:ss" or "h:mm:ss" → seconds. */
function seconds(timer) {
  if (!timer) return null;
  return timer.split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

const demo = await (await fetch(`${direct}/_ds/demo/tokens/alice`)).json();
const bob = (await (await fetch(`${direct}/_ds/demo/tokens/bob`)).json()).user;
const account = demo.account;
const alice = demo.user;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
    '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
    // Background tabs must keep their timers: several scenarios run at once.
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  ],
});

/** A fresh context with the softphone page signed in as `user`; resolves once connected. */
async function openPhone(base, user, ttl) {
  const context = await browser.newContext({ permissions: ['microphone'] });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(`${base}/examples/softphone.html?user=${user}&ttl=${ttl}`);
  const connected = await until(() => page.evaluate(() => window.__chaos?.status === 'connected'), 30_000, 100);
  if (!connected) throw new Error(`the softphone did not connect (page errors: ${pageErrors.join('; ')})`);
  return { context, page, pageErrors };
}

/** Dials the echo number through the softphone's own UI and waits for the call timer and audio. */
async function echoCall(page) {
  const softphone = page.getByRole('region', { name: 'Softphone' });
  await softphone.getByRole('textbox', { name: 'Number to call' }).fill(ECHO);
  await softphone.getByRole('textbox', { name: 'Number to call' }).press('Enter');
  const timer = await until(() => page.evaluate(() => window.__chaos.timer()), 30_000, 100);
  if (!timer) throw new Error('the echo call did not connect (no call timer)');
  const audio = await until(() => page.evaluate(() => window.__chaos.inboundBytes()), 15_000, 100);
  if (!audio) throw new Error('no audio arrived on the echo call');
}

async function hangUp(page) {
  const current = page.getByRole('region', { name: 'Current call' });
  await current.getByRole('button', { name: 'Hang up' }).click({ timeout: 5_000 }).catch(() => {});
}

const read = (page) =>
  page.evaluate(async () => ({
    bytes: await window.__chaos.inboundBytes(),
    timer: window.__chaos.timer(),
    status: window.__chaos.status,
    ended: window.__chaos.ended.length,
  }));

// ---------------------------------------------------------------------------------------------
// 1. The signalling WebSocket cut during a live echo call.
async function signallingCut() {
  log(`1/signalling-cut: ${CUTS} cuts of the signalling WebSocket during one echo call`);
  const { context, page, pageErrors } = await openPhone(proxied, alice, 3600);
  const failures = [];
  let kept = 0;
  const restoreMs = [];
  try {
    await echoCall(page);
    for (let i = 1; i <= CUTS; i++) {
      const before = await read(page);
      const stats = await ctl('GET', '/stats');
      const cutAt = Date.now();
      const { cut } = await ctl('POST', '/cut/websocket');
      const restored = await until(
        async () => (await ctl('GET', '/stats')).call_restored_frames > stats.call_restored_frames,
        35_000,
      );
      const connected = restored && (await until(() => page.evaluate(() => window.__chaos.status === 'connected'), 10_000));
      const atRestore = await read(page);
      if (restored) restoreMs.push(Date.now() - cutAt);
      // Audio after the restore: the inbound byte count must keep rising.
      const flowing = await until(async () => (await read(page)).bytes > atRestore.bytes, 3_000);
      // The timer the user sees still runs (it shows whole seconds, so allow it to tick).
      const timerRuns = await until(async () => {
        const now = await read(page);
        return now.timer !== null && seconds(now.timer) > seconds(before.timer);
      }, 3_000);
      const after = await read(page);
      const ok = cut > 0 && restored && connected && flowing && timerRuns && after.ended === 0;
      if (ok) {
        kept += 1;
      } else {
        failures.push({ cut: i, sockets_cut: cut, restored: !!restored, connected: !!connected, audio: !!flowing, timer_runs: !!timerRuns, before, after });
        log(`cut ${i}: NOT kept ${JSON.stringify(failures.at(-1))}`);
        if (after.ended > 0 || after.timer === null) break; // the call is gone: nothing left to cut
      }
      if (i % 10 === 0) log(`cut ${i}: ${kept} kept so far`);
    }
  } catch (error) {
    failures.push({ error: String(error) });
  }
  const final = await read(page).catch(() => null);
  await hangUp(page);
  await context.close();
  const stats = await ctl('GET', '/stats');
  restoreMs.sort((a, b) => a - b);
  const median = restoreMs.length ? restoreMs[Math.floor(restoreMs.length / 2)] : null;
  result(1, `${kept}/${CUTS} calls kept audio and UI`, kept === CUTS, {
    kept, cuts: CUTS, median_cut_to_restored_ms: median, max_cut_to_restored_ms: restoreMs.at(-1) ?? null,
    proxy: stats, final, failures: failures.slice(0, 10), page_errors: pageErrors.slice(0, 5),
  });
}

// ---------------------------------------------------------------------------------------------
// 2. The /v1/events stream of a screen pop cut while test calls ring.
async function eventsCut() {
  log(`2/events-cut: ${EVENT_CUTS} cuts of a screen pop's /v1/events, one test call ringing in each gap`);
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  const made = [];
  const failures = [];
  let seenLive = 0;
  try {
    await page.goto(`${proxied}/examples/screen-pop.html`);
    const open = await until(async () => (await ctl('GET', '/stats')).open_event_streams > 0, 30_000, 100);
    if (!open) throw new Error('the screen pop never opened /v1/events');
    for (let i = 1; i <= EVENT_CUTS; i++) {
      const { cut } = await ctl('POST', '/cut/events');
      // A distinct caller per call, so each ring is counted once.
      const number = `+1619555${String(1000 + i).padStart(4, '0')}`;
      const call = await rest(
        'POST', '/v1/test_helpers/calls',
        { user: bob, from_number: number, from_name: `CHAOS ${i}`, scenario: { outcome: 'no-answer', ring_seconds: 4 } },
        account,
      );
      made.push({ number, id: call.id });
      const seen = await until(
        () => page.evaluate((n) => window.__chaos.rings.some((r) => r.number === n), number),
        20_000,
      );
      if (seen) seenLive += 1;
      else failures.push({ cut: i, sockets_cut: cut, number, call: call.id });
      if (cut === 0) failures.push({ cut: i, note: 'no open /v1/events connection to cut' });
      if (i % 10 === 0) log(`cut ${i}: ${seenLive} rings seen so far`);
    }
  } catch (error) {
    failures.push({ error: String(error) });
  }
  // Late arrivals still count as delivered; anything not here after 10 s is missed.
  await sleep(2_000);
  const rings = await page.evaluate(() => window.__chaos.rings).catch(() => []);
  const seenNumbers = new Set(rings.map((r) => r.number));
  const missed = made.filter((m) => !seenNumbers.has(m.number));
  await context.close();
  const stats = await ctl('GET', '/stats');
  const complete = made.length === EVENT_CUTS;
  result(2, `${missed.length} missed call.incoming of ${made.length} rung during ${EVENT_CUTS} cuts`,
    complete && missed.length === 0, {
      calls: made.length, missed: missed.slice(0, 20), rings_seen: rings.length,
      duplicates: rings.length - seenNumbers.size, proxy: stats,
      failures: failures.slice(0, 10), page_errors: pageErrors.slice(0, 5),
    });
}

// ---------------------------------------------------------------------------------------------
// 3. ds-local SIGKILLed and restarted during a stream of calls.
async function serverKill() {
  log(`3/server-kill: ${KILLS} SIGKILLs of ds-local during a stream of test calls`);
  const deliveries = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      try {
        deliveries.push(JSON.parse(body));
      } catch {
        // not JSON: not ours to count
      }
      response.writeHead(200).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${receiver.address().port}/hooks`;
  await rest('POST', '/v1/webhook_endpoints', { url: hook, enabled_events: ['call.end'] }, account);
  const finishedBeforeKill = new Set();
  const made = [];
  const failures = [];
  for (let round = 1; round <= KILLS; round++) {
    // A stream of short simulated calls (Bob has no softphone here, so ds-local plays them out).
    const roundCalls = [];
    const started = Date.now();
    while (Date.now() - started < 4_000) {
      try {
        const call = await rest('POST', '/v1/test_helpers/calls',
          { user: bob, from_number: '+16195550123', scenario: { outcome: 'answered', ring_seconds: 1, talk_seconds: 1 } },
          account);
        made.push(call.id);
        roundCalls.push(call.id);
      } catch (error) {
        failures.push({ round, error: String(error) });
      }
      await sleep(200);
    }
    // What is finished now must survive the kill: its CDR is written and its webhook queued.
    // (Only this round's calls: an earlier round's call still open was live at a kill.)
    for (const id of roundCalls) {
      const cdr = await rest('GET', `/v1/calls/${id}`, null, account).catch(() => null);
      if (cdr?.status) finishedBeforeKill.add(id);
    }
    const { pid } = await ctl('POST', '/ds-local/kill');
    log(`round ${round}: ${made.length} calls made, ${finishedBeforeKill.size} finished; SIGKILL ${pid}`);
    await ctl('POST', '/ds-local/start');
  }
  // Webhooks are retried with back-off after the restart: give the outbox time to drain (for
  // the calls finished before a kill, and for those a restart closed).
  const delivered = () => new Set(deliveries.filter((d) => d.type === 'call.end').map((d) => d.data?.call_id));
  await until(() => made.every((id) => delivered().has(id)), 60_000, 500);
  const lostCdrs = [];
  const lostWebhooks = [];
  for (const id of finishedBeforeKill) {
    const cdr = await rest('GET', `/v1/calls/${id}`, null, account).catch(() => null);
    if (!cdr?.status) lostCdrs.push(id);
    if (!delivered().has(id)) lostWebhooks.push(id);
  }
  // Calls live at a kill: whether ds-local closes their CDRs after the restart (not a target).
  const unfinished = [];
  for (const id of made) {
    if (finishedBeforeKill.has(id)) continue;
    const cdr = await rest('GET', `/v1/calls/${id}`, null, account).catch(() => null);
    unfinished.push({ id, status: cdr?.status ?? null, call_end_webhook: delivered().has(id) });
  }
  // ds-local's webhook client keeps connections alive; without this node waits for them.
  receiver.close();
  receiver.closeAllConnections();
  const lost = lostCdrs.length + lostWebhooks.length;
  const closed = unfinished.filter((u) => u.status).length;
  result(3, `${lostCdrs.length} CDRs and ${lostWebhooks.length} webhooks lost of ${finishedBeforeKill.size} calls finished before ${KILLS} SIGKILLs (calls live at a kill closed after the restart: ${closed}/${unfinished.length})`,
    lost === 0 && finishedBeforeKill.size > 0, {
      calls_made: made.length, finished_before_kill: finishedBeforeKill.size, lost_cdrs: lostCdrs,
      lost_webhooks: lostWebhooks, webhook_deliveries: deliveries.length,
      duplicate_deliveries: deliveries.length - new Set(deliveries.map((d) => d.id)).size,
      live_at_kill: unfinished.length, live_at_kill_still_open: unfinished.filter((u) => !u.status).length,
      live_at_kill_with_call_end_webhook: unfinished.filter((u) => u.call_end_webhook).length,
      live_at_kill_statuses: Object.fromEntries(
        [...new Set(unfinished.map((u) => u.status))].map((st) => [st, unfinished.filter((u) => u.status === st).length]),
      ),
      failures: failures.slice(0, 10),
    });
}

// ---------------------------------------------------------------------------------------------
// 4. A long call on short user tokens.
async function shortTokens() {
  log(`4/short-tokens: one ${CALL_SECONDS} s echo call on ${TOKEN_SECONDS}-second user tokens`);
  const { context, page, pageErrors } = await openPhone(direct, alice, TOKEN_SECONDS);
  const samples = [];
  let dropped = 0;
  let error = null;
  try {
    await echoCall(page);
    const started = Date.now();
    let last = await read(page);
    while (Date.now() - started < CALL_SECONDS * 1000) {
      await sleep(5_000);
      const now = await read(page);
      samples.push({ t: Math.round((Date.now() - started) / 1000), ...now });
      if (now.ended > 0 || now.timer === null || now.bytes <= last.bytes) {
        dropped = 1;
        break;
      }
      last = now;
    }
  } catch (e) {
    error = String(e);
    dropped = 1;
  }
  const state = await page.evaluate(() => ({ tokens: window.__chaos.tokens, log: window.__chaos.log, errors: window.__chaos.errors, ended: window.__chaos.ended })).catch(() => null);
  await hangUp(page);
  await context.close();
  const reconnects = state ? state.log.filter((l) => l.status === 'reconnecting').length : null;
  result(4, `${dropped} dropped of 1 call of ${CALL_SECONDS} s on ${TOKEN_SECONDS}-s tokens (${state?.tokens ?? '?'} tokens minted, ${reconnects} reconnects)`,
    dropped === 0 && error === null, {
      error, tokens_minted: state?.tokens, reconnects, connection_log: state?.log?.slice(0, 20),
      errors: state?.errors, ended: state?.ended, last_samples: samples.slice(-3), page_errors: pageErrors.slice(0, 5),
    });
}

// ---------------------------------------------------------------------------------------------
// 5. Packet loss and jitter on lo.
async function netem() {
  log(`5/netem: ${NETEM_SECONDS} s of netem loss 10% delay 40ms 20ms on lo during an echo call`);
  const { context, page, pageErrors } = await openPhone(direct, alice, 3600);
  const quality = () => page.evaluate(() => window.__chaos.quality());
  const samples = { before: [], during: [], after: [] };
  let error = null;
  let qdisc = null;
  let method = null;
  let impaired = null;
  let survived = false;
  try {
    await echoCall(page);
    for (let i = 0; i < 8; i++) {
      await sleep(1_000);
      samples.before.push(await quality());
    }
    ({ qdisc, method } = await ctl('POST', '/netem/on'));
    log(`qdisc: ${qdisc}`);
    for (let i = 0; i < NETEM_SECONDS; i++) {
      await sleep(1_000);
      samples.during.push(await quality());
    }
    impaired = await ctl('POST', '/netem/off');
    for (let i = 0; i < 10; i++) {
      await sleep(1_000);
      samples.after.push(await quality());
    }
    const a = await read(page);
    await sleep(1_000);
    const b = await read(page);
    survived = b.ended === 0 && b.timer !== null && b.bytes > a.bytes;
  } catch (e) {
    error = String(e);
  } finally {
    await ctl('POST', '/netem/off').catch(() => {});
  }
  await hangUp(page);
  await context.close();
  const mos = (list) => list.map((q) => q?.mos).filter((m) => Number.isFinite(m));
  const levels = (list) => [...new Set(list.map((q) => q?.level).filter(Boolean))];
  const baseline = Math.min(...mos(samples.before));
  const worst = Math.min(...mos(samples.during));
  const reacted = Number.isFinite(baseline) && Number.isFinite(worst) && worst < baseline
    && levels(samples.during).some((l) => l !== 'good');
  result(5, `MOS ${baseline.toFixed(1)} → ${worst.toFixed(1)} under ${method === 'tc' ? 'tc netem' : 'netem-equivalent loss and jitter (NFQUEUE)'} (levels ${levels(samples.before).join('/')} → ${levels(samples.during).join('/')}); call ${survived ? 'survived' : 'LOST'}`,
    reacted && survived && error === null, {
      method, qdisc, impaired, error, reacted, survived, before: samples.before, during: samples.during, after: samples.after,
      page_errors: pageErrors.slice(0, 5),
    });
}

try {
  if (only.includes(1)) await signallingCut();
  // 2 (screen pop, Bob's test calls) and 4 (Alice's long call, not proxied) share nothing but
  // ds-local and the browser, so they run side by side to keep the whole suite short.
  await Promise.all([only.includes(2) ? eventsCut() : null, only.includes(4) ? shortTokens() : null]);
  if (only.includes(5)) await netem();
  // Last: it kills the server everything else uses.
  if (only.includes(3)) await serverKill();
} finally {
  await browser.close();
}
