// One sweep: the result grid (two swept keys chosen on the page), a scatter of a setting against a final loss, and
// a sortable table of every job. The stored jobs (GET /api/v1/sweeps/{id}/jobs) are overlaid with the live ones of
// the dashboard view (step, losses, latest snapshot), and read again whenever jobs finish.

import { blobUrl, getJson } from './api.js';
import { scatterChart } from './charts.js';
import { sweepControls } from './controls.js';
import {
  batched, compareKeys, el, fmtDuration, fmtLoss, fmtTime, replaceChildren, setAttr, setText, showError, stateBadge,
  throttled, updateBadge, updateProgress, FINISHED_JOB, FINISHED_SWEEP, secondsBetween,
} from './dom.js';
import { chooseAxes, layout, sweptKeys, valueOf, valuesOf } from './grid.js';
import { followView } from './live.js';

const sweepId = decodeURIComponent(location.pathname.split('/')[2] || '');
const $ = id => document.getElementById(id);

let detail = null; // SweepDetail
let jobs = []; // JobView[], expansion order
let liveSweep = null; // DashboardSweep
let liveJobs = new Map(); // job id -> DashboardJob
let keys = [];
let axes = { rows: null, cols: null };
const cells = new Map(); // job id -> cell parts
const controls = sweepControls(sweepId, () => refreshAll());
$('sweep-controls').append(controls.element);

// ---- what a job looks like now: stored, or live while it runs ----

function current(job, index) {
  const live = liveJobs.get(job.id);
  const settled = FINISHED_JOB.has(job.state);
  const lastSnapshot = job.snapshots?.length ? job.snapshots[job.snapshots.length - 1] : null;
  if (settled || !live) {
    return {
      job, index, state: job.state, step: job.state === 'done' ? job.settings.steps : live?.step ?? 0, steps: job.settings.steps,
      losses: job.finalLosses ?? live?.losses ?? null, final: settled,
      image: job.resultBlob ?? lastSnapshot?.blob ?? null, imageStep: job.resultBlob ? job.settings.steps : lastSnapshot?.step ?? null,
      device: job.device, seconds: job.engineSeconds ?? secondsBetween(job.startedAt, job.finishedAt), finishedAt: job.finishedAt,
    };
  }
  return {
    job, index, state: live.state, step: live.step, steps: live.steps || job.settings.steps, losses: live.losses, final: false,
    image: live.snapshotBlob ?? lastSnapshot?.blob ?? null, imageStep: live.snapshotStep ?? lastSnapshot?.step ?? null,
    device: live.deviceId ?? job.device, seconds: secondsBetween(job.startedAt, live.endedAt ?? job.finishedAt), finishedAt: live.endedAt ?? job.finishedAt,
  };
}

function lossesText(losses) {
  if (!losses) return '';
  return `total ${fmtLoss(losses.total)} · c ${fmtLoss(losses.content)} · s ${fmtLoss(losses.style)} · tv ${fmtLoss(losses.tv)}`;
}

function label(job) {
  const values = Object.entries(job.sweptValues || {}).map(([k, v]) => `${k}=${v}`).join(' ');
  return values || job.id.slice(0, 10);
}

// ---- header ----

function renderHeader() {
  if (!detail) return;
  const state = liveSweep?.state ?? detail.state;
  const total = liveSweep?.jobs || detail.jobCount;
  const done = liveSweep ? liveSweep.jobsDone : detail.jobs.done ?? 0;
  const failed = liveSweep ? liveSweep.jobsFailed : detail.jobs.failed ?? 0;
  let badge = $('sweep-state').firstChild;
  if (!badge) $('sweep-state').append(badge = stateBadge(state));
  updateBadge(badge, state);
  updateProgress($('sweep-progress'), done, total);
  $('sweep-progress').classList.toggle('done', state === 'done');
  setText($('sweep-count'), `${done}/${total} done${failed ? ` · ${failed} failed` : ''}`);
  setText($('sweep-eta'), FINISHED_SWEEP.has(state) ? `ended ${fmtTime(detail.finishedAt ?? liveSweep?.endedAt)}`
    : state === 'paused' ? 'paused' : liveSweep?.etaSeconds != null ? `ETA ${fmtDuration(liveSweep.etaSeconds)}` : 'ETA –');
  controls.update(state);
}

// ---- grid ----

function fillAxisSelect(select, chosen) {
  replaceChildren(select, el('option', { value: '' }, '(none)'), keys.map(k => el('option', { value: k }, k)));
  select.value = chosen ?? '';
}

function readAxesFromUrl() {
  const params = new URLSearchParams(location.search);
  const pick = name => (params.has(name) ? (keys.includes(params.get(name)) ? params.get(name) : null) : undefined);
  const rows = pick('rows');
  const cols = pick('cols');
  const defaults = chooseAxes(jobs, keys);
  axes = { rows: rows === undefined ? defaults.rows : rows, cols: cols === undefined ? defaults.cols : cols };
  if (axes.rows && axes.rows === axes.cols) axes.rows = null;
}

function onAxisChange(which) {
  const other = which === 'rows' ? 'cols' : 'rows';
  const value = $(`grid-${which}`).value || null;
  if (value && value === axes[other]) axes[other] = axes[which]; // picking the other axis' key swaps them
  axes[which] = value;
  fillAxisSelect($('grid-rows'), axes.rows);
  fillAxisSelect($('grid-cols'), axes.cols);
  const params = new URLSearchParams(location.search);
  params.set('rows', axes.rows ?? '');
  params.set('cols', axes.cols ?? '');
  history.replaceState(null, '', `${location.pathname}?${params}`);
  buildGrid();
}

$('grid-rows').addEventListener('change', () => onAxisChange('rows'));
$('grid-cols').addEventListener('change', () => onAxisChange('cols'));
$('cell-size').addEventListener('input', event => document.documentElement.style.setProperty('--cell', `${event.target.value}px`));

function buildCell(job) {
  const thumb = el('div', { class: 'thumb' });
  const link = el('a', { href: `/jobs/${encodeURIComponent(job.id)}`, dataset: { testid: 'job-link' }, 'aria-label': `Job ${label(job)}` }, thumb);
  const progress = el('progress', { class: 'thin', dataset: { testid: 'cell-progress' }, value: 0, max: 1, 'aria-label': 'Steps done' });
  const title = el('div');
  const losses = el('div', { class: 'losses', dataset: { testid: 'cell-losses' } });
  const cell = el('div', { class: 'cell', dataset: { testid: 'grid-cell', jobId: job.id, state: job.state } },
    link, progress, el('div', { class: 'caption' }, title, losses));
  const parts = { cell, thumb, progress, title, losses, img: null, imageHash: null, placeholder: null };
  cells.set(job.id, parts);
  return cell;
}

function updateCell(parts, view) {
  const { cell, thumb, progress, title, losses } = parts;
  setAttr(cell, 'data-state', view.state);
  updateProgress(progress, view.step, view.steps);
  progress.classList.toggle('done', view.state === 'done');
  const what = view.state === 'running' ? `step ${view.step}/${view.steps}` : view.state;
  setText(title, `#${view.index} · ${what}`);
  setText(losses, lossesText(view.losses));
  setAttr(losses, 'title', lossesText(view.losses));
  if (view.image && view.image !== parts.imageHash) {
    if (!parts.img) {
      parts.img = el('img', { dataset: { testid: 'cell-snapshot' }, alt: '', decoding: 'async' });
      replaceChildren(thumb, parts.img);
    }
    parts.img.src = blobUrl(view.image);
    parts.img.alt = `${label(view.job)} at step ${view.imageStep ?? '?'}`;
    parts.imageHash = view.image;
  } else if (!view.image && !parts.img) {
    setText(thumb, view.state === 'queued' ? 'queued' : view.state === 'running' ? 'running…' : view.state);
  }
}

function buildGrid() {
  cells.clear();
  const box = $('grid');
  if (jobs.length === 0) {
    replaceChildren(box, el('p', { class: 'empty' }, 'This sweep has no jobs.'));
    return;
  }
  const { sections } = layout(jobs, axes.rows, axes.cols);
  const index = new Map(jobs.map((j, i) => [j.id, i + 1]));
  const blocks = [];
  for (const section of sections) {
    if (section.title) blocks.push(el('div', { class: 'section-title' }, section.title));
    const grid = el('div', { class: 'grid', role: 'grid', 'aria-label': section.title || 'Results' });
    const flat = !axes.rows && !axes.cols;
    const rowHeaders = !!axes.rows;
    grid.style.gridTemplateColumns = flat ? 'repeat(auto-fill, var(--cell))'
      : `${rowHeaders ? 'max-content ' : ''}repeat(${section.colValues.length}, var(--cell))`;
    if (!flat) {
      if (rowHeaders) grid.append(el('div', { class: 'corner' }, `${axes.rows} ↓  ${axes.cols ?? ''} →`));
      for (const v of section.colValues) grid.append(el('div', { class: 'axis', role: 'columnheader' }, axes.cols ? `${axes.cols} = ${v}` : ''));
    }
    section.cells.forEach((row, r) => {
      if (rowHeaders) grid.append(el('div', { class: 'axis row-label', role: 'rowheader' }, `${axes.rows} = ${section.rowValues[r]}`));
      for (const job of row) grid.append(job ? buildCell(job) : el('div', { class: 'cell missing', 'aria-label': 'no such job' }));
    });
    blocks.push(grid);
  }
  replaceChildren(box, blocks);
  for (const job of jobs) if (cells.has(job.id)) updateCell(cells.get(job.id), current(job, index.get(job.id)));
}

// ---- scatter ----

const LOSSES = ['total', 'content', 'style', 'tv'];
const scatter = scatterChart($('scatter'), job => { location.href = `/jobs/${encodeURIComponent(job.id)}`; });

function fillScatterSelects() {
  const x = $('scatter-x');
  const chosen = x.value;
  replaceChildren(x, keys.length ? keys.map(k => el('option', { value: k }, k)) : el('option', { value: '' }, 'job #'));
  if (keys.includes(chosen)) x.value = chosen;
  const y = $('scatter-y');
  if (y.options.length === 0) replaceChildren(y, LOSSES.map(l => el('option', { value: l }, `final ${l} loss`)));
}

$('scatter-x').addEventListener('change', () => renderScatter());
$('scatter-y').addEventListener('change', () => renderScatter());

function renderScatter() {
  const key = $('scatter-x').value;
  const loss = $('scatter-y').value || 'total';
  const done = jobs.map((job, i) => ({ job, i })).filter(({ job }) => job.state === 'done' && job.finalLosses);
  let categories = null;
  let logX = false;
  if (key) {
    const values = valuesOf(jobs, key);
    const numeric = values.every(v => v.trim() !== '' && Number.isFinite(Number(v)));
    if (!numeric) categories = values;
    else {
      const nums = values.map(Number);
      const min = Math.min(...nums);
      logX = min > 0 && Math.max(...nums) / min >= 50;
    }
  }
  const points = done.map(({ job, i }) => {
    const raw = key ? valueOf(job, key) : String(i + 1);
    return { x: categories ? raw : Number(raw), y: job.finalLosses[loss], job, label: `#${i + 1} ${label(job)}` };
  });
  setText($('scatter-note'), points.length ? `${points.length} finished job${points.length === 1 ? '' : 's'}; click a point to open it`
    : 'no finished job yet');
  scatter.set({ points, categories, logX, xTitle: key || 'job #', yTitle: `final ${loss} loss (log scale)` });
}

// ---- table ----

let sortBy = null; // { column, direction }
let tableSignature = '';

function columns() {
  return [
    { name: '#', key: v => v.index, cell: v => el('a', { href: `/jobs/${encodeURIComponent(v.job.id)}` }, `#${v.index}`), num: true },
    ...keys.map(k => ({ name: k, key: v => valueOf(v.job, k), cell: v => valueOf(v.job, k), mono: true })),
    { name: 'state', key: v => v.state, cell: v => stateBadge(v.state) },
    { name: 'step', key: v => v.step, cell: v => `${v.step}/${v.steps}`, num: true },
    ...LOSSES.map(l => ({ name: l, key: v => (v.losses ? Number(v.losses[l]) : null), cell: v => fmtLoss(v.losses?.[l]), num: true })),
    { name: 'device', key: v => v.device ?? '', cell: v => v.device ?? '–', mono: true },
    { name: 'took', key: v => v.seconds, cell: v => fmtDuration(v.seconds), num: true },
    { name: 'finished', key: v => v.finishedAt ?? '', cell: v => fmtTime(v.finishedAt) },
  ];
}

function renderTableHead() {
  const cols = columns();
  const row = el('tr', {}, cols.map((c, i) => {
    const sorted = sortBy?.column === i;
    const th = el('th', {
      class: c.num ? 'num' : null, scope: 'col', tabindex: 0,
      'data-sort': sorted ? (sortBy.direction === 1 ? 'asc' : 'desc') : null,
      'aria-sort': sorted ? (sortBy.direction === 1 ? 'ascending' : 'descending') : 'none',
    }, c.name);
    const sort = () => {
      sortBy = { column: i, direction: sortBy?.column === i ? -sortBy.direction : 1 };
      renderTableHead();
      renderTable(true);
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        sort();
      }
    });
    return th;
  }));
  replaceChildren(document.querySelector('#results thead'), row);
}

function renderTable(force = false) {
  const cols = columns();
  let views = jobs.map((job, i) => current(job, i + 1));
  if (sortBy) {
    const key = cols[sortBy.column].key;
    views = views.map(v => ({ v, k: key(v) }))
      .sort((a, b) => compareKeys(a.k, b.k, sortBy.direction) || a.v.index - b.v.index)
      .map(x => x.v);
  }
  const signature = JSON.stringify(views.map(v => [v.index, v.state, v.step, v.losses, v.device, v.seconds, v.finishedAt]));
  if (!force && signature === tableSignature) return;
  tableSignature = signature;
  replaceChildren(document.querySelector('#results tbody'), views.map(v =>
    el('tr', { dataset: { jobId: v.job.id, state: v.state } },
      cols.map(c => el('td', { class: [c.num ? 'num' : '', c.mono ? 'mono' : ''].join(' ').trim() || null }, c.cell(v))))));
}

// ---- failures, file ----

function renderFailures() {
  const items = [];
  for (const f of detail.failedJobs ?? []) {
    items.push(el('li', {}, el('span', { class: 'state failed' }, 'job failed'),
      el('a', { href: `/jobs/${encodeURIComponent(f.jobId)}`, class: 'mono small' }, label({ id: f.jobId, sweptValues: f.sweptValues })),
      el('span', { class: 'reason' }, f.reason ?? '')));
  }
  for (const a of [...(detail.failures ?? [])].reverse()) {
    items.push(el('li', {}, el('span', { class: 'muted small' }, fmtTime(a.finishedAt ?? a.startedAt)),
      el('span', { class: `state ${a.outcome ?? 'running'}` }, a.outcome ?? '–'),
      el('span', { class: 'mono small' }, a.device), el('span', { class: 'reason' }, a.reason ?? '')));
  }
  replaceChildren($('failures'), items);
  $('failures-panel').hidden = items.length === 0;
}

// ---- loading and live updates ----

const renderLive = batched(() => {
  renderHeader();
  const index = new Map(jobs.map((j, i) => [j.id, i + 1]));
  for (const job of jobs) {
    const parts = cells.get(job.id);
    if (parts) updateCell(parts, current(job, index.get(job.id)));
  }
  renderTable();
});

async function loadJobs() {
  const fresh = await getJson(`sweeps/${encodeURIComponent(sweepId)}/jobs`);
  const reshaped = fresh.length !== jobs.length || fresh.some((j, i) => j.id !== jobs[i]?.id);
  jobs = fresh;
  if (reshaped) {
    keys = sweptKeys(jobs);
    readAxesFromUrl();
    fillAxisSelect($('grid-rows'), axes.rows);
    fillAxisSelect($('grid-cols'), axes.cols);
    fillScatterSelects();
    renderTableHead();
    buildGrid();
  }
  renderScatter();
  renderLive();
}

async function loadDetail() {
  detail = await getJson(`sweeps/${encodeURIComponent(sweepId)}`);
  document.title = `${detail.name} · StyleFarm`;
  setText($('sweep-name'), detail.name);
  setText($('sweep-id'), detail.id);
  setText($('sweep-file'), detail.fileText);
  renderFailures();
  renderHeader();
}

async function loadAll() {
  try {
    await Promise.all([loadDetail(), loadJobs()]);
    showError('');
  } catch (error) {
    showError(error.status === 404 ? `There is no sweep ${sweepId}.` : `Could not read the sweep: ${error.message}`);
  }
}

const refreshAll = throttled(loadAll, 1500);

let settledCount = -1;
let lastLiveState = null;

function onView(view) {
  liveSweep = view.sweeps.find(s => s.id === sweepId) ?? null;
  const previous = liveJobs;
  liveJobs = new Map(view.jobs.filter(j => j.sweepId === sweepId).map(j => [j.jobId, j]));
  // Jobs that finished since we read them: read them again for their final losses, images and traces.
  const settled = liveSweep ? liveSweep.jobsDone + liveSweep.jobsFailed + liveSweep.jobsCancelled : settledCount;
  const finishedNow = [...liveJobs.values()].some(l => FINISHED_JOB.has(l.state)
    && !FINISHED_JOB.has(jobs.find(j => j.id === l.jobId)?.state ?? 'done') && previous.get(l.jobId)?.state !== l.state);
  const liveState = liveSweep?.state ?? lastLiveState;
  if (settledCount === -1) {
    // The first view: what we just read is as fresh as it.
    settledCount = settled;
    lastLiveState = liveState;
    if (finishedNow) refreshAll();
  } else if (settled !== settledCount || finishedNow || liveState !== lastLiveState) {
    settledCount = settled;
    lastLiveState = liveState;
    refreshAll();
  }
  renderLive();
}

loadAll().then(() => followView(onView));
