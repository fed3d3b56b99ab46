// The E911 emergency address as a user meets it on the hosted page, found only by roles and
// accessible names: the banner asks for an address, the form explains what is missing, a saved
// address shows in the banner; after `network.changed` an outside call opens the form and the user
// confirms the address on the new network, also from a second tab that follows the first.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { authenticateOnNetwork, freshUser } from './calls-helpers';

async function signIn(page: Page, token: string) {
  await page.getByRole('textbox', { name: 'Or paste a token' }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const softphone = page.getByRole('region', { name: 'Softphone' });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });
  return softphone;
}

test('a user adds an emergency address: the form explains what is missing, the banner shows the saved address', async ({
  page,
  request,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const { token } = await freshUser(request, 'E911 Form');
  await page.goto('/');
  const softphone = await signIn(page, token);

  await expect(softphone.getByText('Add your emergency address so emergency services can find you.')).toBeVisible();
  await softphone.getByRole('button', { name: 'Add address' }).click();
  const form = softphone.getByRole('form', { name: 'Emergency address' });
  const street = form.getByRole('textbox', { name: 'Street address' });
  await expect(street).toBeFocused();

  // Saving an incomplete address says what is missing and puts the focus on the first field.
  await form.getByRole('textbox', { name: 'City' }).fill('Boston');
  await form.getByRole('textbox', { name: 'State' }).fill('MA');
  await form.getByRole('textbox', { name: 'ZIP code' }).fill('021');
  await form.getByRole('button', { name: 'Save address' }).click();
  await expect(street).toHaveAccessibleDescription('Enter the street address.');
  await expect(form.getByRole('textbox', { name: 'ZIP code' })).toHaveAccessibleDescription(
    'Use a 5-digit ZIP code, such as 02110.',
  );
  await expect(street).toBeFocused();

  await street.fill('12 Main St');
  await form.getByRole('textbox', { name: 'ZIP code' }).fill('02110');
  await form.getByRole('button', { name: 'Save address' }).click();
  await expect(form).toBeHidden({ timeout: 15_000 });
  await expect(softphone.getByText(/^Emergency address: 12 Main St, Boston, MA 02110, US$/)).toBeVisible({
    timeout: 15_000,
  });
  await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });
  await expect(softphone.getByRole('button', { name: 'Change address' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('after the network changed, an outside call opens the form and the user confirms the address on this network', async ({
  page,
  request,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const { user, token } = await freshUser(request, 'E911 Moved');
  const created = await request.post('/v1/me/emergency-addresses', {
    headers: { Authorization: `Bearer ${token}` },
    data: { street: '1 Elm St', city: 'Austin', state: 'TX', postal_code: '78701' },
  });
  expect(created.ok()).toBeTruthy();
  const id = (await created.json()).id;

  await page.goto('/');
  // Bind the address on another network first (ds-local names the network by `?network=`), and
  // remember it in this browser as the softphone does after saving.
  const frame = await authenticateOnNetwork(page, token, id, 'office');
  expect(frame.type).toBe('authenticated');
  await page.evaluate(
    ({ user, id }) => localStorage.setItem(`dialstack.softphone.emergency_address_id.${user}`, id),
    { user, id },
  );

  const softphone = await signIn(page, token);
  const banner = softphone.getByRole('alert').filter({ hasText: 'Your network changed' });
  await expect(banner).toContainText('1 Elm St, Austin, TX 78701, US', { timeout: 15_000 });

  // Outside calls are refused until the address is confirmed here: the form opens and says why.
  await softphone.getByRole('textbox', { name: 'Number to call' }).fill('+15005550001');
  await softphone.getByRole('button', { name: 'Call', exact: true }).click();
  const form = softphone.getByRole('form', { name: 'Emergency address' });
  await expect(form).toContainText('Outside calls need an emergency address for this network.', { timeout: 15_000 });
  await form.getByRole('button', { name: 'Cancel' }).click();
  await expect(form).toBeHidden();

  await banner.getByRole('button', { name: 'Confirm address on this network' }).click();
  await expect(softphone.getByText(/^Emergency address: 1 Elm St, Austin, TX 78701, US$/)).toBeVisible({
    timeout: 15_000,
  });
  await expect(softphone.getByRole('alert').filter({ hasText: 'Your network changed' })).toHaveCount(0);
  const bound = await request.get(`/v1/me/emergency-addresses/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  expect((await bound.json()).registered_ip).toBe('127.0.0.1');

  // Bound here, the echo number can be called again.
  await softphone.getByRole('textbox', { name: 'Number to call' }).fill('+15005550001');
  await softphone.getByRole('button', { name: 'Call', exact: true }).click();
  const current = softphone.getByRole('region', { name: 'Current call' });
  await expect(current).toContainText('Connected', { timeout: 20_000 });
  await current.getByRole('button', { name: 'Hang up' }).click();
  expect(errors).toEqual([]);
});

test('a second tab opened after the network changed says so, and confirming there confirms for both', async ({
  context,
  request,
}) => {
  const errors: string[] = [];
  const { user, token } = await freshUser(request, 'E911 Two Tabs');
  const created = await request.post('/v1/me/emergency-addresses', {
    headers: { Authorization: `Bearer ${token}` },
    data: { street: '1 Elm St', city: 'Austin', state: 'TX', postal_code: '78701' },
  });
  expect(created.ok()).toBeTruthy();
  const id = (await created.json()).id;

  const first = await context.newPage();
  first.on('pageerror', (e) => errors.push(e.message));
  await first.goto('/');
  const frame = await authenticateOnNetwork(first, token, id, 'office');
  expect(frame.type).toBe('authenticated');
  await first.evaluate(
    ({ user, id }) => localStorage.setItem(`dialstack.softphone.emergency_address_id.${user}`, id),
    { user, id },
  );
  const leader = await signIn(first, token);
  await expect(leader.getByRole('alert').filter({ hasText: 'Your network changed' })).toBeVisible({ timeout: 15_000 });

  // The second tab follows the first: it learns the leader's E911 session, network change included.
  const second = await context.newPage();
  second.on('pageerror', (e) => errors.push(e.message));
  await second.goto('/');
  const follower = await signIn(second, token);
  await expect(follower.getByRole('note')).toHaveText('Shared with your other tab, which plays the audio');
  const banner = follower.getByRole('alert').filter({ hasText: 'Your network changed' });
  await expect(banner).toContainText('1 Elm St, Austin, TX 78701, US', { timeout: 15_000 });

  // Confirmed in the follower, done by the leader: both tabs show the address bound here.
  await banner.getByRole('button', { name: 'Confirm address on this network' }).click();
  for (const softphone of [leader, follower]) {
    await expect(softphone.getByText(/^Emergency address: 1 Elm St, Austin, TX 78701, US$/)).toBeVisible({
      timeout: 15_000,
    });
    await expect(softphone.getByRole('alert').filter({ hasText: 'Your network changed' })).toHaveCount(0);
  }
  const bound = await request.get(`/v1/me/emergency-addresses/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  expect((await bound.json()).registered_ip).toBe('127.0.0.1');
  expect(errors).toEqual([]);
});
