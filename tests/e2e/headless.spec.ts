// The headless JS API (DialStackPhone from the embed bundle) driven by examples/headless/ against
// a real ds-local: connect, an echo call with media, DTMF, hold/resume, hang up.
import { expect, test } from '@playwright/test';

test('the headless example connects and places an echo call with hold and resume', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/examples/headless/?user=Alice');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.getByTestId('connect').click();
  await expect(page.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });

  await page.getByTestId('destination').fill('+15005550001');
  await page.getByTestId('dial').click();
  const call = page.getByTestId('call');
  await expect(call).toHaveAttribute('data-state', 'active', { timeout: 20_000 });

  // Media really flows: the JS API's quality figures show received packets.
  await expect
    .poll(async () => page.evaluate(() => (window as any).dialstackPhone.calls()[0]?.quality()?.packetsReceived ?? 0), {
      timeout: 15_000,
    })
    .toBeGreaterThan(0);

  await call.getByTestId('call-hold').click();
  await expect(call).toHaveAttribute('data-state', 'held', { timeout: 10_000 });
  await call.getByTestId('call-resume').click();
  await expect(call).toHaveAttribute('data-state', 'active', { timeout: 10_000 });

  await call.getByTestId('call-hangup').click();
  await expect(page.getByTestId('call')).toHaveCount(0, { timeout: 10_000 });
  expect(errors).toEqual([]);
});

test('the JS API refuses an empty destination with invalid_message', async ({ page }) => {
  await page.goto('/examples/headless/?user=Alice');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.getByTestId('connect').click();
  await expect(page.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
  const code = await page.evaluate(() => {
    try {
      (window as any).dialstackPhone.call('   ');
      return 'no error';
    } catch (error) {
      return (error as { code?: string }).code;
    }
  });
  expect(code).toBe('invalid_message');
});
