// Calls that really connect: headless Chromium speaks protocol.md over /v1/webrtc with plain
// browser WebRTC, against ds-local's media engine, all on 127.0.0.1 (run inside `unshare -n`).
// ds-local runs with --demo and (when the runner passes it) --fast-timers.
import { expect, test } from '@playwright/test';
import {
  PLATFORM_KEY,
  accountSession,
  callLog,
  demoUsers,
  expectAudioFrom,
  finishedCallLog,
  frames,
  inboundAudio,
  phonePage,
  userToken,
  waitForFrame,
} from './calls-helpers';

test('calling the echo number returns the caller\'s own audio, and the call is logged and announced', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await phonePage(page);
  const secret = await accountSession(request, demo.account);
  await page.evaluate((s) => (window as any).phone.watchEvents(s), secret);
  const token = await userToken(request, demo.alice);
  const authenticated = await page.evaluate((t) => (window as any).phone.connect(t), token);
  expect(authenticated).toMatchObject({ user_id: demo.alice, account_id: demo.account });

  const reqId = await page.evaluate(() => (window as any).phone.dial('+15005550001'));
  const trying = await waitForFrame(page, { type: 'call.trying', req_id: reqId });
  const callId = trying.call_id as string;
  expect(callId).toMatch(/^call_[0-9a-z]{26}$/);
  await waitForFrame(page, { type: 'call.answered', call_id: callId });
  // §16.6: sdp.answer before call.answered, and call.trying first of all.
  const types = (await frames(page)).filter((f) => f.call_id === callId).map((f) => f.type);
  expect(types[0]).toBe('call.trying');
  expect(types.indexOf('sdp.answer')).toBeLessThan(types.indexOf('call.answered'));
  await expectAudioFrom(page, callId);

  await page.evaluate((id) => (window as any).phone.send({ type: 'call.hangup', call_id: id }), callId);
  const ended = await waitForFrame(page, { type: 'call.ended', call_id: callId });
  expect(ended.reason).toBe('hangup');
  expect(typeof ended.duration_seconds).toBe('number');

  const row = await finishedCallLog(request, demo.account, callId);
  expect(row).toMatchObject({
    id: callId,
    user: demo.alice,
    direction: 'outbound',
    to_number: '+15005550001',
    status: 'completed',
    from_label: 'Alice Smith',
  });
  expect(row.answered_at).not.toBeNull();
  expect(row.ended_at).not.toBeNull();
  await expect
    .poll(async () =>
      page.evaluate((id) => (window as any).phone.events.filter((e: any) => e.data?.call_id === id).map((e: any) => e.event), callId),
    )
    .toEqual(['call.initiated', 'call.answered', 'call.end']);
});

test('calling the tone number plays a tone', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await phonePage(page);
  await page.evaluate((t) => (window as any).phone.connect(t), await userToken(request, demo.alice));
  const reqId = await page.evaluate(() => (window as any).phone.dial('+15005550002'));
  const callId = (await waitForFrame(page, { type: 'call.trying', req_id: reqId })).call_id;
  await waitForFrame(page, { type: 'call.ringing', call_id: callId });
  await waitForFrame(page, { type: 'call.answered', call_id: callId });
  await expectAudioFrom(page, callId);
  await page.evaluate((id) => (window as any).phone.send({ type: 'call.hangup', call_id: id }), callId);
  expect((await finishedCallLog(request, demo.account, callId)).status).toBe('completed');
});

test('DTMF sent to the IVR is answered and recorded on the call log', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await phonePage(page);
  await page.evaluate((t) => (window as any).phone.connect(t), await userToken(request, demo.alice));
  const reqId = await page.evaluate(() => (window as any).phone.dial('+15005550006'));
  const callId = (await waitForFrame(page, { type: 'call.trying', req_id: reqId })).call_id;
  await waitForFrame(page, { type: 'call.answered', call_id: callId });
  await expect
    .poll(async () => (await inboundAudio(page, callId)).packetsReceived, { timeout: 15_000 })
    .toBeGreaterThan(0);
  await page.evaluate((id) => (window as any).phone.dtmf(id, '15#'), callId);
  await expect
    .poll(async () => (await callLog(request, demo.account, callId)).dtmf_digits, { timeout: 10_000 })
    .toBe('15#');
  // The IVR's answer bursts are audible.
  await expectAudioFrom(page, callId);
  await page.evaluate((id) => (window as any).phone.send({ type: 'call.hangup', call_id: id }), callId);
  const row = await finishedCallLog(request, demo.account, callId);
  expect(row).toMatchObject({ status: 'completed', dtmf_digits: '15#' });
});

test('Alice calls Bob by extension and each hears the other', async ({ browser, request }) => {
  const demo = await demoUsers(request);
  const context = await browser.newContext();
  const alice = await phonePage(await context.newPage());
  const bob = await phonePage(await context.newPage());
  await alice.evaluate((t) => (window as any).phone.connect(t), await userToken(request, demo.alice));
  await bob.evaluate((t) => (window as any).phone.connect(t), await userToken(request, demo.bob));

  const reqId = await alice.evaluate(() => (window as any).phone.dial('102'));
  const aliceCall = (await waitForFrame(alice, { type: 'call.trying', req_id: reqId })).call_id;
  const incoming = await waitForFrame(bob, { type: 'call.incoming' });
  expect(incoming).toMatchObject({ from: '101', from_name: 'Alice Smith', to: '102' });
  const bobCall = incoming.call_id;
  await waitForFrame(bob, { type: 'sdp.offer', call_id: bobCall });
  await waitForFrame(alice, { type: 'call.ringing', call_id: aliceCall });
  await bob.evaluate((id) => (window as any).phone.answer(id), bobCall);
  await waitForFrame(bob, { type: 'call.answered', call_id: bobCall });
  await waitForFrame(alice, { type: 'call.answered', call_id: aliceCall });
  // Each hears the other's (fake, beeping) microphone through ds-local's bridge.
  await expectAudioFrom(alice, aliceCall);
  await expectAudioFrom(bob, bobCall);

  await alice.evaluate((id) => (window as any).phone.send({ type: 'call.hangup', call_id: id }), aliceCall);
  expect((await waitForFrame(bob, { type: 'call.ended', call_id: bobCall })).reason).toBe('hangup');
  expect((await waitForFrame(alice, { type: 'call.ended', call_id: aliceCall })).reason).toBe('hangup');
  expect(await finishedCallLog(request, demo.account, aliceCall)).toMatchObject({ direction: 'internal', user: demo.alice, status: 'completed' });
  expect(await finishedCallLog(request, demo.account, bobCall)).toMatchObject({ direction: 'internal', user: demo.bob, status: 'completed' });
  await context.close();
});

test('the busy number ends busy and the no-answer number ends no-answer', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await phonePage(page);
  await page.evaluate((t) => (window as any).phone.connect(t), await userToken(request, demo.alice));

  const busyReq = await page.evaluate(() => (window as any).phone.dial('+15005550003'));
  const busyCall = (await waitForFrame(page, { type: 'call.trying', req_id: busyReq })).call_id;
  const busy = await waitForFrame(page, { type: 'call.ended', call_id: busyCall });
  expect(busy).toMatchObject({ reason: 'busy', duration_seconds: null });
  expect((await finishedCallLog(request, demo.account, busyCall)).status).toBe('busy');

  const silentReq = await page.evaluate(() => (window as any).phone.dial('+15005550004'));
  const silentCall = (await waitForFrame(page, { type: 'call.trying', req_id: silentReq })).call_id;
  await waitForFrame(page, { type: 'call.ringing', call_id: silentCall });
  const noAnswer = await waitForFrame(page, { type: 'call.ended', call_id: silentCall }, 45_000);
  expect(noAnswer).toMatchObject({ reason: 'no-answer', duration_seconds: null });
  expect((await finishedCallLog(request, demo.account, silentCall)).status).toBe('no-answer');

  const failReq = await page.evaluate(() => (window as any).phone.dial('+15005550009'));
  const failed = await waitForFrame(page, { type: 'error', req_id: failReq });
  expect(failed).toMatchObject({ code: 'call_failed' });
});

test('a call survives a dropped socket and is restored on reconnect', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await phonePage(page);
  const token = await userToken(request, demo.alice);
  await page.evaluate((t) => (window as any).phone.connect(t), token);
  const reqId = await page.evaluate(() => (window as any).phone.dial('+15005550001'));
  const callId = (await waitForFrame(page, { type: 'call.trying', req_id: reqId })).call_id;
  await waitForFrame(page, { type: 'call.answered', call_id: callId });
  await expectAudioFrom(page, callId);

  await page.evaluate(() => (window as any).phone.dropSocket());
  const before = (await inboundAudio(page, callId)).packetsReceived;
  const again = await page.evaluate((t) => (window as any).phone.connect(t), token);
  expect(again).toMatchObject({ type: 'authenticated', reconnected: true });
  const restored = await waitForFrame(page, { type: 'call.restored', call_id: callId });
  expect(restored).toMatchObject({ state: 'active', direction: 'outbound', to: '+15005550001' });
  expect(restored.answered_at).toMatch(/Z$/);
  // The media never stopped.
  await expect.poll(async () => (await inboundAudio(page, callId)).packetsReceived).toBeGreaterThan(before);
  await page.evaluate((id) => (window as any).phone.send({ type: 'call.hangup', call_id: id }), callId);
  expect((await waitForFrame(page, { type: 'call.ended', call_id: callId })).reason).toBe('hangup');
  expect((await finishedCallLog(request, demo.account, callId)).status).toBe('completed');
});

test('click-to-call rings the softphone, then the destination answers with a tone', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await phonePage(page);
  await page.evaluate((t) => (window as any).phone.connect(t), await userToken(request, demo.alice));
  const created = await request.post('/v1/calls', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': demo.account },
    data: { user: demo.alice, dial_string: '+15005550002' },
  });
  expect(created.status()).toBe(202);
  const callId = (await created.json()).id;
  const incoming = await waitForFrame(page, { type: 'call.incoming', call_id: callId });
  expect(incoming).toMatchObject({ from: '+15005550002', from_name: 'Click-to-call', to: '101' });
  await waitForFrame(page, { type: 'sdp.offer', call_id: callId });
  await page.evaluate((id) => (window as any).phone.answer(id), callId);
  await waitForFrame(page, { type: 'call.answered', call_id: callId });
  await expectAudioFrom(page, callId);
  await expect.poll(async () => (await callLog(request, demo.account, callId)).answered_at, { timeout: 10_000 }).not.toBeNull();
  await page.evaluate((id) => (window as any).phone.send({ type: 'call.hangup', call_id: id }), callId);
  expect(await finishedCallLog(request, demo.account, callId)).toMatchObject({ status: 'completed', user: demo.alice });
});

test('a test-helper caller rings the softphone, is heard, and its DTMF digits are logged', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await phonePage(page);
  await page.evaluate((t) => (window as any).phone.connect(t), await userToken(request, demo.bob));
  const created = await request.post('/v1/test_helpers/calls', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': demo.account },
    data: { user: demo.bob, from_number: '+16195550177', from_name: 'JANE ROE' },
  });
  expect(created.status()).toBe(200);
  const { id: callId, scenario } = await created.json();
  expect(scenario).toBe('answered');
  const incoming = await waitForFrame(page, { type: 'call.incoming', call_id: callId });
  expect(incoming).toMatchObject({ from: '+16195550177', from_name: 'JANE ROE' });
  await waitForFrame(page, { type: 'sdp.offer', call_id: callId });
  await page.evaluate((id) => (window as any).phone.answer(id), callId);
  await waitForFrame(page, { type: 'call.answered', call_id: callId });
  await expectAudioFrom(page, callId);
  await page.evaluate((id) => (window as any).phone.dtmf(id, '42'), callId);
  await expect.poll(async () => (await callLog(request, demo.account, callId)).dtmf_digits, { timeout: 10_000 }).toBe('42');
  await page.evaluate((id) => (window as any).phone.send({ type: 'call.hangup', call_id: id }), callId);
  expect(await finishedCallLog(request, demo.account, callId)).toMatchObject({
    status: 'completed',
    direction: 'inbound',
    from_number: '+16195550177',
    from_label: 'JANE ROE',
  });
});

test('early media arrives as a provisional answer the browser applies before the final one', async ({ page, request }) => {
  const demo = await demoUsers(request);
  await phonePage(page);
  await page.evaluate((t) => (window as any).phone.connect(t), await userToken(request, demo.alice));
  const reqId = await page.evaluate(() => (window as any).phone.dial('+15005550005'));
  const callId = (await waitForFrame(page, { type: 'call.trying', req_id: reqId })).call_id;
  await waitForFrame(page, { type: 'sdp.pranswer', call_id: callId });
  // Ringback is heard before the answer.
  await expectAudioFrom(page, callId);
  await waitForFrame(page, { type: 'call.answered', call_id: callId });
  const types = (await frames(page)).filter((f) => f.call_id === callId).map((f) => f.type);
  expect(types).toEqual(['call.trying', 'sdp.pranswer', 'sdp.answer', 'call.answered']);
  await page.evaluate((id) => (window as any).phone.send({ type: 'call.hangup', call_id: id }), callId);
  expect((await finishedCallLog(request, demo.account, callId)).status).toBe('completed');
});
