// The host page's own code (a file: the CSP forbids inline scripts).
// - <ds-dialer> rings Alice's devices first: her user id comes from the demo token endpoint.
// - <ds-screen-pop> asks this page for its record of the caller (`lookup`): a stand-in for a CRM.

const pop = document.querySelector('ds-screen-pop');
pop.lookup = async (caller) => {
  // A real host would query its backend here.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { name: `Patient record for ${caller.number}`, url: `#patients/${encodeURIComponent(caller.number)}`, notes: 'Demo record' };
};
pop.addEventListener('ds-open-record', (event) => {
  location.hash = event.detail.record.url || '';
});

async function setUpDialer() {
  const reply = await fetch('/_ds/demo/tokens/alice', { method: 'POST' });
  if (!reply.ok) return;
  const { user } = await reply.json();
  document.querySelector('ds-dialer').setAttribute('user-id', user);
}
setUpDialer();
