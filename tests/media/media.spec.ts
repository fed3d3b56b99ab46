// Real headless Chromium against the ds-media engine over 127.0.0.1 (examples/echo_page.rs).
import { expect, test, type Page } from '@playwright/test';

type Inbound = { packetsReceived: number; totalAudioEnergy: number } | null;

async function inbound(page: Page): Promise<Inbound> {
  return page.evaluate(() => (window as any).inboundAudio());
}

async function expectAudioArrives(page: Page) {
  await expect(page.locator('#status')).toHaveText('connected', { timeout: 15_000 });
  await expect
    .poll(async () => {
      const stats = await inbound(page);
      return stats !== null && stats.packetsReceived > 0 && stats.totalAudioEnergy > 0;
    }, { timeout: 15_000 })
    .toBe(true);
}

async function serverEvents(page: Page): Promise<string[]> {
  const response = await page.request.get('/events');
  return (await response.text()).split('\n').filter((line) => line.length > 0);
}

test('the engine echoes a real browser\'s microphone back to it', async ({ page }) => {
  await page.goto('/');
  const leg = await page.evaluate(() => (window as any).placeCall('echo'));
  await expectAudioArrives(page);
  // The engine saw the browser's audio too (the echo is its own audio, not a generated tone).
  await expect.poll(async () => serverEvents(page)).toContain(`audio leg-${leg}`);
});

test('an engine offer answered by the browser delivers the tone', async ({ page }) => {
  await page.goto('/');
  const leg = await page.evaluate(() => (window as any).takeCall('tone'));
  await expectAudioArrives(page);
  await expect.poll(async () => serverEvents(page)).toContain(`connected leg-${leg}`);
});

test('DTMF from the browser reaches the engine as digits and the IVR answers', async ({ page }) => {
  await page.goto('/');
  const leg = await page.evaluate(() => (window as any).placeCall('ivr'));
  await expect(page.locator('#status')).toHaveText('connected', { timeout: 15_000 });
  await page.evaluate(() => (window as any).sendDtmf('15#'));
  await expect
    .poll(async () => (await serverEvents(page)).filter((line) => line.startsWith(`dtmf leg-${leg} `)), {
      timeout: 10_000,
    })
    .toEqual([`dtmf leg-${leg} 1`, `dtmf leg-${leg} 5`, `dtmf leg-${leg} #`]);
  // The IVR's answer bursts are audible in the browser.
  await expect
    .poll(async () => ((await inbound(page))?.totalAudioEnergy ?? 0) > 0, { timeout: 10_000 })
    .toBe(true);
});

test('two browsers bridged through the engine hear each other', async ({ browser }) => {
  const context = await browser.newContext();
  const alice = await context.newPage();
  const bob = await context.newPage();
  await alice.goto('/');
  await bob.goto('/');
  const a = await alice.evaluate(() => (window as any).placeCall('silence'));
  const b = await bob.evaluate(() => (window as any).takeCall('silence'));
  for (const page of [alice, bob]) {
    await expect(page.locator('#status')).toHaveText('connected', { timeout: 15_000 });
  }
  // Before the bridge both hear the engine's encoded silence: packets, but no energy.
  for (const page of [alice, bob]) {
    await expect.poll(async () => ((await inbound(page))?.packetsReceived ?? 0) > 25, { timeout: 15_000 }).toBe(true);
    expect((await inbound(page))?.totalAudioEnergy ?? 1).toBeLessThan(1e-6);
  }
  const bridged = await alice.request.post(`/bridge/${a}/${b}`);
  expect(bridged.status()).toBe(204);
  // Now each hears the other's fake microphone (Chromium's beeping test source).
  for (const page of [alice, bob]) {
    await expect
      .poll(async () => ((await inbound(page))?.totalAudioEnergy ?? 0) > 0, { timeout: 15_000 })
      .toBe(true);
  }
  await context.close();
});
