// Figure 4, the floor: the fewest lines of plain JS that show the caller of a `call.incoming`
// from the same /v1/events stream with the same credential. Same probe as ours.
import './screen-pop-probe.js';

const account = new URLSearchParams(location.search).get('account');
const bench = window.__bench;
const caller = document.getElementById('caller');
bench.watch(caller);
const secret = await bench.accountSession(account);
const source = new EventSource(`/v1/events?access_token=${encodeURIComponent(secret)}`);
source.addEventListener('call.incoming', (event) => {
  const data = JSON.parse(event.data);
  caller.textContent = `Incoming call from ${data.from_name ?? ''} ${data.from_number}`;
});
bench.loaded = true;
