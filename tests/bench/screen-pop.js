// Figure 4, ours: <ds-screen-pop> (default settings: it also lists the caller's recent calls) on
// an account session. screen-pop-probe.js records the timings; the driver calls __bench.ring().
import './screen-pop-probe.js';
import init, { defineAll } from '/elements/ds_elements.js';

const account = new URLSearchParams(location.search).get('account');
const bench = window.__bench;
const pop = document.querySelector('ds-screen-pop');
pop.tokenProvider = () => bench.accountSession(account);
await init({ module_or_path: new URL('/elements/ds_elements_bg.wasm', location.origin) });
defineAll();
bench.watch(pop.shadowRoot);
bench.loaded = true;
