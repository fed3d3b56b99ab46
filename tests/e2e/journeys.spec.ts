// The first hour of a partner, end to end in headless Chromium against the ds-local that
// `cargo xtask test` starts (--demo --fast-timers, DS_BASE_URL): the partner CRM example, the
// click-to-call example and two people calling each other on the hosted softphone.
//
// The examples' own servers (examples/partner-crm, examples/click-to-call) are started here as
// child processes on 127.0.0.1:0; `cargo build` makes sure their binaries are current (a no-op
// when they are, and offline: every crate is already in Cargo.lock and the local registry).
import { expect, test, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { callLog, demoUsers, PLATFORM_KEY } from './calls-helpers';

const root = process.cwd();
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
const baseUrl = (process.env.DS_BASE_URL ?? 'http://127.0.0.1:8787').replace(/\/$/, '');

test.describe.configure({ timeout: 120_000 });

test.beforeAll(() => {
  // A first build after a change takes minutes on a small machine; a current one is a no-op.
  test.setTimeout(15 * 60_000);
  execFileSync('cargo', ['build', '-q', '--offline', '-p', 'partner-crm', '-p', 'click-to-call'], {
    cwd: root,
    stdio: 'inherit',
    timeout: 15 * 60_000,
  });
});

/** A running example server: its stdout lines so far, and a way to wait for one. */
class Server {
  lines: string[] = [];
  private waiters: Array<() => void> = [];
  private exited = false;

  constructor(readonly name: string, readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.stderr!.on('data', (chunk) => process.stderr.write(`[${name}] ${chunk}`));
    child.on('exit', () => {
      this.exited = true;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** The first capture group of the first stdout line matching `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const match = line.match(pattern);
        if (match) return match[1] ?? match[0];
      }
      if (this.exited) throw new Error(`${this.name} exited; stdout:\n${this.lines.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no line matching ${pattern}; stdout:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** SIGINT (what Ctrl-C sends), then waits for the exit; SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

function start(binary: string, args: string[]): Server {
  const child = spawn(path.join(targetDir, 'debug', binary), args, {
    cwd: root,
    env: { ...process.env, DIALSTACK_KEY: PLATFORM_KEY, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Server(binary, child);
}

/** The click-to-call example's webhook receiver, logging every call of the demo account. */
async function startWebhookLog(demo: { account: string; alice: string }, dbDir: string, extra: string[]) {
  const server = start('click-to-call', [
    '--api-base', baseUrl, '--account', demo.account, '--user', demo.alice,
    '--db', path.join(dbDir, 'calls.sqlite3'), ...extra,
  ]);
  const table = await server.waitFor(/\(table: (http:\/\/[^)]+)\)/);
  await server.waitFor(/webhook endpoint \S+ registered/);
  return { server, table };
}

/** The example's own table row for a call, once its signed call.end has been stored. */
async function webhookRow(table: string, callId: string): Promise<any> {
  let row: any = null;
  await expect
    .poll(async () => {
      const response = await fetch(`${table}/${callId}`);
      row = response.ok ? await response.json() : null;
      return row?.status ?? null;
    }, { timeout: 30_000, message: `call.end of ${callId} in the webhook table` })
    .not.toBeNull();
  return row;
}

/** Counts inbound audio bytes over every RTCPeerConnection the page made. */
async function recordPeerConnections(page: Page) {
  await page.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    const all: RTCPeerConnection[] = [];
    (window as any).__peerConnections = all;
    window.RTCPeerConnection = class extends Original {
      constructor(...args: ConstructorParameters<typeof RTCPeerConnection>) {
        super(...args);
        all.push(this);
      }
    } as typeof RTCPeerConnection;
  });
}

async function audioBytesReceived(page: Page): Promise<number> {
  return page.evaluate(async () => {
    let total = 0;
    for (const pc of (window as any).__peerConnections as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((report: any) => {
        if (report.type === 'inbound-rtp' && report.kind === 'audio') total += report.bytesReceived ?? 0;
      });
    }
    return total;
  });
}

/** Audio keeps arriving: the received byte count grows. */
async function expectAudioFlowing(page: Page, who: string) {
  const before = await audioBytesReceived(page);
  await expect
    .poll(() => audioBytesReceived(page), { timeout: 15_000, message: `${who} hears audio` })
    .toBeGreaterThan(before + 1000);
}

async function expectConnected(softphone: Locator) {
  await expect(softphone.getByTestId('status-chip')).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
}

async function ringAlice(request: APIRequestContext, demo: { account: string; alice: string }, from: string, name: string) {
  const response = await request.post('/v1/test_helpers/calls', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': demo.account },
    // A live softphone decides: the simulated caller rings for up to 60 s and waits for us.
    data: { user: demo.alice, from_number: from, from_name: name, scenario: { outcome: 'answered', ring_seconds: 60 } },
  });
  expect(response.status()).toBe(200);
  return (await response.json()).id as string;
}

test('partner CRM: a test call rings, the screen pop shows the patient, it is answered and lands in her history and the webhook table; tel: links dial', async ({ page, request }) => {
  const demo = await demoUsers(request);
  const dbDir = mkdtempSync(path.join(tmpdir(), 'journey-crm-'));
  const crm = start('partner-crm', [
    '--listen', '127.0.0.1:0', '--api-base', baseUrl, '--account', demo.account, '--user', demo.alice,
    '--elements-dir', path.join(process.env.DS_DIST_DIR ?? path.join(root, 'dist'), 'elements'), '--web-dir', path.join(root, 'examples/partner-crm/web'),
  ]);
  const webhooks = await startWebhookLog(demo, dbDir, ['--receive-only']);
  try {
    const crmUrl = await crm.waitFor(/^partner-crm listening on (\S+)/);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await recordPeerConnections(page);
    await page.goto(`${crmUrl}/`);
    await expect(page.getByRole('table')).toContainText('Jane Roe');
    const softphone = page.locator('ds-softphone');
    await expectConnected(softphone);
    // The page learns the phone's state from the element's ds-connection-change events.
    await expect(page.getByTestId('phone-status')).toHaveText('Phone: connected');

    const callId = await ringAlice(request, demo, '+16195550177', 'JANE ROE');
    // The pop names the patient from the CRM's own records (its lookup asks the CRM backend)
    // while the call still rings, and opens her record.
    const pop = page.locator('ds-screen-pop');
    await expect(pop.getByTestId('caller-primary')).toHaveText('Jane Roe', { timeout: 15_000 });
    await expect(pop.getByTestId('record-notes')).toContainText('Lower back pain');
    await pop.getByRole('button', { name: 'Open record' }).click();
    await expect(page.getByTestId('patient-name')).toHaveText('Jane Roe');
    expect(page.url()).toBe(`${crmUrl}/#/patients/pat_jane_roe`);

    const incoming = softphone.getByTestId('incoming-card').filter({ hasText: '(619) 555-0177' });
    await expect(incoming).toBeVisible();
    await incoming.getByRole('button', { name: /^Answer/ }).click();
    await expect(softphone.getByTestId('call-state')).toHaveAttribute('data-state', 'active', { timeout: 15_000 });
    // Answering closes the pop.
    await expect(pop.getByTestId('caller-primary')).toHaveCount(0, { timeout: 15_000 });
    await expectAudioFlowing(page, 'the receptionist');
    await softphone.getByRole('button', { name: 'Hang up' }).click();
    await expect(softphone.getByTestId('current-call')).toHaveCount(0, { timeout: 15_000 });
    await expect.poll(async () => (await callLog(request, demo.account, callId)).status, { timeout: 15_000 }).toBe('completed');

    // Her record's history shows the call without a reload (live from the event stream).
    const historyRow = page.locator(`ds-call-history [data-call-id="${callId}"]`);
    await expect(historyRow).toBeVisible({ timeout: 15_000 });

    // The partner backend got the signed call.end and upserted its own row.
    const row = await webhookRow(webhooks.table, callId);
    expect(row).toMatchObject({ call_id: callId, status: 'completed', direction: 'inbound', from_number: '+16195550177' });

    // A tel: link on a patient's page dials through the softphone (handle-tel-links).
    await page.getByRole('link', { name: 'Patients' }).click();
    await page.getByRole('link', { name: 'Echo Test Line' }).click();
    await expect(page.getByTestId('patient-name')).toHaveText('Echo Test Line');
    await page.getByRole('link', { name: '+15005550001' }).click();
    await expect(softphone.getByTestId('call-state')).toHaveAttribute('data-state', 'active', { timeout: 15_000 });
    await expectAudioFlowing(page, 'the receptionist, from the echo number');
    await softphone.getByRole('button', { name: 'Hang up' }).click();
    await expect(softphone.getByTestId('current-call')).toHaveCount(0, { timeout: 15_000 });
    expect(page.url()).toBe(`${crmUrl}/#/patients/pat_echo_test`);
    expect(errors).toEqual([]);
  } finally {
    await webhooks.server.stop();
    await crm.stop();
    rmSync(dbDir, { recursive: true, force: true });
  }
});

test('click-to-call: the softphone rings first, the far end is bridged, the webhook table gets the row', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await recordPeerConnections(page);
  await page.goto('/?token-url=/_ds/demo/tokens/alice');
  const softphone = page.getByRole('region', { name: 'Softphone' });
  await expectConnected(softphone);

  const dbDir = mkdtempSync(path.join(tmpdir(), 'journey-c2c-'));
  // The example itself places the call (POST /v1/calls) to the simulated tone number.
  const example = await startWebhookLog(demo, dbDir, ['--to', '+15005550002', '--serve', '--wait-seconds', '90']);
  try {
    const callId = await example.server.waitFor(/^click-to-call (call_\w+):/);
    const incoming = softphone.getByTestId('incoming-card').filter({ hasText: 'Click-to-call' });
    await expect(incoming).toBeVisible({ timeout: 15_000 });
    await incoming.getByRole('button', { name: /^Answer/ }).click();
    // Bridged: the destination answered (answered_at is the far end's answer) and its tone reaches us.
    await expect
      .poll(async () => (await callLog(request, demo.account, callId)).answered_at ?? null, { timeout: 20_000 })
      .not.toBeNull();
    await expectAudioFlowing(page, 'Alice');
    await softphone.getByRole('button', { name: 'Hang up' }).click();

    const logged = await example.server.waitFor(new RegExp(`^call\\.end logged: ${callId} (status=\\S+)`));
    expect(logged).toBe('status=completed');
    const row = await webhookRow(example.table, callId);
    expect(row).toMatchObject({ call_id: callId, status: 'completed', user_id: demo.alice, to_number: '+15005550002' });
  } finally {
    await example.server.stop();
    rmSync(dbDir, { recursive: true, force: true });
  }
});

test('two users: Alice calls Bob, both hear audio, then an attended transfer hands Bob to the tone number', async ({ browser, request }) => {
  const demo = await demoUsers(request);
  const alicePage = await browser.newPage({ baseURL: baseUrl });
  const bobPage = await browser.newPage({ baseURL: baseUrl });
  try {
    for (const page of [alicePage, bobPage]) await recordPeerConnections(page);
    await alicePage.goto('/?token-url=/_ds/demo/tokens/alice');
    await bobPage.goto('/?token-url=/_ds/demo/tokens/bob');
    const alice = alicePage.getByRole('region', { name: 'Softphone' });
    const bob = bobPage.getByRole('region', { name: 'Softphone' });
    await expectConnected(alice);
    await expectConnected(bob);

    await alice.getByRole('textbox', { name: 'Number to call' }).fill('102');
    await alice.getByRole('button', { name: 'Call', exact: true }).click();
    const incoming = bob.getByTestId('incoming-card').filter({ hasText: 'Alice' });
    await expect(incoming).toBeVisible({ timeout: 15_000 });
    await incoming.getByRole('button', { name: /^Answer/ }).click();
    for (const side of [alice, bob]) {
      await expect(side.getByTestId('call-state')).toHaveAttribute('data-state', 'active', { timeout: 15_000 });
    }
    await expectAudioFlowing(alicePage, 'Alice');
    await expectAudioFlowing(bobPage, 'Bob');

    // Attended transfer: Alice consults the tone number, then joins Bob to it.
    await alice.getByRole('button', { name: 'Transfer', exact: true }).click();
    await alice.getByRole('textbox', { name: 'Transfer to' }).fill('+15005550002');
    await alice.getByRole('button', { name: 'Consult first' }).click();
    const complete = alice.getByRole('button', { name: 'Complete transfer' });
    await expect(complete).toBeEnabled({ timeout: 15_000 });
    await complete.click();
    // Alice is out of both calls; Bob is still in his, now hearing the tone from the far end.
    await expect(alice.getByTestId('current-call')).toHaveCount(0, { timeout: 15_000 });
    await expect(bob.getByTestId('call-state')).toHaveAttribute('data-state', 'active');
    await expectAudioFlowing(bobPage, 'Bob after the transfer');
    await bob.getByRole('button', { name: 'Hang up' }).click();
    await expect(bob.getByTestId('current-call')).toHaveCount(0, { timeout: 15_000 });
  } finally {
    await alicePage.close();
    await bobPage.close();
  }
});
