// The two packagings render against a real ds-local: the hosted page and the embed bundle.
import { expect, test } from '@playwright/test';

test('the hosted softphone page renders and reaches ds-local', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.getByRole('region', { name: 'Softphone' })).toBeVisible();
  await expect(page.getByRole('status')).toHaveText('Not connected');
  await expect(page.getByTestId('server-line')).toHaveText(/Server reachable \(ds-local \d+\.\d+\.\d+\)/);
  expect(errors).toEqual([]);
});

test('the embedding example renders <ds-softphone> in its shadow root', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/examples/embed/');
  const softphone = page.locator('ds-softphone');
  await expect(softphone).toBeAttached();
  // Locators pierce open shadow roots.
  await expect(softphone.getByRole('status')).toHaveText('Not connected');
  await expect(softphone.getByTestId('server-line')).toHaveText(/Server reachable/);
  const inShadow = await softphone.evaluate((el) => el.shadowRoot !== null && el.shadowRoot.childElementCount > 0);
  expect(inShadow).toBe(true);
  expect(errors).toEqual([]);
});

test('a softphone pointed at an unreachable server says so', async ({ page }) => {
  await page.goto('/examples/embed/');
  await page.locator('ds-softphone').evaluate((el) => el.setAttribute('api-base', 'http://127.0.0.1:9'));
  await expect(page.locator('ds-softphone').getByTestId('server-line')).toHaveText(
    'Server problem: the server at http://127.0.0.1:9 could not be reached',
  );
});
