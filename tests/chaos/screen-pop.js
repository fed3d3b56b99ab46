// The page of `cargo xtask chaos` scenario 2: a <ds-screen-pop> on the demo account's event
// stream. Every ring it shows fires `ds-lookup`; window.__chaos.rings keeps their callers, which
// the driver compares with the test calls it made while it cut the stream.
const chaos = (window.__chaos = { rings: [] });
document.addEventListener('ds-lookup', (event) => {
  chaos.rings.push({ at: Math.round(performance.now()), number: event.detail.number, callId: event.detail.callId });
});
await import('/elements/index.js');
chaos.ready = true;
