// The two packagings render against a real ds-local: the hosted page and the embed bundle.
import { expect, test } from '@playwright/test';

test('the hosted softphone page asks how to sign in and explains an empty form', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'DialStack Softphone' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Token URL' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Enter your token URL, or paste a token.');
  // The page is installable: it links a web app manifest that names the app.
  const manifest = await page.locator('link[rel=manifest]').getAttribute('href');
  const response = await page.request.get(new URL(manifest!, page.url()).toString());
  expect(response.status()).toBe(200);
  expect((await response.json()).name).toBe('DialStack Softphone');
  expect(errors).toEqual([]);
});

test('the hosted page signs in from ?token-url= and shows the softphone', async ({ page }) => {
  await page.goto('/?token-url=/_ds/demo/tokens/alice');
  const softphone = page.getByRole('region', { name: 'Softphone' });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });
  // The user's call history sits beside the softphone.
  await expect(page.getByRole('region', { name: 'Call history' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('the embedding example renders <ds-softphone> in its shadow root', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/examples/embed/');
  const softphone = page.locator('ds-softphone');
  await expect(softphone).toBeAttached();
  // Locators pierce open shadow roots.
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });
  const inShadow = await softphone.evaluate((el) => el.shadowRoot !== null && el.shadowRoot.childElementCount > 0);
  expect(inShadow).toBe(true);
  expect(errors).toEqual([]);
});

test('a softphone pointed at an unreachable server says so', async ({ page }) => {
  await page.goto('/examples/embed/');
  await page.locator('ds-softphone').evaluate((el) => el.setAttribute('api-base', 'http://127.0.0.1:9'));
  const softphone = page.getByRole('region', { name: 'Softphone' });
  await expect(softphone.getByRole('alert')).toHaveText(/The phone server could not be reached/, { timeout: 15_000 });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connection error');
  await expect(softphone.getByRole('button', { name: 'Reconnect' })).toBeVisible();
});

test('a softphone without credentials says what is missing', async ({ page }) => {
  await page.goto('/examples/embed/');
  await page.locator('ds-softphone').evaluate((el) => el.removeAttribute('token-url'));
  await expect(page.getByRole('region', { name: 'Softphone' }).getByRole('alert')).toHaveText(
    'This softphone has no credentials: set token-url or tokenProvider.',
  );
});
