// The page of `cargo xtask chaos` scenarios 1, 4 and 5: one <ds-softphone> from the embed bundle,
// signed in with user tokens minted through ds-local's REST API (`?ttl=` sets their lifetime, so
// scenario 4 can use 10-second tokens), plus read-outs the driver (driver.mjs) polls:
//   window.__chaos.inboundBytes()  audio bytes received so far, from getStats() of every live
//                                  RTCPeerConnection of the page (the bundle's, caught below);
//   window.__chaos.timer()         the call timer the user sees ("m:ss"), or null;
//   window.__chaos.quality()       { level, mos } of the quality indicator the user sees;
//   window.__chaos.status / .log / .ended / .errors / .tokens  what the element reported.
const params = new URLSearchParams(location.search);
const user = params.get('user');
const ttl = Number(params.get('ttl') ?? 3600);

// Keep a handle on the peer connections the bundle creates, for getStats(). Installed before the
// bundle loads; the subclass behaves exactly like the native constructor.
const peers = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(...args) {
    super(...args);
    peers.push(this);
  }
};

const chaos = (window.__chaos = { status: 'loading', log: [], ended: [], errors: [], tokens: 0 });
const since = () => Math.round(performance.now());

await import('/elements/index.js');
const phone = document.createElement('ds-softphone');
phone.tokenProvider = async () => {
  const response = await fetch('/v1/user_sessions', {
    method: 'POST',
    headers: { Authorization: 'Bearer sk_test_local', 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, ttl_seconds: ttl }),
  });
  if (!response.ok) throw new Error(`user_sessions answered ${response.status}`);
  chaos.tokens += 1;
  return (await response.json()).client_secret;
};
phone.addEventListener('ds-connection-change', (event) => {
  chaos.status = event.detail.status;
  chaos.log.push({ at: since(), status: event.detail.status });
});
phone.addEventListener('ds-call-ended', (event) => chaos.ended.push({ at: since(), ...event.detail }));
phone.addEventListener('ds-error', (event) => chaos.errors.push({ at: since(), ...event.detail }));
document.getElementById('phone').append(phone);

chaos.inboundBytes = async () => {
  let total = 0;
  for (const peer of peers) {
    if (peer.connectionState === 'closed') continue;
    const report = await peer.getStats();
    report.forEach((entry) => {
      if (entry.type === 'inbound-rtp' && entry.kind === 'audio') total += entry.bytesReceived ?? 0;
    });
  }
  return total;
};
chaos.timer = () => phone.shadowRoot?.querySelector('[role="timer"]')?.textContent?.trim() || null;
chaos.quality = () => {
  const box = phone.shadowRoot?.querySelector('.ds-quality');
  if (!box) return null;
  const figures = [...box.querySelectorAll('dd')].map((dd) => dd.textContent.trim());
  return { level: box.dataset.level, mos: Number.parseFloat(figures[0]), loss: figures[2], jitter: figures[1] };
};
