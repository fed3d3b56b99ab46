// One registration across tabs (examples/headless/?multitab): two tabs of one user elect one
// leader; both show an incoming call; answering in the follower answers through the leader;
// closing the leader moves leadership to the other tab.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';

const PLATFORM_KEY = 'sk_test_local';
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
