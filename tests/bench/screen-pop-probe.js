// Shared by the two screen-pop pages (figure 4): timestamps, in ms since navigation start, when
//   sentAt:     the page sends POST /v1/test_helpers/calls (ring());
//   receivedAt: the `call.incoming` SSE message is dispatched to the page (a listener added to
//               every EventSource as it is created, so it runs before the page's own listeners);
//   shownAt:    the caller's name is in the pop's DOM (a MutationObserver; watch()).
// ds-local does not expose the event's emit time in ms (the envelope's created_at has whole
// seconds), so "emitted by ds-local" is bounded by the request's send time on the page's own
// clock: sentAt → shownAt includes the HTTP request, the hub and the SQLite commit of the event.
const bench = (window.__bench = { rings: {}, sources: [] });

const Original = window.EventSource;
window.EventSource = class extends Original {
  constructor(...args) {
    super(...args);
    bench.sources.push(this);
    this.addEventListener('call.incoming', (event) => {
      const from = JSON.parse(event.data).from_number;
      if (bench.rings[from] && bench.rings[from].receivedAt === undefined) bench.rings[from].receivedAt = performance.now();
    });
  }
};

/** True once an event stream is open (ds-local subscribes the stream before answering). */
bench.streamOpen = () => bench.sources.some((s) => s.readyState === Original.OPEN);

/** Watches `root` for each ringing caller's name. */
bench.watch = (root) => {
  const check = () => {
    const text = root.textContent ?? '';
    for (const ring of Object.values(bench.rings)) {
      if (ring.shownAt === undefined && text.includes(ring.name)) ring.shownAt = performance.now();
    }
  };
  new MutationObserver(check).observe(root, { subtree: true, childList: true, characterData: true });
};

/** Rings `user` of `account` from `number` with CNAM `name` (nobody answers; 1 s of ringing). */
bench.ring = async (account, user, number, name) => {
  bench.rings[number] = { name, sentAt: performance.now() };
  const response = await fetch('/v1/test_helpers/calls', {
    method: 'POST',
    headers: { Authorization: 'Bearer sk_test_local', 'DialStack-Account': account, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, from_number: number, from_name: name, scenario: { outcome: 'no-answer', ring_seconds: 1 } }),
  });
  if (!response.ok) bench.error = `test call: ${response.status} ${await response.text()}`;
};

/** An account session secret for `account` (what the account-side elements need). */
bench.accountSession = async (account) => {
  const response = await fetch('/v1/account_sessions', {
    method: 'POST',
    headers: { Authorization: 'Bearer sk_test_local', 'Content-Type': 'application/json' },
    body: JSON.stringify({ account, components: { call_history: { enabled: true }, call_logs: { enabled: true } } }),
  });
  if (!response.ok) throw new Error(`account session: ${response.status} ${await response.text()}`);
  return (await response.json()).client_secret;
};
