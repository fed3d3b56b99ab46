// The headless JS API (DialStackPhone from the embed bundle) driven by examples/headless/ against
// a real ds-local: connect, an echo call with media, DTMF, hold/resume, hang up; E911 addresses
// (list, checks, create, use, the emergencyAddressRequired event), also from a follower tab.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { authenticateOnNetwork, freshUser } from './calls-helpers';

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

// E911 through the JS API (protocol.md §7.13, §11.3). Each test has its own user of the demo
// account, so no other test sees its addresses.
async function namedFreshUser(request: APIRequestContext, prefix: string): Promise<{ name: string; user: string; token: string }> {
  const name = `${prefix} ${Date.now()}`;
  return { name, ...(await freshUser(request, name)) };
}

async function registeredIp(request: APIRequestContext, token: string, id: string): Promise<string | null> {
  const response = await request.get(`/v1/me/emergency-addresses/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.ok()).toBeTruthy();
  return (await response.json()).registered_ip;
}

/** Moves the address to another network: forget its network, then bind it from `?network=office`
 * (ds-local names a socket's network by that parameter), so this browser's next session hears
 * `network.changed`. */
async function bindOnOtherNetwork(page: Page, request: APIRequestContext, token: string, id: string) {
  const unbound = await request.delete(`/v1/me/emergency-addresses/${id}/registered_ip`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(unbound.ok()).toBeTruthy();
  const frame = await authenticateOnNetwork(page, token, id, 'office');
  expect(frame.type).toBe('authenticated');
  await expect.poll(() => registeredIp(request, token, id), { timeout: 10_000 }).toBe('office');
}

async function connectAs(page: Page, name: string, extra = '') {
  await page.goto(`/examples/headless/?user=${encodeURIComponent(name)}${extra}`);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  if (!extra.includes('autoconnect')) await page.getByTestId('connect').click();
  await expect(page.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
}

async function echoCallWorks(page: Page) {
  await page.getByTestId('destination').fill('+15005550001');
  await page.getByTestId('dial').click();
  const call = page.getByTestId('call');
  await expect(call).toHaveAttribute('data-state', 'active', { timeout: 20_000 });
  await call.getByTestId('call-hangup').click();
  await expect(page.getByTestId('call')).toHaveCount(0, { timeout: 10_000 });
}

test('the JS API lists, checks, creates and uses an emergency address; a refused outside call says emergencyAddressRequired', async ({
  page,
  request,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const { name, token } = await namedFreshUser(request, 'E911 Headless');
  await connectAs(page, name);

  expect(await page.evaluate(() => (window as any).dialstackPhone.emergencyAddresses())).toEqual([]);
  expect(await page.evaluate(() => (window as any).dialstackPhone.emergencyAddressId)).toBeUndefined();

  // A malformed field is refused before anything is sent, naming the field.
  const create = (input: Record<string, string>) =>
    page.evaluate(
      (input) =>
        (window as any).dialstackPhone.createEmergencyAddress(input).then(
          (address: any) => ({ address }),
          (e: any) => ({ error: { name: e.constructor.name, code: e.code, field: e.field, message: e.message } }),
        ),
      input,
    );
  const badZip = await create({ street: '12 Main St', city: 'Boston', state: 'MA', postalCode: '021' });
  expect(badZip.error).toEqual({
    name: 'Error',
    code: 'invalid_address',
    field: 'postalCode',
    message: 'postalCode must be a 5-digit US ZIP code, such as 02110',
  });
  const noCity = await create({ street: '12 Main St', state: 'MA', postalCode: '02110' });
  expect(noCity.error).toMatchObject({ code: 'invalid_address', field: 'city', message: 'city is required' });
  // The server's own refusal (422: ds-local cannot validate a street containing INVALID) in its words.
  const unvalidated = await create({ street: '1 INVALID Rd', city: 'Boston', state: 'MA', postalCode: '02110' });
  expect(unvalidated.error).toMatchObject({ code: 'address_invalid', message: 'the address could not be validated', field: null });
  expect(await page.evaluate(() => (window as any).dialstackPhone.emergencyAddresses())).toEqual([]);

  const { address } = await create({ street: ' 12 Main St ', unit: 'Apt 4', city: 'Boston', state: 'ma', postalCode: '02110' });
  expect(address).toMatchObject({ street: '12 Main St', unit: 'Apt 4', state: 'MA', postalCode: '02110', registeredIp: null });
  expect(address.id).toMatch(/^emerg_/);
  expect(address.formattedAddress).toContain('12 Main St');
  const listed = await page.evaluate(() => (window as any).dialstackPhone.emergencyAddresses());
  expect(listed.map((a: any) => a.id)).toEqual([address.id]);

  // Using it re-binds the session with it: the server records this network.
  const used = await page.evaluate((id) => (window as any).dialstackPhone.useEmergencyAddress(id), address.id);
  expect(used.id).toBe(address.id);
  expect(await page.evaluate(() => (window as any).dialstackPhone.emergencyAddressId)).toBe(address.id);
  await expect.poll(() => registeredIp(request, token, address.id), { timeout: 15_000 }).toBe('127.0.0.1');
  await expect(page.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
  await echoCallWorks(page);

  // An id the user does not have is refused.
  const unknown = await page.evaluate(() =>
    (window as any).dialstackPhone.useEmergencyAddress('emerg_nope').then(
      () => null,
      (e: any) => e.code,
    ),
  );
  expect(unknown).toBe('resource_missing');
  expect(await page.evaluate(() => (window as any).dialstackPhone.emergencyAddressId)).toBe(address.id);

  // The choice survives a reload: the new phone presents it on connect.
  await page.reload();
  await connectAs(page, name);
  expect(await page.evaluate(() => (window as any).dialstackPhone.emergencyAddressId)).toBe(address.id);

  // The address moves to another network: this browser's next session hears networkChanged, and
  // an outside call is refused with the emergencyAddressRequired event.
  await page.getByTestId('disconnect').click();
  await bindOnOtherNetwork(page, request, token, address.id);
  await page.getByTestId('connect').click();
  await expect(page.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
  await expect(page.getByTestId('log')).toContainText('networkChanged', { timeout: 15_000 });
  await page.getByTestId('destination').fill('+15005550001');
  await page.getByTestId('dial').click();
  await expect(page.getByTestId('log')).toContainText('emergencyAddressRequired', { timeout: 15_000 });
  await expect(page.getByTestId('log').getByText(/emergencyAddressRequired .*"code":"emergency_address_required"/)).toHaveCount(1);
  await expect(page.getByTestId('call')).toHaveCount(0, { timeout: 10_000 });

  // Using the address again confirms it on this network; outside calls work again.
  await page.evaluate((id) => (window as any).dialstackPhone.useEmergencyAddress(id), address.id);
  await expect.poll(() => registeredIp(request, token, address.id), { timeout: 15_000 }).toBe('127.0.0.1');
  await expect(page.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
  await echoCallWorks(page);
  expect(errors).toEqual([]);
});

test('a follower tab hears emergencyAddressRequired and its useEmergencyAddress is applied by the leader', async ({
  context,
  request,
}) => {
  const { name, user, token } = await namedFreshUser(request, 'E911 Tabs');
  const created = await request.post('/v1/me/emergency-addresses', {
    headers: { Authorization: `Bearer ${token}` },
    data: { street: '1 Elm St', city: 'Austin', state: 'TX', postal_code: '78701' },
  });
  expect(created.ok()).toBeTruthy();
  const id = (await created.json()).id;

  // The address is bound elsewhere and remembered in this browser (as useEmergencyAddress does).
  const leader = await context.newPage();
  await leader.goto('/examples/headless/');
  await bindOnOtherNetwork(leader, request, token, id);
  await leader.evaluate(
    ({ user, id }) => localStorage.setItem(`dialstack.softphone.emergency_address_id.${user}`, id),
    { user, id },
  );
  await connectAs(leader, name, '&multitab&autoconnect');
  await expect(leader.getByTestId('role')).toHaveText('leader');
  await expect(leader.getByTestId('log')).toContainText('networkChanged', { timeout: 15_000 });
  const follower = await context.newPage();
  await connectAs(follower, name, '&multitab&autoconnect');
  await expect(follower.getByTestId('role')).toHaveText('follower');
  expect(await follower.evaluate(() => (window as any).dialstackPhone.emergencyAddressId)).toBe(id);

  // An outside call from the follower is placed (and refused) by the leader; both tabs hear why.
  await follower.getByTestId('destination').fill('+15005550001');
  await follower.getByTestId('dial').click();
  for (const page of [leader, follower]) {
    await expect(page.getByTestId('log')).toContainText('emergencyAddressRequired', { timeout: 15_000 });
  }

  // The follower confirms the address: the leader unbinds it and re-binds it on this network.
  const used = await follower.evaluate((id) => (window as any).dialstackPhone.useEmergencyAddress(id), id);
  expect(used.id).toBe(id);
  await expect.poll(() => registeredIp(request, token, id), { timeout: 15_000 }).toBe('127.0.0.1');
  await expect(leader.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
  await expect(follower.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
  await echoCallWorks(follower);
});
