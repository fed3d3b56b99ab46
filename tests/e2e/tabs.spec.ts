// One registration across tabs: two tabs of one user elect one leader; both show an incoming
// call; what the user does in the follower is done by the leader; closing the leader moves
// leadership to the other tab. Once through the headless JS API (examples/headless/?multitab), once
// through the hosted softphone page, found only by roles and accessible names.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { PLATFORM_KEY, demoUsers } from './calls-helpers';

const auth = { Authorization: `Bearer ${PLATFORM_KEY}` };

async function alice(request: APIRequestContext): Promise<{ user: string; account: string }> {
  const accounts = await (await request.get('/v1/accounts?limit=100', { headers: auth })).json();
  for (const account of accounts.data) {
    const users = await (await request.get('/v1/users?limit=100', { headers: { ...auth, 'DialStack-Account': account.id } })).json();
    const found = users.data.find((u: { name?: string }) => u.name?.startsWith('Alice'));
    if (found) return { user: found.id, account: account.id };
  }
  throw new Error('ds-local runs without the demo user Alice (start it with --demo)');
}

async function openTab(page: Page) {
  await page.goto('/examples/headless/?user=Alice&multitab&autoconnect');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
}

test('two tabs of one user share one registration and hand it over when the leader closes', async ({ context, request }) => {
  const { user, account } = await alice(request);
  const first = await context.newPage();
  await openTab(first);
  await expect(first.getByTestId('role')).toHaveText('leader');
  const second = await context.newPage();
  await openTab(second);
  await expect(second.getByTestId('role')).toHaveText('follower');

  // A simulated caller rings Alice: the leader holds the socket, both tabs show the call.
  const ring = await request.post('/v1/test_helpers/calls', {
    headers: { ...auth, 'DialStack-Account': account },
    data: { user, from_number: '+16195550177', from_name: 'JANE ROE' },
  });
  expect(ring.ok()).toBe(true);
  for (const page of [first, second]) {
    await expect(page.getByTestId('call')).toHaveAttribute('data-state', 'ringing', { timeout: 10_000 });
  }

  // Answer in the follower: the leader answers, both tabs see the call active.
  await second.getByTestId('call').getByTestId('call-answer').click();
  for (const page of [first, second]) {
    await expect(page.getByTestId('call')).toHaveAttribute('data-state', 'active', { timeout: 15_000 });
  }
  // The media lives in the leader tab.
  await expect
    .poll(async () => first.evaluate(() => (window as any).dialstackPhone.calls()[0]?.quality()?.packetsReceived ?? 0), {
      timeout: 15_000,
    })
    .toBeGreaterThan(0);

  // Closing the leader moves leadership: the follower takes the lock and connects itself.
  await first.close();
  await expect(second.getByTestId('role')).toHaveText('leader', { timeout: 10_000 });
  await expect(second.getByTestId('status')).toHaveText('connected', { timeout: 15_000 });
  expect(await second.evaluate(() => (window as any).dialstackPhone.isLeader)).toBe(true);
});

test('the hosted softphone open in two tabs shows and controls one registration, then hands it over', async ({
  context,
  request,
}) => {
  const errors: string[] = [];
  const demo = await demoUsers(request);
  async function openSoftphone() {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/?token-url=/_ds/demo/tokens/alice');
    const softphone = page.getByRole('region', { name: 'Softphone' });
    await expect(softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
      timeout: 15_000,
    });
    return { page, softphone };
  }
  const first = await openSoftphone();
  await expect(first.softphone.getByRole('note')).toHaveCount(0);
  const second = await openSoftphone();
  // The second tab follows the first: it says so and leaves the audio devices to the first.
  await expect(second.softphone.getByRole('note')).toHaveText('Shared with your other tab, which plays the audio');
  await expect(second.softphone.getByText('Audio settings')).toHaveCount(0);
  await expect(first.softphone.getByText('Audio settings')).toBeVisible();

  const ring = await request.post('/v1/test_helpers/calls', {
    headers: { ...auth, 'DialStack-Account': demo.account },
    data: { user: demo.alice, from_number: '+16195550177', from_name: 'JANE ROE', scenario: { ring_seconds: 30, talk_seconds: 120 } },
  });
  expect(ring.status()).toBe(200);
  for (const tab of [first, second]) {
    await expect(tab.softphone.getByRole('region', { name: 'Incoming call' })).toContainText('JANE ROE', {
      timeout: 15_000,
    });
  }

  // Answered, held and resumed from the follower: the leader does it, both tabs show it.
  await second.softphone
    .getByRole('region', { name: 'Incoming call' })
    .getByRole('button', { name: 'Answer JANE ROE' })
    .click();
  for (const tab of [first, second]) {
    await expect(tab.softphone.getByRole('region', { name: 'Current call' })).toContainText('Connected', {
      timeout: 15_000,
    });
  }
  const followerCall = second.softphone.getByRole('region', { name: 'Current call' });
  await expect(followerCall.getByRole('timer')).toHaveText(/\d+:\d\d/);
  // The audio is in the leader; its quality reports reach the follower too.
  await expect(second.softphone.getByRole('button', { name: /^Call quality: (Good|Fair|Poor)$/ })).toBeVisible({
    timeout: 15_000,
  });
  await followerCall.getByRole('button', { name: 'Hold' }).click();
  for (const tab of [first, second]) {
    await expect(tab.softphone.getByRole('region', { name: 'Current call' })).toContainText('On hold', {
      timeout: 10_000,
    });
  }
  await followerCall.getByRole('button', { name: 'Resume' }).click();
  await expect(first.softphone.getByRole('region', { name: 'Current call' })).toContainText('Connected', {
    timeout: 10_000,
  });
  await followerCall.getByRole('button', { name: 'Hang up' }).click();
  for (const tab of [first, second]) {
    await expect(tab.softphone.getByText('Call ended')).toBeVisible({ timeout: 10_000 });
  }

  // Dialed from the follower: the leader places the call.
  const destination = second.softphone.getByRole('textbox', { name: 'Number to call' });
  await destination.fill('+15005550001');
  await destination.press('Enter');
  for (const tab of [first, second]) {
    await expect(tab.softphone.getByRole('region', { name: 'Current call' })).toContainText('Connected', {
      timeout: 20_000,
    });
  }
  await first.softphone.getByRole('region', { name: 'Current call' }).getByRole('button', { name: 'Hang up' }).click();
  await expect(second.softphone.getByRole('button', { name: 'Call', exact: true })).toBeVisible({ timeout: 10_000 });

  // Closing the leader tab: the other tab takes the registration and connects by itself.
  await first.page.close();
  await expect(second.softphone.getByRole('note')).toHaveCount(0, { timeout: 15_000 });
  await expect(second.softphone.getByRole('status', { name: 'Connection status' })).toHaveText('Connected', {
    timeout: 15_000,
  });
  await expect(second.softphone.getByText('Audio settings')).toBeVisible();
  expect(errors).toEqual([]);
});
