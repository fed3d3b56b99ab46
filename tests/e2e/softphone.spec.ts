// The softphone as users meet it, found only by roles and accessible names: the hosted page
// dials the echo number and hears it; <ds-softphone> embedded in a plain page rings for a test
// call, answers, holds, resumes and hangs up.
import { expect, test } from '@playwright/test';
import { PLATFORM_KEY, demoUsers } from './calls-helpers';

test('the hosted page signs in through a token URL and hears the echo number', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await page.getByRole('textbox', { name: 'Token URL' }).fill('/_ds/demo/tokens/alice');
  await page.getByRole('button', { name: 'Sign in' }).click();

  const softphone = page.getByRole('region', { name: 'Softphone' });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });
  const call = softphone.getByRole('button', { name: 'Call', exact: true });
  await expect(call).toBeDisabled();
  const destination = softphone.getByRole('textbox', { name: 'Number to call' });
  await destination.fill('+15005550001');
  // Formatted as you type.
  await expect(destination).toHaveValue('+1 (500) 555-0001');
  await expect(call).toBeEnabled();
  await destination.press('Enter');

  const current = softphone.getByRole('region', { name: 'Current call' });
  await expect(current).toContainText('Connected', { timeout: 20_000 });
  await expect(current.getByRole('timer')).toHaveText(/\d+:\d\d/);
  // The quality indicator's details say whether the far end's sound is really played out.
  await softphone.getByRole('button', { name: /^Call quality: (Good|Fair|Poor)$/ }).click({ timeout: 15_000 });
  await expect(softphone.getByRole('definition').filter({ hasText: 'yes' })).toBeVisible({ timeout: 15_000 });

  // The user's history (a user token: no account event stream) follows the phone's own calls:
  // the call is listed live while it lasts, then with its outcome, without a reload.
  const history = page.getByRole('list', { name: 'Call history' });
  const newest = history.getByRole('listitem').first();
  await expect(newest.getByRole('img', { name: 'Call in progress' })).toBeVisible({ timeout: 10_000 });
  await expect(newest).toContainText('(500) 555-0001');

  await current.getByRole('button', { name: 'Hang up' }).click();
  await expect(softphone.getByText('Call ended')).toBeVisible({ timeout: 10_000 });
  await expect(softphone.getByRole('button', { name: 'Call', exact: true })).toBeVisible();
  await expect(newest.getByRole('img', { name: 'Outgoing call' })).toBeVisible({ timeout: 10_000 });
  await expect(newest).toContainText('(500) 555-0001');
  expect(errors).toEqual([]);
});

test('an embedded <ds-softphone> rings for a test call, answers, holds, resumes and hangs up', async ({
  page,
  request,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/examples/embed/');
  // Record the element's events as a host page would.
  await page.evaluate(() => {
    (window as any).dsEvents = [];
    for (const name of ['ds-incoming', 'ds-call-started', 'ds-call-ended']) {
      document.addEventListener(name, (e) => (window as any).dsEvents.push({ name, detail: (e as CustomEvent).detail }));
    }
  });
  const softphone = page.getByRole('region', { name: 'Softphone' });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });

  const demo = await demoUsers(request);
  const created = await request.post('/v1/test_helpers/calls', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': demo.account },
    data: {
      user: demo.bob,
      from_number: '+16195550177',
      from_name: 'JANE ROE',
      scenario: { ring_seconds: 30, talk_seconds: 120 },
    },
  });
  expect(created.status()).toBe(200);
  const { id: callId } = await created.json();

  const incoming = softphone.getByRole('region', { name: 'Incoming call' });
  await expect(incoming).toContainText('JANE ROE', { timeout: 15_000 });
  await expect(incoming).toContainText('(619) 555-0177');
  await incoming.getByRole('button', { name: 'Answer JANE ROE' }).click();

  const current = softphone.getByRole('region', { name: 'Current call' });
  await expect(current).toContainText('Connected', { timeout: 15_000 });
  await current.getByRole('button', { name: 'Hold' }).click();
  await expect(current).toContainText('On hold', { timeout: 10_000 });
  await current.getByRole('button', { name: 'Resume' }).click();
  await expect(current).toContainText('Connected', { timeout: 10_000 });
  await current.getByRole('button', { name: 'Hang up' }).click();
  await expect(softphone.getByText('Call ended')).toBeVisible({ timeout: 10_000 });

  const events = await page.evaluate(() => (window as any).dsEvents);
  expect(events.map((e: any) => e.name)).toEqual(['ds-incoming', 'ds-call-started', 'ds-call-ended']);
  expect(events[0].detail).toMatchObject({ callId, from: '+16195550177', fromName: 'JANE ROE' });
  expect(events[1].detail).toMatchObject({ callId, direction: 'inbound' });
  expect(events[2].detail).toMatchObject({ callId, reason: 'hangup' });
  expect(errors).toEqual([]);
});

test('a host can veto a dial with ds-call-request', async ({ page }) => {
  await page.goto('/examples/embed/');
  const softphone = page.getByRole('region', { name: 'Softphone' });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });
  await page.evaluate(() => {
    (window as any).requested = [];
    document.addEventListener('ds-call-request', (e) => {
      (window as any).requested.push((e as CustomEvent).detail.destination);
      e.preventDefault();
    });
  });
  await softphone.getByRole('textbox', { name: 'Number to call' }).fill('101');
  await softphone.getByRole('button', { name: 'Call', exact: true }).click();
  await expect.poll(() => page.evaluate(() => (window as any).requested)).toEqual(['101']);
  await expect(softphone.getByRole('region', { name: 'Current call' })).toHaveCount(0);
});

test('at 320 px the embedded softphone fits without sideways scrolling and dials from the keyboard', async ({ page }) => {
  await page.setViewportSize({ width: 320, height: 720 });
  await page.goto('/examples/embed/');
  const softphone = page.getByRole('region', { name: 'Softphone' });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });
  const fits = await softphone.evaluate((el) => el.scrollWidth <= el.clientWidth + 1);
  expect(fits).toBe(true);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
  for (const key of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#']) {
    await expect(softphone.getByRole('button', { name: key, exact: true })).toBeVisible();
  }

  await page.evaluate(() => {
    (window as any).requested = [];
    document.addEventListener('ds-call-request', (e) => {
      (window as any).requested.push((e as CustomEvent).detail.destination);
      e.preventDefault();
    });
  });
  // Keyboard only: type, correct with the backspace button reached by Tab, then Enter to call.
  const destination = softphone.getByRole('textbox', { name: 'Number to call' });
  await destination.focus();
  await page.keyboard.type('1019');
  await page.keyboard.press('Tab');
  await expect(softphone.getByRole('button', { name: 'Delete last digit' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(destination).toHaveValue('101');
  await destination.focus();
  await page.keyboard.press('Enter');
  await expect.poll(() => page.evaluate(() => (window as any).requested)).toEqual(['101']);
});
