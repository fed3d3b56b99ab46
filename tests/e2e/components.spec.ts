// The account-side elements (<ds-screen-pop>, <ds-call-history>, <ds-dialer>) with the softphone
// on one page under a strict Content-Security-Policy (examples/strict-csp/, served by ds-local
// under /examples/). Only roles and accessible names locate things.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { PLATFORM_KEY, demoUsers } from './calls-helpers';

const PAGE = '/examples/strict-csp/';

/** A +1 number and a caller name no other test uses. */
function uniqueCaller(): { number: string; name: string } {
  const suffix = String(2_000_000 + Math.floor(Math.random() * 7_999_999));
  return { number: `+1619${suffix}`, name: `CALLER ${suffix}` };
}

/**
 * A demo-account user only this file rings (created on first use): the pop and the history show
 * every call of the account, and no softphone of another spec (Alice, Bob) ever sees these calls.
 */
async function tester(page: Page): Promise<{ account: string; user: string }> {
  const { account } = await demoUsers(page.request);
  const headers = { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': account };
  const users = await (await page.request.get('/v1/users?limit=100', { headers })).json();
  const found = users.data.find((u: any) => u.name === 'Component Tester');
  if (found) return { account, user: found.id };
  const created = await page.request.post('/v1/users', {
    headers,
    data: { name: 'Component Tester', email: 'component.tester@example.test' },
  });
  expect(created.ok()).toBe(true);
  return { account, user: (await created.json()).id };
}

/** Rings the tester from `from` (nobody answers; ds-local ends the call after `ringSeconds`). */
async function ringTester(page: Page, from: { number: string; name: string }, ringSeconds = 3): Promise<string> {
  const { account, user } = await tester(page);
  const response = await page.request.post('/v1/test_helpers/calls', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': account },
    data: {
      user,
      from_number: from.number,
      from_name: from.name,
      scenario: { outcome: 'no-answer', ring_seconds: ringSeconds },
    },
  });
  expect(response.ok()).toBe(true);
  return (await response.json()).id;
}

/**
 * Before the page's own scripts: timestamps every `call.incoming` EventSource message as it is
 * dispatched, and every change of the screen pop's shadow DOM, so the page itself can say how long
 * the caller took to appear.
 */
async function instrument(page: Page) {
  await page.addInitScript(() => {
    const w = window as any;
    w.__incomingAt = [] as { at: number; from: string }[];
    const add = EventSource.prototype.addEventListener;
    EventSource.prototype.addEventListener = function (this: EventSource, type: string, listener: any, options?: any) {
      if (type === 'call.incoming' && typeof listener === 'function') {
        const wrapped = function (this: any, event: MessageEvent) {
          let from = '';
          try {
            from = JSON.parse(event.data).from_number ?? '';
          } catch {}
          w.__incomingAt.push({ at: performance.now(), from });
          return listener.call(this, event);
        };
        return add.call(this, type, wrapped, options);
      }
      return add.call(this, type, listener, options);
    } as any;
    w.__shownAt = {} as Record<string, number>;
    w.__watchPop = (text: string) => {
      const root = document.querySelector('ds-screen-pop')!.shadowRoot!;
      const check = () => {
        if (w.__shownAt[text] === undefined && (root.textContent ?? '').includes(text)) {
          w.__shownAt[text] = performance.now();
        }
      };
      new MutationObserver(check).observe(root, { subtree: true, childList: true, characterData: true });
      check();
    };
  });
}

async function openPage(page: Page) {
  await page.goto(PAGE);
  const pop = page.getByRole('region', { name: 'Screen pop', exact: true });
  await expect(pop.getByRole('status')).toHaveText('No incoming call.', { timeout: 15_000 });
  // The shared event stream connects once the elements mounted; give it a moment to subscribe.
  await page.waitForTimeout(500);
  return pop;
}

test('<ds-screen-pop> shows the caller within 100 ms of the SSE event and applies the lookup', async ({ page }) => {
  await instrument(page);
  const pop = await openPage(page);
  const caller = uniqueCaller();
  await page.evaluate((name) => (window as any).__watchPop(name), caller.name);
  await ringTester(page, caller);

  await expect(pop.getByText(caller.name).first()).toBeVisible({ timeout: 10_000 });
  const { eventAt, shownAt } = await page.evaluate((number) => {
    const w = window as any;
    const event = w.__incomingAt.find((e: any) => e.from === number);
    return { eventAt: event?.at, shownAt: w.__shownAt[Object.keys(w.__shownAt)[0]] };
  }, caller.number);
  expect(eventAt, 'the call.incoming message was seen on the EventSource').toBeDefined();
  expect(shownAt, 'the caller appeared in the pop').toBeDefined();
  // Correctness bound from the issue: the caller is on screen within 100 ms of the event.
  test.info().annotations.push({ type: 'caller shown after the event (ms)', description: (shownAt - eventAt).toFixed(1) });
  expect(shownAt - eventAt).toBeLessThan(100);

  // The page's lookup answers with its record; the pop applies it while the call still rings.
  const record = `Patient record for ${caller.number}`;
  await expect(pop.getByText(record)).toBeVisible({ timeout: 5_000 });
  await expect(pop.getByText('Demo record')).toBeVisible();
  // A first-time caller: the ringing call itself is not listed among "recent calls".
  await expect(pop.getByText('No calls yet.')).toBeVisible({ timeout: 5_000 });
  await pop.getByRole('button', { name: 'Open record' }).click();
  await expect(page).toHaveURL(/#patients\//);

  // The call ends unanswered: the pop closes by itself (while it rang, the caller's recent calls
  // had a status line of their own, so the waiting text is looked for by itself).
  await expect(pop.getByText('No incoming call.')).toBeVisible({ timeout: 15_000 });
  await expect(pop.getByRole('status')).toHaveText('No incoming call.');
});

test('<ds-call-history> shows a new call without a reload, with a call-back button', async ({ page }) => {
  await openPage(page);
  const history = page.getByRole('region', { name: 'Call history', exact: true });
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const caller = uniqueCaller();
  await ringTester(page, caller, 1);

  const list = history.getByRole('list', { name: 'Call history' });
  const row = list.getByRole('listitem').filter({ hasText: caller.name });
  await expect(row).toBeVisible({ timeout: 10_000 });
  await expect(row.getByRole('img', { name: 'Missed call' })).toBeVisible({ timeout: 15_000 });
  await expect(row.getByRole('button', { name: `Call back ${caller.name}` })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  // Pressing call back announces ds-call-back with the number (the softphone on the page dials it).
  const detail = page.evaluate(
    () =>
      new Promise((resolve) =>
        document.addEventListener('ds-call-back', (e) => resolve((e as CustomEvent).detail), { once: true }),
      ),
  );
  await row.getByRole('button', { name: `Call back ${caller.name}` }).click();
  expect(await detail).toMatchObject({ number: caller.number });
});

test('<ds-dialer> places a click-to-call and shows its progress', async ({ page }) => {
  await openPage(page);
  // Ring the tester's (absent) devices rather than the page's softphone: nothing lingers for the
  // specs that run next.
  const { user } = await tester(page);
  await page.locator('ds-dialer').evaluate((el, id) => el.setAttribute('user-id', id), user);
  const dialer = page.getByRole('form', { name: 'Dialer' });
  await dialer.getByRole('textbox', { name: 'Number to call' }).fill('4155550100');
  await expect(dialer.getByRole('textbox', { name: 'Number to call' })).toHaveValue('(415) 555-0100');
  await dialer.getByRole('button', { name: 'Call', exact: true }).click();
  await expect(dialer.getByRole('status')).toHaveText(/Your phone is ringing|Connected|The call ended/, {
    timeout: 10_000,
  });
});

test('the strict-CSP page works with all four elements, with no CSP violation', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(PAGE);
  await expect(page.getByRole('region', { name: 'Softphone', exact: true }).getByRole('status', { name: 'Connection status' })).toHaveText(
    'Connected',
    { timeout: 15_000 },
  );
  await expect(page.getByRole('region', { name: 'Screen pop', exact: true }).getByRole('status')).toHaveText('No incoming call.');
  await expect(page.getByRole('form', { name: 'Dialer' }).getByRole('button', { name: 'Call', exact: true })).toBeVisible();
  const history = page.getByRole('region', { name: 'Call history', exact: true });
  await expect(history.getByRole('list', { name: 'Call history' }).or(history.getByText('No calls yet.'))).toBeVisible({
    timeout: 10_000,
  });
  // Every element renders into a shadow root styled by adopted (constructable) stylesheets only.
  const styled = await page.evaluate(() =>
    ['ds-softphone', 'ds-screen-pop', 'ds-dialer', 'ds-call-history'].map((tag) => {
      const root = document.querySelector(tag)!.shadowRoot!;
      return root.adoptedStyleSheets.length > 0 && root.querySelectorAll('style').length === 0;
    }),
  );
  expect(styled).toEqual([true, true, true, true]);
  expect(await page.evaluate(() => (window as any).cspViolations)).toEqual([]);
  expect(errors).toEqual([]);
});

test('axe finds no serious or critical accessibility violation on the strict-CSP page', async ({ page }) => {
  await page.goto(PAGE);
  await expect(page.getByRole('region', { name: 'Softphone', exact: true }).getByRole('status', { name: 'Connection status' })).toHaveText(
    'Connected',
    { timeout: 15_000 },
  );
  const history = page.getByRole('region', { name: 'Call history', exact: true });
  await expect(history.getByRole('list', { name: 'Call history' }).or(history.getByText('No calls yet.'))).toBeVisible({
    timeout: 10_000,
  });
  // Scan with everything on screen: a ringing caller in the pop (with the page's record and the
  // caller's recent calls) and rows in the history.
  await page.waitForTimeout(500);
  const caller = uniqueCaller();
  await ringTester(page, caller, 8);
  const pop = page.getByRole('region', { name: 'Screen pop', exact: true });
  await expect(pop.getByText(`Patient record for ${caller.number}`)).toBeVisible({ timeout: 10_000 });
  await expect(history.getByRole('listitem').filter({ hasText: caller.name })).toBeVisible({ timeout: 10_000 });
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  expect(serious).toEqual([]);
});

test('at 320 px wide every element fits without horizontal scrolling', async ({ page }) => {
  await page.setViewportSize({ width: 320, height: 800 });
  await openPage(page);
  const caller = uniqueCaller();
  await ringTester(page, caller, 5);
  const pop = page.getByRole('region', { name: 'Screen pop', exact: true });
  await expect(pop.getByText(caller.name).first()).toBeVisible({ timeout: 10_000 });
  const overflowing = await page.evaluate(() =>
    ['ds-softphone', 'ds-screen-pop', 'ds-dialer', 'ds-call-history']
      .map((tag) => {
        const host = document.querySelector(tag) as HTMLElement;
        const root = host.shadowRoot!.firstElementChild as HTMLElement;
        return { tag, host: host.getBoundingClientRect().width, content: root.scrollWidth };
      })
      .filter((e) => e.content > e.host + 1),
  );
  expect(overflowing).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
});
