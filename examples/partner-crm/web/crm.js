// The mock CRM's page code. It knows no DialStack credential: the elements fetch their tokens
// from this CRM's own backend (same origin), which holds the platform API key.
//
// Routes (hash, so the softphone stays mounted and calls survive navigation):
//   #/                  patients list
//   #/patients/<id>     patient detail with the patient's call history

const $ = (selector) => document.querySelector(selector);

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

function notice(text) {
  const box = $('#notice');
  box.textContent = text;
  box.hidden = !text;
}

/// A <ds-…> element wired to this CRM's DialStack API base and token endpoint.
function dsElement(tag, tokenUrl, attributes = {}) {
  const element = document.createElement(tag);
  element.setAttribute('api-base', config.api_base);
  element.setAttribute('token-url', tokenUrl);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

/// Any spelling of a caller's number → the patient record the screen pop shows.
async function lookupCaller(caller) {
  const number = typeof caller === 'string' ? caller : (caller?.number ?? caller?.from ?? caller?.from_number);
  if (!number) return null;
  const answer = await getJson(`/api/patients/lookup?phone=${encodeURIComponent(number)}`);
  if (!answer.found) return null;
  const patient = answer.patient;
  return { name: patient.name, url: `#/patients/${patient.id}`, notes: patient.notes, id: patient.id };
}

function text(tag, content, attributes = {}) {
  const element = document.createElement(tag);
  element.textContent = content;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

function telLink(phone) {
  // With handle-tel-links on <ds-softphone>, clicking this dials through the embedded phone.
  return text('a', phone, { href: `tel:${phone}`, class: 'tel', 'data-testid': 'tel-link' });
}

function renderList() {
  document.title = 'Jones Chiropractic · Patients';
  const table = document.createElement('table');
  table.dataset.testid = 'patients';
  const head = table.createTHead().insertRow();
  for (const label of ['Patient', 'Phone', 'Date of birth']) head.append(text('th', label));
  const body = table.createTBody();
  for (const patient of patients) {
    const row = body.insertRow();
    row.dataset.patient = patient.id;
    row.insertCell().append(text('a', patient.name, { href: `#/patients/${patient.id}` }));
    row.insertCell().append(telLink(patient.phone));
    row.insertCell().textContent = patient.date_of_birth;
  }
  $('#view').replaceChildren(text('h2', 'Patients'), table);
}

function renderPatient(patient) {
  document.title = `${patient.name} · Jones Chiropractic`;
  const details = document.createElement('dl');
  const field = (label, value) => {
    details.append(text('dt', label));
    const dd = document.createElement('dd');
    dd.append(value);
    details.append(dd);
  };
  field('Phone', telLink(patient.phone));
  field('Date of birth', patient.date_of_birth);
  field('Notes', patient.notes);
  const history = document.createElement('section');
  history.className = 'history';
  history.append(
    text('h3', 'Calls with this patient'),
    dsElement('ds-call-history', '/api/tokens/session', { 'phone-number': patient.phone, limit: '10' }),
  );
  const view = $('#view');
  view.replaceChildren(text('h2', patient.name, { 'data-testid': 'patient-name' }), details, history);
  view.dataset.patient = patient.id;
}

function route() {
  const match = location.hash.match(/^#\/patients\/([\w-]+)$/);
  const patient = match && patients.find((p) => p.id === match[1]);
  delete $('#view').dataset.patient;
  if (patient) renderPatient(patient);
  else renderList();
}

const config = await getJson('/api/config');
const patients = (await getJson('/api/patients')).data;
window.addEventListener('hashchange', route);
route();

// The phone side: the softphone (user token) and the screen pop (account session).
const softphone = dsElement('ds-softphone', '/api/tokens/user', { 'handle-tel-links': '' });
const screenPop = dsElement('ds-screen-pop', '/api/tokens/session');
screenPop.lookup = lookupCaller;
$('#screen-pop-slot').append(screenPop);
$('#softphone-slot').append(softphone);

document.addEventListener('ds-connection-change', (event) => {
  $('.phone-status').textContent = `Phone: ${event.detail?.status ?? 'unknown'}`;
});
document.addEventListener('ds-open-record', (event) => {
  const url = event.detail?.record?.url;
  if (url?.startsWith('#')) location.hash = url;
});
document.addEventListener('ds-error', (event) => {
  notice(`Phone: ${event.detail?.message ?? 'an error occurred'}`);
});

// A missing bundle is the most common setup slip; say so instead of showing an empty column.
const defined = await Promise.race([
  customElements.whenDefined('ds-softphone').then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), 8000)),
]);
if (!defined) notice('The DialStack elements did not load: run `cargo xtask dist`, then reload.');
