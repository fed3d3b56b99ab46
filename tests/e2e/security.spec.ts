// Hostile text from the network is rendered as text, never as markup: a caller name carrying HTML
// and script reaches the softphone, the screen pop and the call history of the strict-CSP page
// (all four elements) and must show up literally, create no element and run nothing.
import { expect, test } from '@playwright/test';
import { PLATFORM_KEY, demoUsers } from './calls-helpers';

const PAGE = '/examples/strict-csp/';

test('a caller name carrying HTML and script is shown as text by the softphone, screen pop and history', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(PAGE);
  const softphone = page.getByRole('region', { name: 'Softphone', exact: true });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', { timeout: 15_000 });
  const pop = page.getByRole('region', { name: 'Screen pop', exact: true });
  await expect(pop.getByRole('status')).toHaveText('No incoming call.', { timeout: 15_000 });
  // The shared event stream subscribes once the elements mounted.
  await page.waitForTimeout(500);

  const suffix = String(2_000_000 + Math.floor(Math.random() * 7_999_999));
  const hostile = `<img src=x onerror="window.__pwned=1"><b>EVIL ${suffix}</b>`;
  const { account, alice } = await demoUsers(page.request);
  const response = await page.request.post('/v1/test_helpers/calls', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': account },
    data: {
      user: alice,
      from_number: `+1619${suffix}`,
      from_name: hostile,
      scenario: { outcome: 'no-answer', ring_seconds: 3 },
    },
  });
  expect(response.ok()).toBe(true);

  // The whole string, angle brackets included, is visible as text in each element.
  await expect(softphone.getByText(hostile).first()).toBeVisible({ timeout: 10_000 });
  await expect(pop.getByText(hostile).first()).toBeVisible({ timeout: 10_000 });
  const history = page.getByRole('region', { name: 'Call history', exact: true });
  await expect(history.getByText(hostile).first()).toBeVisible({ timeout: 15_000 });

  // No element was created from it anywhere, and nothing ran.
  const injected = await page.evaluate(() =>
    ['ds-softphone', 'ds-screen-pop', 'ds-dialer', 'ds-call-history'].map((tag) => {
      const root = document.querySelector(tag)!.shadowRoot!;
      return root.querySelectorAll('img, b').length;
    }),
  );
  expect(injected).toEqual([0, 0, 0, 0]);
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(errors).toEqual([]);
  // Let the unanswered call end (its incoming card goes) before the next spec uses Alice's softphone.
  await expect(softphone.getByRole('button', { name: /^Answer/ })).toHaveCount(0, { timeout: 15_000 });
});
