// Entry of the @dialstack/elements embed bundle: loads the WASM module and registers every
// <ds-…> element. Import `./ds_elements.js` directly for a side-effect-free ("pure") entry.
import init, { defineAll } from './ds_elements.js';

await init({ module_or_path: new URL('./ds_elements_bg.wasm', import.meta.url) });
defineAll();

export * from './ds_elements.js';
