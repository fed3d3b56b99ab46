// Ours: the embed bundle's headless phone (DialStackPhone from dist/elements), as a partner page
// uses it. window.__bench records, in ms since navigation start (performance.now()):
//   ready:  connect() resolved (signalling authenticated), including loading the bundle;
//   callMs: Call clicked → the call's state is `active` (on the echo number).
// The token comes from ds-local's REST API with the test platform key, as in examples/headless.
import init, { DialStackPhone } from '/elements/ds_elements.js';

const params = new URLSearchParams(location.search);
const user = params.get('user');
const bench = (window.__bench = {});

await init({ module_or_path: new URL('/elements/ds_elements_bg.wasm', location.origin) });
const phone = new DialStackPhone({
  apiBase: location.origin,
  tokenProvider: async () => {
    const response = await fetch('/v1/user_sessions', {
      method: 'POST',
      headers: { Authorization: 'Bearer sk_test_local', 'Content-Type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    return (await response.json()).client_secret;
  },
});
try {
  await phone.connect();
  bench.ready = performance.now();
  document.getElementById('status').textContent = 'connected';
} catch (error) {
  bench.error = `connect: ${error.code ?? ''} ${error.message}`;
}

let clicked = 0;
phone.on('callUpdated', (call) => {
  const info = call.info();
  if (info.state === 'active' && clicked && bench.callMs === undefined) {
    bench.callMs = performance.now() - clicked;
    call.hangup();
  }
});
phone.on('callEnded', () => {
  if (clicked) bench.ended = true;
});
phone.on('error', (detail) => {
  if (clicked && bench.callMs === undefined) bench.error = `call: ${JSON.stringify(detail)}`;
});
const button = document.getElementById('call');
button.addEventListener('click', () => {
  clicked = performance.now();
  phone.call(params.get('destination') ?? '+15005550001');
});
button.disabled = false;
