// A demo of the headless JS API against ds-local. Tokens are minted right here with ds-local's
// test platform key: that is for local demos only. A partner app mints tokens in its backend and
// passes `tokenProvider: () => fetch('/my/token').then(r => r.text())` (or the URL itself).
import init, { DialStackPhone } from '/elements/ds_elements.js';

const PLATFORM_KEY = 'sk_test_local';
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

await init({ module_or_path: new URL('/elements/ds_elements_bg.wasm', location.origin) });

async function platform(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'Content-Type': 'application/json', ...(options.headers ?? {}) },
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

async function demoUsers() {
  const users = [];
  for (const account of (await platform('/v1/accounts?limit=100')).data) {
    const list = await platform('/v1/users?limit=100', { headers: { 'DialStack-Account': account.id } });
    for (const user of list.data) users.push({ id: user.id, name: user.name, account: account.id });
  }
  return users;
}

const users = await demoUsers();
for (const user of users) {
  const option = document.createElement('option');
  option.value = user.id;
  option.textContent = user.name;
  $('user').append(option);
}
const wanted = params.get('user');
const preselected = users.find((u) => u.id === wanted || u.name?.startsWith(wanted ?? '\u0000'));
if (preselected) $('user').value = preselected.id;

function log(name, detail) {
  const item = document.createElement('li');
  item.textContent = `${new Date().toISOString().slice(11, 23)} ${name} ${detail === undefined ? '' : JSON.stringify(detail)}`;
  $('log').prepend(item);
}

let phone = null;

function renderCalls() {
  const list = $('calls');
  list.replaceChildren();
  if (!phone) return;
  for (const call of phone.calls()) {
    const info = call.info();
    const item = document.createElement('li');
    item.dataset.testid = 'call';
    item.dataset.state = info.state;
    item.dataset.direction = info.direction;
    item.textContent = `${info.direction} ${info.remoteName ?? ''} ${info.remoteNumber} — ${info.state}${info.muted ? ' (muted)' : ''}`;
    const button = (label, action) => {
      const b = document.createElement('button');
      b.textContent = label;
      b.dataset.testid = `call-${label.toLowerCase()}`;
      b.addEventListener('click', action);
      item.append(b);
    };
    if (info.direction === 'inbound' && info.state === 'ringing') {
      button('Answer', () => call.answer());
      button('Reject', () => call.reject());
    } else {
      button('Hangup', () => call.hangup());
      if (info.state === 'active') button('Hold', () => call.hold());
      if (info.state === 'held') button('Resume', () => call.resume());
      button(info.muted ? 'Unmute' : 'Mute', () => (info.muted ? call.unmute() : call.mute()));
      button('DTMF 1', () => call.sendDtmf('1'));
    }
    list.append(item);
  }
}

function makePhone(userId) {
  const p = new DialStackPhone({
    apiBase: location.origin,
    // `?multitab`: this user's tabs share one registration; the elected leader holds it.
    multiTab: params.has('multitab'),
    tokenProvider: async () => (await platform('/v1/user_sessions', { method: 'POST', body: JSON.stringify({ user: userId }) })).client_secret,
  });
  // E911: `networkChanged` (the address is bound elsewhere) and `emergencyAddressRequired` (an outside
  // call was refused) tell the host to ask the user for an address: `createEmergencyAddress()`,
  // then `useEmergencyAddress(id)` (also the way to confirm the address on a new network).
  const events = ['status', 'connected', 'disconnected', 'incoming', 'callAdded', 'callUpdated', 'callEnded', 'error', 'devices', 'leader'];
  for (const name of [...events, 'networkChanged', 'emergencyAddressRequired']) {
    p.on(name, (detail) => {
      log(name, detail && typeof detail.info === 'function' ? detail.info() : detail);
      if (name === 'status') $('status').textContent = detail.status;
      if (name === 'leader') $('role').textContent = detail.leader ? 'leader' : 'follower';
      renderCalls();
    });
  }
  return p;
}

$('connect').addEventListener('click', async () => {
  phone?.disconnect();
  phone = makePhone($('user').value);
  window.dialstackPhone = phone;
  try {
    await phone.connect();
    $('status').textContent = phone.status;
    $('role').textContent = phone.isLeader ? 'leader' : 'follower';
    renderCalls();
  } catch (error) {
    log('connect failed', { code: error.code, message: error.message });
  }
});
$('disconnect').addEventListener('click', () => phone?.disconnect());
$('dial').addEventListener('click', () => {
  try {
    phone?.call($('destination').value);
  } catch (error) {
    log('call refused', { code: error.code, message: error.message });
  }
  renderCalls();
});

if (params.has('autoconnect')) $('connect').click();
document.body.dataset.ready = 'true';
