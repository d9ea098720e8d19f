// leadflow workspace: plain JavaScript, no build step. It signs in (Cognito's
// hosted UI in AWS, a development sign-in on `make dev`), then calls the same
// JSON API as every other client, with the same bearer token and the same
// authorization. Nothing from the API is ever inserted as HTML: every value
// becomes a text node.
'use strict';

const state = { config: null, token: null, me: null, leads: new Map() };
const $ = (sel) => document.querySelector(sel);

// ---------------------------------------------------------------- DOM

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'testid') el.dataset.testid = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function show(...nodes) {
  const main = $('#main');
  main.replaceChildren(...nodes);
}

function flash(text, error) {
  $('#flash').replaceChildren(text ? h('div', { class: error ? 'msg error' : 'msg', testid: 'flash' }, text) : '');
}

const when = (t) => (t ? new Date(t).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '');
const words = (s) => String(s ?? '').replaceAll('_', ' ');
const day = (d) => d.toISOString().slice(0, 10);

function until(t) {
  const mins = Math.round((new Date(t) - Date.now()) / 60000);
  const abs = Math.abs(mins);
  const span = abs < 60 ? `${abs} min` : abs < 2880 ? `${Math.round(abs / 60)} h` : `${Math.round(abs / 1440)} days`;
  return mins >= 0 ? `due in ${span}` : `overdue by ${span}`;
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const headers = { accept: 'application/json', ...(options.headers || {}) };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    options.body = JSON.stringify(options.json);
  }
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) {
    signOut('Your sign-in has expired: sign in again.');
    throw new ApiError(401, null);
  }
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!res.ok) throw new ApiError(res.status, body);
  return { body, headers: res.headers };
}

async function download(path, filename) {
  const res = await fetch(path, { headers: { accept: 'text/csv', authorization: `Bearer ${state.token}` } });
  if (!res.ok) return flash(`The export failed (HTTP ${res.status}).`, true);
  // More than one answer holds: the export is written as a file; follow it.
  if (res.status === 202) return followExport((await res.json()).export);
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// A large export: poll its state (backing off to every 5 s) until the file
// is written, then download it by its short-lived link.
async function followExport(job) {
  flash('The export is large: it is being written as a file, and downloads when ready…');
  let wait = 1000;
  for (;;) {
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 5000);
    let current;
    try {
      current = (await api(job.href)).body.export;
    } catch (e) {
      return flash(`The export could not be followed: ${e.message}`, true);
    }
    if (current.status === 'ready') {
      flash(`The export is ready: ${current.rows} leads${current.truncated ? ' (the first ones: the file is full)' : ''}.`);
      const a = h('a', { href: current.url, download: current.filename });
      document.body.append(a);
      a.click();
      a.remove();
      return;
    }
    if (current.status === 'failed') return flash(`The export failed: ${current.error}`, true);
  }
}

// ---------------------------------------------------------------- sign-in

const TOKEN_KEY = 'leadflow.token';

async function start() {
  $('#sign-out').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', route);
  try {
    state.config = (await api('/app/config.json')).body;
  } catch (e) {
    return show(h('p', {}, `The workspace cannot start: ${e.message}`));
  }
  if (state.config.sign_in === 'cognito') await finishCognito();
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (!state.token) return signInPage();
  await signedIn();
}

async function signedIn() {
  try {
    state.me = (await api('/me')).body;
  } catch (e) {
    if (e.status !== 401) signOut(`Sign-in failed: ${e.message}`);
    return;
  }
  $('#who').textContent = `${state.me.name} (${words(state.me.role)})`;
  $('#nav').hidden = false;
  $('#nav-reports').hidden = !state.me.reports;
  $('#nav-spam').hidden = state.me.role !== 'ops';
  $('#sign-out').hidden = false;
  if (!location.hash || location.hash === '#/sign-in') location.hash = state.me.reports ? '#/reports' : '#/today';
  else route();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.me = null;
  $('#nav').hidden = true;
  $('#sign-out').hidden = true;
  $('#who').textContent = '';
  flash(message || '', !!message);
  if (state.config?.sign_in === 'cognito' && !message) {
    const c = state.config.cognito;
    location.assign(`${c.domain}/logout?client_id=${encodeURIComponent(c.client_id)}&logout_uri=${encodeURIComponent(appUrl())}`);
    return;
  }
  location.hash = '#/sign-in';
  signInPage();
}

const appUrl = () => `${location.origin}/app/`;

function signInPage() {
  if (state.config.sign_in === 'cognito') {
    return show(h('h1', {}, 'Sign in'), h('p', {}, 'You sign in with your company account.'),
      h('button', { class: 'primary', id: 'sign-in', onclick: cognitoSignIn }, 'Sign in'));
  }
  const select = h('select', { id: 'person', name: 'person', required: true }, h('option', { value: '' }, 'Choose a person…'));
  const form = h('form', { class: 'card', onsubmit: localSignIn },
    h('p', { class: 'muted' }, 'Development sign-in (make dev): act as any person of the playbook. In AWS the workspace signs in through Cognito.'),
    h('label', { for: 'person' }, 'Person'), select, ' ',
    h('button', { class: 'primary', id: 'sign-in', type: 'submit' }, 'Sign in'));
  show(h('h1', {}, 'Sign in'), form);
  fetch('/_local/people').then((r) => r.json()).then(({ people }) => {
    for (const p of people) select.append(h('option', { value: p.id }, `${p.name} — ${words(p.role)}`));
  }).catch(() => flash('The development sign-in is only on the local stack (make dev).', true));
}

async function localSignIn(event) {
  event.preventDefault();
  const rep = $('#person').value;
  if (!rep) return;
  const res = await fetch('/_local/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rep }) });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) return flash(body?.error?.message || 'Sign-in failed.', true);
  sessionStorage.setItem(TOKEN_KEY, body.token);
  state.token = body.token;
  flash('');
  location.hash = '';
  await signedIn();
}

// Cognito hosted UI, authorization code with PKCE (no client secret in a page).
function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

async function cognitoSignIn() {
  const c = state.config.cognito;
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const stateParam = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem('leadflow.pkce', JSON.stringify({ verifier, state: stateParam }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: c.client_id, redirect_uri: appUrl(), scope: 'openid email profile',
    code_challenge: challenge, code_challenge_method: 'S256', state: stateParam,
  });
  location.assign(`${c.domain}/oauth2/authorize?${q}`);
}

async function finishCognito() {
  const q = new URLSearchParams(location.search);
  const code = q.get('code');
  if (!code) return;
  const saved = JSON.parse(sessionStorage.getItem('leadflow.pkce') || '{}');
  sessionStorage.removeItem('leadflow.pkce');
  history.replaceState(null, '', '/app/');
  if (!saved.verifier || saved.state !== q.get('state')) return flash('Sign-in was interrupted: try again.', true);
  const c = state.config.cognito;
  const res = await fetch(`${c.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: c.client_id, code, redirect_uri: appUrl(), code_verifier: saved.verifier }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || !body.id_token) return flash('Sign-in failed: try again.', true);
  sessionStorage.setItem(TOKEN_KEY, body.id_token);
}

// ---------------------------------------------------------------- routing

async function route() {
  if (!state.token || !state.me) return;
  const [, page, arg] = location.hash.split('/');
  for (const a of document.querySelectorAll('nav a')) {
    a.toggleAttribute('aria-current', a.getAttribute('href') === `#/${page}`);
    if (a.hasAttribute('aria-current')) a.setAttribute('aria-current', 'page');
  }
  try {
    if (page === 'lead' && arg) await leadPage(decodeURIComponent(arg));
    else if (page === 'leads') await leadsPage();
    else if (page === 'reports' && state.me.reports) await reportsPage();
    else if (page === 'spam' && state.me.role === 'ops') await spamPage(arg);
    else await todayPage();
    $('#main').focus({ preventScroll: true });
  } catch (e) {
    if (e.status === 401) return;
    show(h('h1', {}, 'Something went wrong'), h('p', {}, e.message));
  }
}

// ---------------------------------------------------------------- a rep's day

async function myLeads(query = '') {
  const { body } = await api(`/leads?limit=200${query}`);
  for (const l of body.leads) state.leads.set(l.lead_id, l);
  return body.leads;
}

async function todayPage() {
  const endOfDay = new Date();
  endOfDay.setHours(23, 59, 59, 999);
  const [{ body: t }, leads] = await Promise.all([api('/tasks'), myLeads()]);
  const due = t.tasks.filter((x) => new Date(x.due_at) <= endOfDay);
  const later = t.tasks.filter((x) => new Date(x.due_at) > endOfDay);
  const fresh = leads.filter((l) => l.status === 'open' && !l.first_touch && l.follow_up_by);
  const list = (tasks, id, empty) => h('div', { testid: id }, tasks.length ? tasks.map(taskCard) : h('p', { class: 'muted' }, empty));
  const news = h('div', { testid: 'new-leads' }, fresh.length ? fresh.map((l) => h('div', { class: 'card row' },
    h('a', { href: `#/lead/${encodeURIComponent(l.lead_id)}`, class: 'grow' }, l.name, l.company ? ` — ${l.company}` : ''),
    h('span', { class: `badge ${new Date(l.follow_up_by) < Date.now() ? 'bad' : 'warn'}` }, until(l.follow_up_by)),
    h('span', { class: 'muted' }, `${words(l.route)} · ${words(l.request_type)}`))) : h('p', { class: 'muted' }, 'No untouched leads waiting.'));
  show(h('h1', {}, `Today, ${state.me.name}`),
    h('h2', {}, `Due today and overdue (${due.length})`), list(due, 'tasks', 'Nothing due today. Well done.'),
    h('h2', {}, `New leads on the first-touch clock (${fresh.length})`), news,
    h('h2', {}, `Coming up (${later.length})`), list(later, 'later-tasks', 'Nothing else open.'));
}

const QUICK = ['not_reached', 'qualifying', 'no_interest', 'not_now', 'wants_demo', 'wants_onsite'];

function taskCard(task) {
  const lead = state.leads.get(task.lead_id);
  const overdue = new Date(task.due_at) < Date.now();
  const outcomes = state.me.outcomes.filter((o) => QUICK.includes(o.id));
  return h('div', { class: 'card', testid: `task-${task.task_id}`, 'data-lead': task.lead_id },
    h('div', { class: 'row' },
      h('strong', { class: 'grow' }, task.label, ': ',
        h('a', { href: `#/lead/${encodeURIComponent(task.lead_id)}` }, lead ? lead.name : task.lead_id)),
      h('span', { class: `badge ${overdue ? 'bad' : 'warn'}` }, until(task.due_at))),
    h('div', { class: 'muted' }, task.reason),
    callDetails(task.task_id),
    h('div', { class: 'outcomes', role: 'group', 'aria-label': 'Record what the call found' },
      outcomes.map((o) => h('button', {
        type: 'button', 'data-outcome': o.id, class: o.id === 'no_interest' ? 'danger' : '',
        onclick: (e) => quickOutcome(e.currentTarget, task, o.id),
      }, o.label))));
}

// B.A.N.T. answers and notes learned on the call, sent with the outcome button.
function callDetails(id) {
  return h('details', {},
    h('summary', {}, 'B.A.N.T. answers and notes'),
    h('div', { class: 'grid' }, Object.entries(state.me.bant).map(([field, c]) => h('div', {},
      h('label', { for: `${id}-${field}` }, c.label),
      h('select', { id: `${id}-${field}`, 'data-bant': field }, h('option', { value: '' }, '(no change)'),
        c.values.map((x) => h('option', { value: x }, words(x))))))),
    h('label', { for: `${id}-notes` }, 'Notes'), h('textarea', { id: `${id}-notes`, 'data-notes': true, maxlength: 4000 }));
}

function details(card, body) {
  const bant = {};
  for (const sel of card.querySelectorAll('[data-bant]')) if (sel.value) bant[sel.dataset.bant] = sel.value;
  if (Object.keys(bant).length) body.bant = bant;
  const notes = card.querySelector('[data-notes]')?.value.trim();
  if (notes) body.notes = notes;
  return body;
}

async function quickOutcome(button, task, outcome) {
  button.disabled = true;
  try {
    const { body: lead } = await api(`/leads/${encodeURIComponent(task.lead_id)}`);
    const { body } = await api(`/leads/${encodeURIComponent(task.lead_id)}/outcomes`, {
      method: 'POST', headers: { 'if-match': `"${lead.version}"` },
      json: details(button.closest('.card'), { reached: outcome !== 'not_reached', outcome, task_id: task.task_id }),
    });
    flash(`Recorded. ${(body.reasons || []).join(' ')}`);
    location.hash = `#/lead/${encodeURIComponent(task.lead_id)}`;
  } catch (e) {
    button.disabled = false;
    if (e.status !== 401) flash(e.status === 409 ? 'Someone changed this lead meanwhile: look again and retry.' : e.message, true);
  }
}

// ---------------------------------------------------------------- a lead

function describe(entry) {
  const e = entry.event;
  switch (e.type) {
    case 'response': return [`Response: ${words(e.request_type)} from ${words(e.source)}${e.attribution?.campaign ? ` (campaign ${e.attribution.campaign})` : ''}`, e.message || ''];
    case 'routed': return [`Routed: ${words(e.decision.stage)}, ${words(e.decision.route)} → ${e.decision.owner.name || e.decision.owner.label}`, e.decision.reasons.join('; ')];
    case 'decided': return [`Decided (${e.cause}) by ${e.by}: ${words(e.decision.route)} → ${e.decision.owner.name || e.decision.owner.label}`, e.decision.reasons.join('; ')];
    case 'email_sent': return [`Email sent (${words(e.kind)}) to ${e.to}: ${e.subject}`, e.kit ? `kit ${e.kit}` : ''];
    case 'email_rejected': return [`Email refused (${words(e.kind)}) to ${e.to}`, e.reason];
    case 'email_coalesced': return [`Email covered by an earlier one (${words(e.kind)})`, ''];
    case 'outcome_recorded': return [`Outcome: ${words(e.outcome)} (${e.reached ? 'reached' : 'not reached'}) by ${e.by}`, e.notes || ''];
    case 'status_changed': return [`Status: ${words(e.from)} → ${words(e.to)} by ${e.by}`, [e.lost_to && `lost to ${e.lost_to}`, e.reason, e.amount && `amount ${e.amount}`].filter(Boolean).join('; ')];
    case 'reassigned': return [`Reassigned to ${e.to.name || e.to.label} by ${e.by}`, e.reason];
    case 'first_touch': return [`First touch by ${e.by} after ${e.minutes_to_touch} min`, e.within_sla === false ? 'outside the SLA' : e.within_sla ? 'within the SLA' : ''];
    case 'sla_escalated': return ['SLA breached: escalated', e.reason];
    case 'sla_reassigned': return [`Reassigned after the SLA: ${e.to.name || e.to.label}`, e.reason];
    case 'task_opened': return [`Task opened: ${words(e.kind)}, due ${when(e.due_at)}`, e.reason];
    case 'task_closed': return [`Task ${words(e.status)}: ${words(e.kind)}`, e.reason];
    case 'nurture_enrolled': return [`Nurture: enrolled in ${e.series}`, e.reason];
    case 'nurture_step': return [`Nurture: ${e.series} step ${e.step + 1}`, e.what];
    case 'nurture_exited': return [`Nurture: left ${e.series}`, e.reason];
    case 'activity': return [`Activity: ${words(e.kind)}`, e.detail || ''];
    case 'email_feedback': return [`Email ${e.kind}: ${e.to}`, e.detail || ''];
    default: return [words(e.type), ''];
  }
}

async function leadPage(id) {
  const { body: v } = await api(`/leads/${encodeURIComponent(id)}`);
  const l = v.lead;
  const s = v.summary;
  const owner = s.owner ? (s.owner.name || s.owner.label) : 'nobody yet';
  const sent = v.history.filter((e) => e.event.type === 'email_sent' && e.event.kind === 'fulfillment');
  const responses = v.history.filter((e) => e.event.type === 'response');
  const contact = l.contact || {};
  const bant = Object.entries(l.bant || {}).map(([k, a]) => h('div', {}, h('strong', {}, words(k)), `: ${words(a.value)} `, h('span', { class: 'muted' }, `(${a.source}, ${when(a.at)})`)));
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'Email'), h('dd', {}, l.email),
    h('dt', {}, 'Company'), h('dd', {}, contact.company || ''),
    h('dt', {}, 'Title'), h('dd', {}, contact.title || ''),
    h('dt', {}, 'Phone'), h('dd', {}, contact.phone || ''),
    h('dt', {}, 'Country'), h('dd', {}, contact.country || ''),
    h('dt', {}, 'Stage'), h('dd', { id: 'lead-stage' }, words(s.stage)),
    h('dt', {}, 'Route'), h('dd', { id: 'lead-route' }, words(s.route)),
    h('dt', {}, 'Score'), h('dd', {}, s.score ?? ''),
    h('dt', {}, 'Owner'), h('dd', { id: 'lead-owner' }, owner),
    h('dt', {}, 'Status'), h('dd', { id: 'lead-status' }, words(s.status)),
    h('dt', {}, 'Follow up by'), h('dd', {}, when(s.follow_up_by)));
  const pkg = h('div', { class: 'card' }, h('h2', {}, 'Lead package'),
    h('p', {}, `Campaign: ${l.first_attribution?.campaign || '(none)'}; latest: ${l.attribution?.campaign || '(none)'} via ${words(l.attribution?.source || 'web')}`),
    h('p', {}, sent.length ? `Fulfilment sent: ${sent.map((e) => `${e.event.kit || e.event.subject} on ${when(e.at)}`).join(', ')}` : 'No fulfilment sent yet.'),
    h('div', { testid: 'qualifying' }, h('strong', {}, 'Qualifying answers'), bant.length ? bant : h('p', { class: 'muted' }, 'None yet.')),
    h('p', {}, `Responses: ${l.responses ?? responses.length}`),
    h('ul', {}, responses.slice(-20).map((r) => h('li', {}, `${when(r.at)}: ${words(r.event.request_type)} from ${words(r.event.source)}${r.event.attribution?.campaign ? ` (${r.event.attribution.campaign})` : ''}`))),
    h('p', { class: 'muted' }, (v.reasons || []).join('; ')));
  const tasks = h('div', { class: 'card' }, h('h2', {}, 'Open tasks'),
    v.tasks.length ? v.tasks.map((t) => h('div', {}, h('strong', {}, t.label), ` — ${until(t.due_at)} (${t.owner.name || t.owner.label})`, h('div', { class: 'muted' }, t.reason))) : h('p', { class: 'muted' }, 'None.'));
  const entry = (e) => {
    const [what, why] = describe(e);
    return h('li', {}, h('div', {}, h('span', { class: 'muted' }, when(e.at)), ' ', what), why ? h('div', { class: 'why' }, why) : '');
  };
  // Newest first; a long story comes a page at a time.
  const history = h('ol', { class: 'history', testid: 'history' }, [...v.history].reverse().map(entry));
  let cursor = v.history_next;
  const earlier = h('button', { type: 'button', id: 'history-earlier', hidden: !cursor }, 'Show earlier history');
  earlier.addEventListener('click', async () => {
    const { body: page } = await api(`/leads/${encodeURIComponent(id)}?history_before=${encodeURIComponent(cursor)}`);
    [...page.history].reverse().forEach((e) => history.append(entry(e)));
    cursor = page.history_next;
    earlier.hidden = !cursor;
  });
  show(h('p', {}, h('a', { href: '#/today' }, '← Today')),
    h('h1', {}, s.name, s.company ? ` — ${s.company}` : ''),
    h('div', { class: 'grid' }, h('div', { class: 'card' }, facts), pkg),
    tasks, outcomeForm(v), statusForm(v),
    h('h2', {}, 'History, with every decision\'s reasons'), history, earlier);
}

function outcomeForm(v) {
  const me = state.me;
  const select = h('select', { id: 'outcome', name: 'outcome', required: true }, me.outcomes.map((o) => h('option', { value: o.id }, o.label)));
  const bant = Object.entries(me.bant).map(([field, c]) => h('div', {},
    h('label', { for: `bant-${field}` }, c.label),
    h('select', { id: `bant-${field}`, name: field }, h('option', { value: '' }, '(no change)'), c.values.map((x) => h('option', { value: x }, words(x))))));
  const form = h('form', { class: 'card', testid: 'outcome-form' },
    h('h2', {}, 'Record a call'),
    h('label', { for: 'outcome' }, 'What did the call find?'), select,
    h('label', {}, h('input', { type: 'checkbox', id: 'reached', name: 'reached', checked: true }), ' Reached the person'),
    h('fieldset', {}, h('legend', {}, 'B.A.N.T. answers learned'), h('div', { class: 'grid' }, bant)),
    h('label', { for: 'follow_up_on' }, 'Follow up on (an assessment in progress)'), h('input', { type: 'date', id: 'follow_up_on', name: 'follow_up_on' }),
    h('label', { for: 'notes' }, 'Notes'), h('textarea', { id: 'notes', name: 'notes', maxlength: 4000 }),
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Record')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { outcome: f.get('outcome'), reached: !!f.get('reached') };
    const answers = {};
    for (const field of Object.keys(me.bant)) if (f.get(field)) answers[field] = f.get(field);
    if (Object.keys(answers).length) body.bant = answers;
    if (f.get('follow_up_on')) body.follow_up_on = f.get('follow_up_on');
    if (f.get('notes')) body.notes = f.get('notes');
    await change(v, 'outcomes', body);
  });
  return form;
}

function statusForm(v) {
  const extra = h('div', { class: 'grid' },
    h('div', {}, h('label', { for: 'lost_to' }, 'Lost to (competitor)'), h('input', { id: 'lost_to', name: 'lost_to' })),
    h('div', {}, h('label', { for: 'reason' }, 'Why (lost or rejected)'), h('input', { id: 'reason', name: 'reason' })),
    h('div', {}, h('label', { for: 'amount' }, 'Amount (won)'), h('input', { id: 'amount', name: 'amount', type: 'number', min: 0, step: 'any' })));
  const buttons = state.me.statuses.map((st) => h('button', {
    type: 'button', 'data-status': st, class: st === 'lost' || st === 'rejected' ? 'danger' : '',
    onclick: async () => {
      const body = { status: st };
      for (const k of ['lost_to', 'reason']) if ($(`#${k}`).value.trim()) body[k] = $(`#${k}`).value.trim();
      if ($('#amount').value) body.amount = Number($('#amount').value);
      await change(v, 'status', body);
    },
  }, words(st)));
  return h('div', { class: 'card', testid: 'status-form' }, h('h2', {}, 'Status'), extra, h('div', { class: 'outcomes' }, buttons));
}

async function change(v, what, body) {
  try {
    const { body: a } = await api(`/leads/${encodeURIComponent(v.lead_id)}/${what}`, { method: 'POST', headers: { 'if-match': `"${v.version}"` }, json: body });
    flash(`Saved. ${(a.reasons || []).join(' ')}`);
    await leadPage(v.lead_id);
  } catch (e) {
    if (e.status === 401) return;
    flash(e.status === 409 ? 'Someone changed this lead meanwhile: the page shows it as it is now; try again.' : e.message, true);
    if (e.status === 409) await leadPage(v.lead_id);
  }
}

// ---------------------------------------------------------------- leads

async function leadsPage() {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const q = ['stage', 'route', 'status'].filter((k) => params.get(k)).map((k) => `&${k}=${encodeURIComponent(params.get(k))}`).join('');
  const leads = await myLeads(q);
  const filter = (name, values) => h('div', {}, h('label', { for: `f-${name}` }, words(name)),
    h('select', { id: `f-${name}`, name }, h('option', { value: '' }, 'any'), values.map((x) => h('option', { value: x, selected: params.get(name) === x }, words(x)))));
  const form = h('form', { class: 'card row' },
    filter('stage', ['inquiry', 'lead', 'opportunity', 'qualified_opportunity']),
    filter('route', ['hot', 'high_potential', 'need_information', 'low_potential', 'partner', 'need_nurturing', 'dead']),
    filter('status', ['open', 'nurturing', 'accepted', 'rejected', 'demo_scheduled', 'demo_held', 'proposal_sent', 'won', 'lost', 'dead']),
    h('button', { type: 'submit' }, 'Filter'),
    h('button', { type: 'button', onclick: () => download(`/leads?format=csv${q}`, 'leads.csv') }, 'Export CSV'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new URLSearchParams([...new FormData(form)].filter(([, v]) => v));
    location.hash = `#/leads?${f}`;
  });
  const rows = leads.map((l) => h('tr', {},
    h('td', {}, h('a', { href: `#/lead/${encodeURIComponent(l.lead_id)}` }, l.name)), h('td', {}, l.company || ''),
    h('td', {}, words(l.stage)), h('td', {}, words(l.route)), h('td', {}, l.score ?? ''), h('td', {}, words(l.status)),
    h('td', {}, l.owner ? (l.owner.name || l.owner.label) : ''), h('td', {}, when(l.updated_at))));
  show(h('h1', {}, 'Leads'), form, h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, ['Name', 'Company', 'Stage', 'Route', 'Score', 'Status', 'Owner', 'Last activity'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows))));
}

// ---------------------------------------------------------------- suspected spam (ops)

async function spamPage(next) {
  const { body } = await api(`/spam?limit=50${next ? `&next=${encodeURIComponent(next)}` : ''}`);
  const field = (p, name) => (p.fields.find(([k]) => k === name) || [])[1] || '';
  const release = async (button, p) => {
    button.disabled = true;
    try {
      const r = (await api(`/spam/${encodeURIComponent(p.id)}/release`, { method: 'POST' })).body;
      flash(r.already_released ? 'Released before: nothing more changed.' : 'Released: the inquiry is in the pipeline.');
      await spamPage(next);
    } catch (e) {
      button.disabled = false;
      if (e.status !== 401) flash(e.message, true);
    }
  };
  const rows = body.posts.map((p) => h('tr', { testid: 'spam-post' },
    h('td', {}, when(p.received_at)), h('td', {}, field(p, 'email')), h('td', {}, field(p, 'company')),
    h('td', {}, p.reason),
    h('td', {}, h('details', {}, h('summary', {}, `${p.fields.length} fields`),
      h('dl', {}, p.fields.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])))),
    h('td', {}, p.released
      ? h('a', { href: `#/lead/${encodeURIComponent(p.released.lead_id)}` }, `released by ${p.released.by}`)
      : h('button', { type: 'button', onclick: (e) => release(e.target, p) }, 'Release'))));
  show(h('h1', {}, 'Suspected spam'),
    h('p', {}, `Posts the spam guard held in the last ${body.quarantine_days} days, newest first. A real inquiry (an autofilling browser, a slow page) can be released into the pipeline once.`),
    body.posts.length ? h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Received', 'Email', 'Company', 'Why it was held', 'What was sent', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows))) : h('p', {}, 'Nothing held.'),
    body.next ? h('p', {}, h('a', { href: `#/spam/${encodeURIComponent(body.next)}` }, 'Older')) : '');
}

// ---------------------------------------------------------------- reports

function bars(items, { testid, cls } = {}) {
  const max = Math.max(1, ...items.map((i) => i.value));
  return h('div', { class: 'bars', testid }, items.flatMap((i) => {
    const fill = h('div', { class: `bar-fill ${i.cls || cls || ''}` });
    fill.style.width = `${(100 * i.value) / max}%`;
    return [h('span', {}, i.label), h('div', { class: 'bar-track', role: 'img', 'aria-label': `${i.label}: ${i.value}` }, fill),
      h('span', { testid: i.testid }, i.note ? `${i.value} (${i.note})` : String(i.value))];
  }));
}

async function reportsPage() {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const to = params.get('to') || day(new Date());
  const fromDefault = new Date(to); fromDefault.setDate(fromDefault.getDate() - 29);
  const from = params.get('from') || day(fromDefault);
  const by = params.get('by') || 'all';
  const only = params.get('only') || '';
  const query = new URLSearchParams({ from, to });
  if (only && by !== 'all') query.set(by, only); else if (by !== 'all') query.set('by', by);
  const get = (name, q = query) => api(`/reports/${name}?${q}`).then((r) => r.body);
  const period = new URLSearchParams({ from, to });
  // A manager's figures cover the pools and queues they manage; what is
  // counted only company-wide (funnel by campaign, source or territory; lost
  // to whom and why) is for ops.
  const company = state.me.role === 'ops';
  const [funnel, follow, pipeline, lost, health] = await Promise.all([
    get('funnel'), get('follow-up', period), get('pipeline', period), company ? get('lost', period) : null, get('health', period)]);
  const scope = funnel.scope && funnel.scope.covers === 'managed'
    ? h('p', { class: 'muted', testid: 'report-scope' }, `Your pools and queues: ${[...(funnel.scope.pools || []), ...(funnel.scope.queues || [])].join(', ')}.`)
    : '';

  const form = h('form', { class: 'card row', testid: 'report-filters' },
    h('div', {}, h('label', { for: 'r-from' }, 'From'), h('input', { type: 'date', id: 'r-from', name: 'from', value: from })),
    h('div', {}, h('label', { for: 'r-to' }, 'To'), h('input', { type: 'date', id: 'r-to', name: 'to', value: to })),
    h('div', {}, h('label', { for: 'r-by' }, 'Funnel by'), h('select', { id: 'r-by', name: 'by' },
      (company ? ['all', 'campaign', 'source', 'territory', 'rep', 'pool'] : ['all', 'rep', 'pool']).map((d) => h('option', { value: d, selected: d === by }, d)))),
    h('div', {}, h('label', { for: 'r-only' }, 'Only this value'), h('input', { id: 'r-only', name: 'only', value: only, placeholder: 'e.g. expo-2026' })),
    h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/reports?${new URLSearchParams([...new FormData(form)].filter(([, v]) => v))}`;
  });
  const csv = (name, q) => h('button', { type: 'button', class: 'link', onclick: () => download(`/reports/${name}?format=csv&${q}`, `${name}-${from}-${to}.csv`) }, 'CSV');

  const funnelCards = funnel.groups.length ? funnel.groups.map((g) => h('div', { class: 'card' },
    h('h3', {}, g.key === 'all' ? 'All leads' : g.key),
    bars(['suspect', 'prospect', 'sales_ready', 'quote', 'won', 'lost'].map((k) => ({
      label: words(k), value: g.counts[k], testid: `funnel-${g.key}-${k}`, cls: k === 'lost' ? 'bad' : '',
      note: (g.steps.find((s) => s.to === k) || {}).ratio != null ? `${Math.round(100 * g.steps.find((s) => s.to === k).ratio)}%` : '',
    }))))) : h('p', { class: 'muted' }, 'No leads arrived in this period.');

  const a = follow.all;
  const hist = (row) => bars(row.histogram.map((b) => ({ label: b.le_minutes ? `≤ ${fmtMinutes(b.le_minutes)}` : 'longer', value: b.count })), { cls: 'alt' });
  const repRows = follow.by_rep.map((r) => h('tr', { testid: `followup-rep-${r.key}` },
    h('td', {}, r.key), h('td', { testid: `followup-rep-${r.key}-touched` }, r.touched), h('td', {}, fmtMinutes(r.median_minutes)),
    h('td', {}, fmtMinutes(r.p90_minutes)), h('td', {}, pct(r.share_within_sla))));
  const rollup = [...follow.by_pool.map((r) => ['pool', r]), ...follow.by_territory.map((r) => ['territory', r])].map(([lvl, r]) =>
    h('tr', {}, h('td', {}, `${lvl}: ${r.key}`), h('td', {}, r.touched), h('td', {}, fmtMinutes(r.median_minutes)), h('td', {}, fmtMinutes(r.p90_minutes)), h('td', {}, pct(r.share_within_sla))));

  const breaches = health.sla_breaches.length
    ? bars(health.sla_breaches.map((d) => ({ label: d.day, value: d.count })), { cls: 'bad', testid: 'sla-breaches' })
    : h('p', { class: 'muted', testid: 'sla-breaches' }, 'No SLA breaches in this period.');

  show(h('h1', {}, 'Reports'), scope, form,
    h('h2', {}, 'Funnel ', csv('funnel', query)), h('p', { class: 'muted' }, `Of the leads that arrived ${from} to ${to}: how far they got (percentages: of the step before).`),
    h('div', { class: 'grid', testid: 'funnel' }, funnelCards),
    h('h2', {}, 'Initial follow-up ', csv('follow-up', period)),
    h('div', { class: 'grid' },
      h('div', { class: 'card', testid: 'followup-all' },
        h('p', {}, h('strong', { testid: 'followup-touched' }, a.touched), ' first touched; median ', fmtMinutes(a.median_minutes), ', p90 ', fmtMinutes(a.p90_minutes), '; within SLA ', pct(a.share_within_sla)),
        h('p', {}, h('strong', { testid: 'never-touched' }, follow.never_touched.untouched), ' never touched now, ', follow.never_touched.breached, ' of them past the SLA'), hist(a)),
      h('div', { class: 'card scroll' }, h('table', {}, h('thead', {}, h('tr', {}, ['Rep', 'Touched', 'Median', 'p90', 'Within SLA'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', { testid: 'followup-reps' }, repRows, rollup)))),
    h('h2', {}, 'SLA breaches over time'), h('div', { class: 'card' }, breaches),
    h('h2', {}, 'Pipeline ', csv('pipeline', period)),
    h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('h3', {}, 'Open, by status'), bars(pipeline.forecast.map((f) => ({ label: words(f.status), value: f.count, note: `${Math.round(f.probability * 100)}% → ${f.expected_wins}` }))),
        h('p', {}, `Expected wins: ${pipeline.expected_wins}`)),
      h('div', { class: 'card', testid: 'closed' }, h('h3', {}, 'Closed in the period'),
        h('p', {}, `Won ${pipeline.closed.won}, lost ${pipeline.closed.lost}, close rate ${pct(pipeline.closed.close_rate)}, won amount ${pipeline.closed.won_amount}`)),
      lost ? h('div', { class: 'card' }, h('h3', {}, `Lost: ${lost.lost} `, csv('lost', period)),
        h('p', {}, h('strong', {}, 'To whom')), bars(lost.to_whom.map((s) => ({ label: s.key, value: s.count })), { cls: 'bad' }),
        h('p', {}, h('strong', {}, 'Why')), bars(lost.why.map((s) => ({ label: s.key, value: s.count })), { cls: 'bad' }))
        : h('div', { class: 'card muted' }, h('h3', {}, 'Lost'), h('p', {}, 'Lost to whom and why is counted company-wide: ops see it.'))),
    h('h2', {}, 'Process health ', csv('health', period)),
    h('div', { class: 'card', testid: 'health' },
      h('p', {}, `${health.untouched} untouched, ${health.breached} past SLA, ${health.overdue_tasks.total} overdue tasks, ${health.sla_breaches_total} SLA breaches in the period.`),
      health.problems.length ? h('ul', { class: 'problems' }, health.problems.map((p) => h('li', {}, p))) : h('p', { class: 'muted' }, 'Nothing needs a look.'),
      health.nurture.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Series', 'Enrolled', 'Sent', 'Unsubscribed', 'Bounced', 'Complained'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, health.nurture.map((s) => h('tr', {}, h('td', {}, s.series, s.alert ? h('span', { class: 'badge bad' }, ' check') : ''), h('td', {}, s.enrolled), h('td', {}, s.sent), h('td', {}, s.unsubscribed), h('td', {}, s.bounced), h('td', {}, s.complained))))) : ''));
}

function fmtMinutes(m) {
  if (m === null || m === undefined) return '–';
  if (m < 60) return `${m} min`;
  if (m < 2880) return `${Math.round(m / 60)} h`;
  return `${Math.round(m / 1440)} days`;
}
const pct = (r) => (r === null || r === undefined ? '–' : `${Math.round(r * 100)}%`);

start();
