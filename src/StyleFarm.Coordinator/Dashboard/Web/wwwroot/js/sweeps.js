// The sweeps page: every sweep (GET /api/v1/sweeps) with progress, ETA and controls, kept live by the dashboard
// view (which carries the unfinished sweeps and the ones that ended lately).

import { getJson } from './api.js';
import { sweepControls } from './controls.js';
import {
  el, fmtDuration, fmtTime, setText, showError, stateBadge, throttled, updateBadge, updateProgress,
  FINISHED_SWEEP, fmtNumber,
} from './dom.js';
import { followView } from './live.js';
import { renderFailures, renderFarmStats } from './farm.js';

const body = document.querySelector('#sweeps tbody');
const empty = document.getElementById('no-sweeps');
const rows = new Map(); // sweep id -> { row, parts }
let summaries = [];
let live = new Map(); // sweep id -> DashboardSweep

function progressOf(summary) {
  const view = live.get(summary.id);
  if (view) {
    return {
      state: view.state, jobs: view.jobs || summary.jobCount, done: view.jobsDone, failed: view.jobsFailed,
      cancelled: view.jobsCancelled, running: view.jobsRunning, eta: view.etaSeconds, rate: view.jobsPerSecond,
    };
  }
  const jobs = summary.jobs || {};
  return {
    state: summary.state, jobs: summary.jobCount, done: jobs.done || 0, failed: jobs.failed || 0,
    cancelled: jobs.cancelled || 0, running: jobs.running || 0, eta: null, rate: null,
  };
}

function createRow(summary) {
  const badge = stateBadge(summary.state);
  const progress = el('progress', { dataset: { testid: 'sweep-progress' }, value: 0, max: 1, 'aria-label': `Jobs done of ${summary.name}` });
  const count = el('span');
  const eta = el('span', { dataset: { testid: 'sweep-eta' } });
  const rate = el('span');
  const controls = sweepControls(summary.id, () => refresh());
  const row = el('tr', { dataset: { testid: 'sweep-row', sweepId: summary.id, state: summary.state } },
    el('td', {},
      el('a', { href: `/sweeps/${encodeURIComponent(summary.id)}`, dataset: { testid: 'sweep-link' } }, summary.name),
      ' ', el('span', { class: 'muted mono small' }, summary.id)),
    el('td', {}, badge),
    el('td', {}, el('div', { class: 'bar' }, progress, count)),
    el('td', { class: 'num' }, eta),
    el('td', { class: 'num' }, rate),
    el('td', { class: 'muted small' }, fmtTime(summary.createdAt)),
    el('td', {}, controls.element));
  return { row, badge, progress, count, eta, rate, controls };
}

function updateRow(parts, summary) {
  const p = progressOf(summary);
  parts.row.dataset.state = p.state;
  updateBadge(parts.badge, p.state);
  updateProgress(parts.progress, p.done, p.jobs);
  parts.progress.classList.toggle('done', p.state === 'done');
  const extra = [p.running ? `${p.running} running` : '', p.failed ? `${p.failed} failed` : '', p.cancelled ? `${p.cancelled} cancelled` : '']
    .filter(Boolean).join(', ');
  setText(parts.count, `${p.done}/${p.jobs}${extra ? ` · ${extra}` : ''}`);
  setText(parts.eta, FINISHED_SWEEP.has(p.state) ? (summary.finishedAt ? `ended ${fmtTime(summary.finishedAt)}` : 'ended') : p.state === 'paused' ? 'paused' : fmtDuration(p.eta));
  setText(parts.rate, p.rate ? fmtNumber(p.rate * 60, 2) : '–');
  parts.controls.update(p.state);
}

function render() {
  const seen = new Set();
  let previous = null;
  for (const summary of summaries) {
    seen.add(summary.id);
    let parts = rows.get(summary.id);
    if (!parts) {
      parts = createRow(summary);
      rows.set(summary.id, parts);
    }
    updateRow(parts, summary);
    // Keep the API's order (newest first) without moving rows that are already in place.
    const expected = previous ? previous.nextSibling : body.firstChild;
    if (expected !== parts.row) body.insertBefore(parts.row, expected);
    previous = parts.row;
  }
  for (const [id, parts] of rows) {
    if (!seen.has(id)) {
      parts.row.remove();
      rows.delete(id);
    }
  }
  empty.hidden = summaries.length > 0;
}

async function load() {
  try {
    summaries = await getJson('sweeps');
    showError('');
    render();
  } catch (error) {
    showError(`Could not read the sweeps: ${error.message}`);
  }
}

const refresh = throttled(load, 1000);

function onView(view) {
  const previous = live;
  live = new Map(view.sweeps.map(s => [s.id, s]));
  // A sweep we do not list yet, or one whose state changed, means the list is stale (new sweep, finished time…).
  const stale = view.sweeps.some(s => {
    const known = summaries.find(x => x.id === s.id);
    return !known || (previous.get(s.id)?.state ?? known.state) !== s.state;
  });
  if (stale) refresh();
  render();
  renderFarmStats(document.getElementById('farm-stats'), view);
  renderFailures(document.getElementById('failures'), document.getElementById('failures-panel'), view.failures, true);
}

load().then(() => followView(onView));
