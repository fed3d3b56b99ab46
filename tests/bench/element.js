// Ours, as users meet it: the <ds-softphone> element of the embed bundle. The driver
// (browser.mjs) types the number and clicks the element's Call button by role and name; this page
// only records, in ms since navigation start (performance.now()), into window.__bench:
//   ready:   the element's `ds-connection-change` with status `connected`;
//   clicked: the click on the Call button (capture listener on document: the click is composed,
//            so it reaches document before the element's own handler runs);
//   callMs:  clicked → the element shows the call `active` (data-state="active" on its call
//            state, set when ds-core's state is Connected = call.answered), seen by a
//            MutationObserver on the shadow root;
//   ended:   count of `ds-call-ended` events.
// wasmBytes() reads the WASM memory size: the page initialises the bundle itself (what
// /elements/index.js does: init, then defineAll) to keep the module's exports.
import init, { defineAll } from '/elements/ds_elements.js';

const params = new URLSearchParams(location.search);
const user = params.get('user');
const bench = (window.__bench = { ended: 0, calls: [] });

const softphone = document.querySelector('ds-softphone');
softphone.tokenProvider = async () => {
  const response = await fetch('/v1/user_sessions', {
    method: 'POST',
    headers: { Authorization: 'Bearer sk_test_local', 'Content-Type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  return (await response.json()).client_secret;
};
document.addEventListener('ds-connection-change', (event) => {
  if (event.detail.status === 'connected' && bench.ready === undefined) bench.ready = performance.now();
});
document.addEventListener('ds-error', (event) => {
  bench.lastError = `${event.detail.code}: ${event.detail.message}`;
});
document.addEventListener('ds-call-ended', () => {
  bench.ended += 1;
});
document.addEventListener(
  'click',
  (event) => {
    const target = event.composedPath()[0];
    if (target instanceof HTMLElement && target.getAttribute('part') === 'call-button') {
      bench.clicked = performance.now();
      bench.callMs = undefined;
    }
  },
  true,
);

const wasm = await init({ module_or_path: new URL('/elements/ds_elements_bg.wasm', location.origin) });
bench.wasmBytes = () => wasm.memory.buffer.byteLength;
defineAll();

function watchActive() {
  const root = softphone.shadowRoot;
  const check = () => {
    if (bench.clicked !== undefined && bench.callMs === undefined && root.querySelector('[data-testid="call-state"][data-state="active"]')) {
      bench.callMs = performance.now() - bench.clicked;
      bench.calls.push(bench.callMs);
    }
  };
  new MutationObserver(check).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
}
// The shadow root exists once the element is upgraded (defineAll above).
if (softphone.shadowRoot) watchActive();
else bench.error = 'ds-softphone has no open shadow root';
