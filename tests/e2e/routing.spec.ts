// Issue #9 end to end: the seed's "dial plan with AI overflow" created verbatim over REST on
// the ds-local that `cargo xtask test` starts (--demo --fast-timers, DS_BASE_URL), a number
// ordered and routed to it, Alice and Bob signed in on the hosted softphone in Chromium, and
// the seed's overflow target `va_ai_receptionist` served by the examples/ai-receptionist binary
// (started here as a child process on 127.0.0.1:0).
//
// --fast-timers makes one routing second last 100 ms (ds_local::signalling::Timers::fast), so
// the plan's 25 s team ring takes 2.5 s.
import { expect, test, type Browser, type BrowserContext, type Locator, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { callLog, demoUsers, PLATFORM_KEY } from './calls-helpers';
import {
  Api,
  expectHearing,
  inboundAudio,
  incomingCardChanges,
  LineProcess,
  readWav,
  recordIncomingCards,
  recordPeerConnections,
  rms,
  signatureIsValid,
  tonePower,
  WebhookReceiver,
  type CardChange,
} from './routing-helpers';

const root = process.cwd();
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
const baseUrl = (process.env.DS_BASE_URL ?? 'http://127.0.0.1:8787').replace(/\/$/, '');

/** The seed's numbers: the clinic's main line, a second line for Alice, the patient calling. */
const MAIN_NUMBER = '+16175550142';
const ALICE_LINE = '+16175550143';
const CALLER = '+16195550177';
const CALLER_NAME = 'JANE ROE';
/** One routing second under --fast-timers, and the seed's team ring in real time. */
const ROUTING_SECOND_MS = 100;
const TEAM_RING_MS = 25 * ROUTING_SECOND_MS;

/** The seed's plan, verbatim (docs: "Advanced example: dial plan with AI overflow"). */
const SEED_PLAN = {
  name: 'Main number',
  entry_node: 'hours',
  nodes: [
    {
      id: 'hours',
      type: 'schedule',
      config: { schedule_id: 'sch_business_hours', open: 'ring_team', closed: 'ai_reception' },
    },
    { id: 'ring_team', type: 'ring_all_users', config: { timeout: 25, next: 'ai_reception' } },
    { id: 'ai_reception', type: 'internal_dial', config: { target_id: 'va_ai_receptionist' } },
  ],
};

/** Business hours the seed's schedule id stands for: Monday to Friday, 09:00–17:00 in Boston. */
const BUSINESS_HOURS = {
  kind: 'schedule',
  id: 'sch_business_hours',
  name: 'Business hours',
  timezone: 'America/New_York',
  ranges: [1, 2, 3, 4, 5].map((day) => ({ day, start: '09:00', end: '17:00' })),
};
/** Wednesday 2 September 2026, 10:00 in Boston (EDT), and 22:00 the same day. */
const INSIDE_HOURS = '2026-09-02T14:00:00Z';
const OUTSIDE_HOURS = '2026-09-03T02:00:00Z';

test.describe.configure({ timeout: 90_000 });

type Setup = {
  api: Api;
  demo: { account: string; alice: string; bob: string };
  receptionist: LineProcess;
  recordings: string;
  webhooks: WebhookReceiver;
  endpointId: string;
  frontDesk: string;
  planId: string;
  mainDid: string;
  aliceDid: string;
};
let setup: Setup;
let dispose: Array<() => Promise<unknown> | unknown> = [];

/** Orders `number` for the account (already owning it from an earlier run is fine); its DID id. */
async function ownedNumber(api: Api, number: string): Promise<string> {
  const order = await api.created('/v1/phone-number-orders', { phone_numbers: [number] });
  expect(['complete', 'failed'], JSON.stringify(order)).toContain(order.status);
  const numbers = await api.read('/v1/phone-numbers?limit=100');
  const did = numbers.data.find((n: any) => n.phone_number === number);
  expect(did, `${number} is one of the account's numbers`).toBeTruthy();
  return did.id;
}

/** The seed's voice app with its seed id; its secret (an earlier run may have created it). */
async function receptionistApp(api: Api, account: string): Promise<string> {
  const created = await api.post('/_ds/fixtures', {
    account,
    objects: [{ kind: 'voice_app', id: 'va_ai_receptionist', name: 'AI receptionist', url: 'http://127.0.0.1:9/webhook' }],
  });
  expect([200, 409], await created.text()).toContain(created.status());
  return (await api.read('/v1/voice-apps/va_ai_receptionist')).secret;
}

test.beforeAll(async ({ playwright }) => {
  // A first build after a change takes minutes on a small machine; a current one is a no-op.
  test.setTimeout(15 * 60_000);
  execFileSync('cargo', ['build', '-q', '--offline', '-p', 'ai-receptionist'], {
    cwd: root,
    stdio: 'inherit',
    timeout: 15 * 60_000,
  });
  const request = await playwright.request.newContext({ baseURL: baseUrl });
  dispose.push(() => request.dispose());
  const demo = await demoUsers(request);
  const api = new Api(request, demo.account);

  // A partner backend's signed webhook endpoint for the account's events.
  const webhooks = await WebhookReceiver.start();
  dispose.push(() => webhooks.close());
  const endpoint = await api.created('/v1/webhook_endpoints', {
    url: webhooks.url,
    enabled_events: ['*'],
    description: 'routing.spec.ts',
  });
  webhooks.secret = endpoint.secret;
  dispose.push(() => api.delete(`/v1/webhook_endpoints/${endpoint.id}`));

  // The seed's ids exist as themselves (/_ds/fixtures), so the plan needs no adapting.
  const schedule = await api.post('/_ds/fixtures', { account: demo.account, objects: [BUSINESS_HOURS] });
  expect([200, 409], await schedule.text()).toContain(schedule.status());
  const secret = await receptionistApp(api, demo.account);

  // "Press 1 for the front desk": a ring group with Alice as its member that rings long
  // enough (300 routing seconds = 30 s) for a browser to answer under any load.
  const frontDesk = (await api.created('/v1/ring_groups', { name: 'Front desk', timeout_seconds: 300 })).id;
  await api.created(`/v1/ring_groups/${frontDesk}/members`, { extension: demo.alice });

  const recordings = mkdtempSync(path.join(tmpdir(), 'routing-receptionist-'));
  dispose.push(() => rmSync(recordings, { recursive: true, force: true }));
  const receptionist = LineProcess.start(path.join(targetDir, 'debug', 'ai-receptionist'), [
    '--listen', '127.0.0.1:0', '--api', baseUrl, '--recordings', recordings, '--front-desk', frontDesk,
  ], { DIALSTACK_KEY: PLATFORM_KEY, VOICE_APP_SECRET: secret });
  dispose.push(() => receptionist.stop());
  const webhookUrl = await receptionist.waitFor(/\(webhook: (http:\/\/127\.0\.0\.1:\d+\/webhook)\)/);
  await api.created('/v1/voice-apps/va_ai_receptionist', { url: webhookUrl, status: 'active' });

  // The main number routes to the seed's plan; Alice's line straight to her.
  const plan = await api.created('/v1/dialplans', SEED_PLAN);
  const mainDid = await ownedNumber(api, MAIN_NUMBER);
  await api.created(`/v1/phone-numbers/${mainDid}/route`, { routing_target: plan.id });
  const aliceDid = await ownedNumber(api, ALICE_LINE);
  await api.created(`/v1/phone-numbers/${aliceDid}/route`, { routing_target: demo.alice });
  // Schedules follow the real clock again whatever happens (the clock is server-wide).
  dispose.push(() => api.post('/_ds/clock', { now: null }));

  setup = {
    api, demo, receptionist, recordings, webhooks, endpointId: endpoint.id, frontDesk,
    planId: plan.id, mainDid, aliceDid,
  };
});

test.afterAll(async () => {
  for (const step of dispose.reverse()) await step();
  dispose = [];
});

/** The hosted softphone of a demo user, signed in through the demo token URL, in its own context. */
async function signIn(browser: Browser, who: 'alice' | 'bob'): Promise<{ context: BrowserContext; page: Page; phone: Locator }> {
  const context = await browser.newContext({ baseURL: baseUrl });
  const page = await context.newPage();
  await recordIncomingCards(page);
  await recordPeerConnections(page);
  await page.goto(`/?token-url=/_ds/demo/tokens/${who}`);
  const phone = page.getByRole('region', { name: 'Softphone' });
  await expect(phone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', { timeout: 30_000 });
  return { context, page, phone };
}

async function setClock(now: string) {
  const clock = await setup.api.created('/_ds/clock', { now });
  expect(clock).toMatchObject({ frozen: true });
}

/** The simulated PSTN caller dials `number`; returns the routed call's id. */
async function callNumber(number: string, scenario: Record<string, unknown>): Promise<string> {
  const created = await setup.api.created('/v1/test_helpers/calls', {
    to_number: number,
    from_number: CALLER,
    from_name: CALLER_NAME,
    scenario,
  });
  expect(created.scenario).toBe('routed');
  return created.id;
}

/** The call log row once the call has ended. */
async function endedCall(callId: string): Promise<any> {
  let row: any = null;
  await expect
    .poll(async () => {
      row = await callLog(setup.api.request, setup.demo.account, callId);
      return row.status;
    }, { timeout: 30_000, message: `${callId} ends` })
    .not.toBeNull();
  return row;
}

/** Waits for the webhook of `type` about `callId`. */
async function webhookOf(callId: string, type: string): Promise<any> {
  await expect
    .poll(() => setup.webhooks.ofCall(callId).map((d) => d.type), { timeout: 30_000, message: `${type} of ${callId}` })
    .toContain(type);
  return setup.webhooks.ofCall(callId).find((d) => d.type === type)!;
}

/** What the receptionist recorded of the caller: the WAV it wrote when the media socket ended. */
async function callerRecordedByReceptionist(callId: string) {
  const file = await setup.receptionist.waitFor(new RegExp(`recorded.*call_id=${callId}.*path=(\\S+\\.wav)`), 30_000);
  expect(path.dirname(file)).toBe(setup.recordings);
  return readWav(readFileSync(file));
}

/** The caller's voice is the simulated caller's 440 Hz tone (the greeting is 660/880 Hz). */
function expectCallerVoice(wav: { rate: number; samples: Int16Array }) {
  expect(wav.rate).toBe(8000);
  expect(wav.samples.length, 'at least half a second of caller audio').toBeGreaterThan(4000);
  expect(rms(wav.samples), 'the caller audio is not silence').toBeGreaterThan(1000);
  const tone = tonePower(wav.samples, wav.rate, 440);
  expect(tone, 'the caller tone dominates').toBeGreaterThan(20 * tonePower(wav.samples, wav.rate, 660));
  expect(tone).toBeGreaterThan(20 * tonePower(wav.samples, wav.rate, 880));
}

function ringsIn(changes: CardChange[]): CardChange[] {
  return changes.filter((change, i) => change.count > 0 && (i === 0 || changes[i - 1].count === 0));
}

test('the seed plan is stored verbatim; plans with dangling references are refused with errors naming the node', async () => {
  const { api } = setup;
  const stored = await api.read(`/v1/dialplans/${setup.planId}`);
  expect(stored).toMatchObject({ name: SEED_PLAN.name, entry_node: SEED_PLAN.entry_node });
  // Every node as the seed wrote it (ds-local adds the canonical `schedule` / `target` aliases).
  expect(stored.nodes).toMatchObject(SEED_PLAN.nodes);
  const numbers = await api.read('/v1/phone-numbers?limit=100');
  expect(numbers.data.find((n: any) => n.id === setup.mainDid)).toMatchObject({ phone_number: MAIN_NUMBER });

  const suffix = Date.now().toString(36);
  const dangling = structuredClone(SEED_PLAN);
  dangling.name = `Dangling next ${suffix}`;
  dangling.nodes[1].config = { timeout: 25, next: 'ai_receptoin' };
  const refused = await api.post('/v1/dialplans', dangling);
  expect(refused.status()).toBe(400);
  const error = await refused.json();
  // rest.md §9.4: the message starts with the JSON pointer of the node's field and names the
  // node it cannot find; `details` repeats it and names the node that holds the reference.
  expect(error).toMatchObject({
    error: '/nodes/1/config/next: references unknown node "ai_receptoin"',
    code: 'validation_error',
    details: { '/nodes/1/config/next': 'references unknown node "ai_receptoin"', node: 'ring_team' },
  });

  const badEntry = { ...structuredClone(SEED_PLAN), name: `Dangling entry ${suffix}`, entry_node: 'opening_hours' };
  const refusedEntry = await api.post('/v1/dialplans', badEntry);
  expect(refusedEntry.status()).toBe(400);
  const entryError = await refusedEntry.json();
  expect(entryError.code).toBe('validation_error');
  expect(entryError.error).toMatch(/^\/entry_node: .*"opening_hours"/);

  const badSchedule = structuredClone(SEED_PLAN);
  badSchedule.name = `Dangling schedule exit ${suffix}`;
  badSchedule.nodes[0].config = { schedule_id: 'sch_business_hours', open: 'ring_the_team', closed: 'ai_reception' };
  const refusedSchedule = await api.post('/v1/dialplans', badSchedule);
  expect(refusedSchedule.status()).toBe(400);
  const scheduleError = await refusedSchedule.json();
  expect(scheduleError).toMatchObject({
    error: '/nodes/0/config/open: references unknown node "ring_the_team"',
    code: 'validation_error',
    details: { node: 'hours' },
  });

  // Nothing refused was stored; the seed plan is untouched.
  const plans = await api.read('/v1/dialplans?limit=100');
  expect(plans.data.map((p: any) => p.name).filter((n: string) => n.endsWith(suffix))).toEqual([]);
  expect((await api.read(`/v1/dialplans/${setup.planId}`)).nodes).toEqual(stored.nodes);
});

test('inside business hours a call rings Alice and Bob, nobody answers, after the 25 s team ring it overflows to the receptionist, which hears the caller and on 1 transfers to the front desk, where Alice answers and hears the caller', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const bob = await signIn(browser, 'bob');
  try {
    await setClock(INSIDE_HOURS);
    const dialledAt = Date.now();
    // The caller presses 1 once the receptionist has its audio, and stays on the line 60 s.
    const callId = await callNumber(MAIN_NUMBER, { digits: '1', talk_seconds: 60 });

    // Both softphones ring (role and name of the card, the caller's name on it).
    for (const side of [alice, bob]) {
      const incoming = side.phone.getByRole('region', { name: 'Incoming call' });
      await expect(incoming).toContainText(CALLER_NAME, { timeout: 15_000 });
      await expect(incoming.getByRole('button', { name: `Answer ${CALLER_NAME}` })).toBeVisible();
    }
    // Nobody answers: Bob's ring ends after the team's 25 routing seconds and does not come back.
    await expect(bob.phone.getByRole('region', { name: 'Incoming call' })).toHaveCount(0, { timeout: 15_000 });

    // The receptionist takes the call (signed call.received checked, media attached) ...
    await setup.receptionist.waitFor(new RegExp(`answering.*call_id=${callId}`), 20_000);
    await setup.receptionist.waitFor(new RegExp(`media socket open.*call_id=${callId}`), 20_000);
    // ... hears the caller press 1 and transfers the call to the front desk.
    await setup.receptionist.waitFor(new RegExp(`caller pressed a key.*call_id=${callId}.*'1'`), 20_000);
    const transferStatus = await setup.receptionist.waitFor(
      new RegExp(`transfer to the front desk.*call_id=${callId}.*status=(\\d+)`),
      20_000,
    );
    expect(Number(transferStatus)).toBeGreaterThanOrEqual(200);
    expect(Number(transferStatus)).toBeLessThan(300);
    // What it heard of the caller (until the transfer ended its socket) is the caller's voice.
    expectCallerVoice(await callerRecordedByReceptionist(callId));

    // The front desk is Alice: her phone rings a second time, for the transferred call.
    await expect
      .poll(async () => ringsIn(await incomingCardChanges(alice.page)).length, { timeout: 20_000, message: 'Alice rings again' })
      .toBe(2);
    const aliceChanges = await incomingCardChanges(alice.page);
    const [teamRing, frontDeskRing] = ringsIn(aliceChanges);
    expect(teamRing.text).toContain(CALLER_NAME);
    expect(frontDeskRing.text).toContain(CALLER_NAME);
    const teamRingEnded = aliceChanges.find((c) => c.at >= teamRing.at && c.count === 0)!;
    expect(teamRingEnded.at).toBeLessThan(frontDeskRing.at);
    // The team rang for the node's 25 routing seconds (2.5 s here, not 25 s: fast timers).
    expect(teamRingEnded.at - dialledAt).toBeGreaterThanOrEqual(TEAM_RING_MS);
    expect(teamRingEnded.at - dialledAt).toBeLessThan(25_000);
    const bobChanges = await incomingCardChanges(bob.page);
    expect(ringsIn(bobChanges)).toHaveLength(1);
    expect(bobChanges.at(-1)!.at - dialledAt).toBeGreaterThanOrEqual(TEAM_RING_MS);

    const incoming = alice.phone.getByRole('region', { name: 'Incoming call' });
    await incoming.getByRole('button', { name: `Answer ${CALLER_NAME}` }).click();
    const current = alice.phone.getByRole('region', { name: 'Current call' });
    await expect(current).toContainText('Connected', { timeout: 15_000 });
    await expectHearing(alice.page, 'Alice at the front desk');
    expect(ringsIn(await incomingCardChanges(bob.page)), 'the front desk is Alice only').toHaveLength(1);
    await current.getByRole('button', { name: 'Hang up' }).click();

    const row = await endedCall(callId);
    expect(row).toMatchObject({ status: 'completed', direction: 'inbound', user_id: setup.demo.alice });
    expect(row.connected_at).not.toBeNull();
    // The partner's webhook endpoint saw the whole story, every delivery signed.
    const transfer = await webhookOf(callId, 'call.transfer');
    expect(transfer.data).toMatchObject({ transfer_type: 'blind', transferred_to: setup.frontDesk });
    expect((await webhookOf(callId, 'call.end')).data).toMatchObject({ status: 'completed' });
    const types = setup.webhooks.ofCall(callId).map((d) => d.type);
    expect(types).toEqual(expect.arrayContaining(['call.incoming', 'call.ringing', 'call.transfer', 'call.end']));
    expect(setup.webhooks.ofCall(callId).every((d) => d.signatureValid)).toBe(true);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test('outside business hours the call goes straight to the receptionist and no softphone rings', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  const bob = await signIn(browser, 'bob');
  try {
    await setClock(OUTSIDE_HOURS);
    const callId = await callNumber(MAIN_NUMBER, { talk_seconds: 2 });

    await setup.receptionist.waitFor(new RegExp(`answering.*call_id=${callId}`), 20_000);
    await setup.receptionist.waitFor(new RegExp(`media socket open.*call_id=${callId}`), 20_000);
    // The caller talks to the receptionist for 2 s and hangs up: recorded, and completed.
    expectCallerVoice(await callerRecordedByReceptionist(callId));
    const row = await endedCall(callId);
    expect(row).toMatchObject({ status: 'completed', direction: 'inbound', user_id: null });
    expect(row.answered_at).not.toBeNull();

    // Neither phone ever showed an incoming card, and no leg rang.
    for (const side of [alice, bob]) {
      await expect(side.phone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected');
      expect(await incomingCardChanges(side.page)).toEqual([]);
    }
    await webhookOf(callId, 'call.end');
    const types = setup.webhooks.ofCall(callId).map((d) => d.type);
    expect(types).toContain('call.incoming');
    expect(types).not.toContain('call.ringing');
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test('a number routed to Alice goes to her voicemail when nobody answers: listed, downloadable as a WAV with audio, announced by a signed voicemail.new', async ({ browser }) => {
  const alice = await signIn(browser, 'alice');
  try {
    const callId = await callNumber(ALICE_LINE, { voicemail_seconds: 2 });
    const incoming = alice.phone.getByRole('region', { name: 'Incoming call' });
    await expect(incoming).toContainText(CALLER_NAME, { timeout: 15_000 });
    // Nobody answers: the ring ends and the caller leaves a 2 s message.
    await expect(incoming).toHaveCount(0, { timeout: 15_000 });
    const row = await endedCall(callId);
    expect(row).toMatchObject({ status: 'voicemail', did: expect.anything() });
    expect(row.connected_at).toBeNull();

    const list = await setup.api.read(`/v1/voicemails?owner=${setup.demo.alice}&limit=100`);
    const voicemail = list.data.find((v: any) => v.call === callId);
    expect(voicemail, 'the message is listed').toBeTruthy();
    expect(voicemail).toMatchObject({
      owner: setup.demo.alice, from_number: CALLER, from_name: CALLER_NAME, format: 'wav', duration_seconds: 2, is_read: false,
    });

    // The signed media URL downloads without credentials: a WAV holding the caller's audio.
    const download = await fetch(voicemail.audio_url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('audio/wav');
    const wav = readWav(Buffer.from(await download.arrayBuffer()));
    expect(wav.samples.length / wav.rate).toBeCloseTo(2, 1);
    expect(rms(wav.samples), 'the message is not silence').toBeGreaterThan(1000);
    const tampered = await fetch(voicemail.audio_url.replace('/_ds/media/vm_', '/_ds/media/vm_x'));
    expect(tampered.status).toBe(404);

    // Announced to the partner's endpoint by a signed voicemail.new naming it.
    const announced = await webhookOf(callId, 'voicemail.new');
    expect(announced.signatureValid).toBe(true);
    // The check is real: another secret, or one changed byte of the body, fails it.
    const now = Math.floor(Date.now() / 1000);
    expect(signatureIsValid('whsec_not_the_secret', announced.signature, announced.body, now)).toBe(false);
    const altered = Buffer.from(announced.body.toString('utf8').replace(CALLER, '+16195550178'));
    expect(signatureIsValid(setup.webhooks.secret, announced.signature, altered, now)).toBe(false);
    expect(announced.data).toMatchObject({ voicemail_id: voicemail.id, owner: setup.demo.alice, from_number: CALLER });
  } finally {
    await alice.context.close();
  }
});

test('a softphone dialling an extension of the receptionist hears its greeting over WebRTC, and the receptionist hears the softphone', async ({ browser }) => {
  // Extension 450 → the receptionist (an earlier run against the same server may have made it).
  const extension = await setup.api.post('/v1/extensions', { number: '450', target: 'va_ai_receptionist' });
  expect([200, 201, 409], await extension.text()).toContain(extension.status());
  const bob = await signIn(browser, 'bob');
  try {
    const linesBefore = setup.receptionist.lines.length;
    await bob.phone.getByRole('textbox', { name: 'Number to call' }).fill('450');
    await bob.phone.getByRole('button', { name: 'Call', exact: true }).click();
    await expect(bob.phone.getByRole('region', { name: 'Current call' })).toContainText('Connected', { timeout: 20_000 });

    // The receptionist answers the routed call and opens its media socket …
    let callId = '';
    await expect
      .poll(() => {
        const line = setup.receptionist.lines.slice(linesBefore).find((l) => /answering.*call_id=\S+/.test(l));
        callId = line?.match(/call_id=(\S+)/)?.[1] ?? '';
        return callId;
      }, { timeout: 20_000, message: 'the receptionist answers' })
      .not.toBe('');
    await setup.receptionist.waitFor(new RegExp(`media socket open.*call_id=${callId}`), 20_000);
    // … and its greeting (a 0.8 s chime, the only audio that leg carries: before the app
    // attaches it is silent) reaches the browser as Opus with audio energy.
    await expect
      .poll(async () => (await inboundAudio(bob.page)).energy, { timeout: 15_000, message: 'Bob hears the greeting' })
      .toBeGreaterThan(0.005);

    // Bob stays on the line a moment, then hangs up: the receptionist recorded his browser's
    // audio (Chromium's fake microphone) for as long as the call lasted.
    await bob.page.waitForTimeout(1500);
    await bob.phone.getByRole('button', { name: 'Hang up' }).click();
    const file = await setup.receptionist.waitFor(new RegExp(`recorded.*call_id=${callId}.*path=(\\S+\\.wav)`), 30_000);
    const wav = readWav(readFileSync(file));
    expect(wav.samples.length, 'the receptionist heard the softphone for a while').toBeGreaterThan(4000);
    // Chromium's fake microphone beeps: what the app heard is not all silence.
    const peak = wav.samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0);
    expect(peak, 'the softphone audio reached the app').toBeGreaterThan(1000);
    const row = await endedCall(callId);
    expect(row).toMatchObject({ status: 'completed', direction: 'internal', to_number: '450' });
  } finally {
    await bob.context.close();
  }
});
