// Figure 5: <ds-call-history> on an account seeded with 10,000 calls (ds-loadgen seed). Records
// into window.__bench, in ms since navigation start (performance.now()):
//   firstRender: the first rows are in the element's shadow DOM (a MutationObserver);
//   loadAll():   presses "Load more" (100 rows a page, the element's maximum) until every row is
//                loaded; returns { ms, rows } (rows = the list's aria-setsize);
//   scroll(n):   scrolls the list top to bottom in n programmatic steps, one per animation frame,
//                and returns the requestAnimationFrame deltas (ms) seen meanwhile;
//   wasmBytes(): the WASM memory size (the page initialises the bundle itself, as index.js does).
import init, { defineAll } from '/elements/ds_elements.js';

const params = new URLSearchParams(location.search);
const account = params.get('account');
const bench = (window.__bench = {});
const history = document.querySelector('ds-call-history');
history.tokenProvider = async () => {
  const response = await fetch('/v1/account_sessions', {
    method: 'POST',
    headers: { Authorization: 'Bearer sk_test_local', 'Content-Type': 'application/json' },
    body: JSON.stringify({ account, components: { call_history: { enabled: true }, call_logs: { enabled: true } } }),
  });
  return (await response.json()).client_secret;
};
document.addEventListener('ds-error', (event) => {
  bench.error = `${event.detail.code}: ${event.detail.message}`;
});

const wasm = await init({ module_or_path: new URL('/elements/ds_elements_bg.wasm', location.origin) });
bench.wasmBytes = () => wasm.memory.buffer.byteLength;
defineAll();
const root = history.shadowRoot;
const rowCount = () => Number(root.querySelector('[role="listitem"]')?.getAttribute('aria-setsize') ?? 0);
const firstRows = new MutationObserver(() => {
  if (bench.firstRender === undefined && root.querySelector('[role="listitem"]')) {
    bench.firstRender = performance.now();
    firstRows.disconnect();
  }
});
firstRows.observe(root, { subtree: true, childList: true });

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));

bench.loadAll = async (limitMs) => {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const more = root.querySelector('[part="load-more"]');
    if (!more) break;
    if (!more.disabled) {
      const before = rowCount();
      more.click();
      // Wait for this page to land (the count grows) or the button to go away.
      while (rowCount() === before && root.querySelector('[part="load-more"]') && performance.now() - started < limitMs) await frame();
    } else {
      await frame();
    }
  }
  return { ms: performance.now() - started, rows: rowCount() };
};

bench.scroll = async (steps) => {
  const scroller = root.querySelector('[role="list"]');
  const end = scroller.scrollHeight - scroller.clientHeight;
  const deltas = [];
  let last = await frame();
  for (let i = 1; i <= steps; i++) {
    scroller.scrollTop = Math.round((end * i) / steps);
    const now = await frame();
    deltas.push(now - last);
    last = now;
  }
  // Two more frames: the last scroll's re-render lands in them.
  for (let i = 0; i < 2; i++) {
    const now = await frame();
    deltas.push(now - last);
    last = now;
  }
  const lastRow = root.querySelectorAll('[role="listitem"]');
  return { deltas, lastPosition: Number(lastRow[lastRow.length - 1]?.getAttribute('aria-posinset') ?? 0), scrollTop: scroller.scrollTop, end };
};
bench.loaded = true;
