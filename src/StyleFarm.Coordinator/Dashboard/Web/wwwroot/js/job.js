// One job: its image and snapshot timeline, its loss curves (the stored trace CSV once it has one; until then the
// losses of the live view as they arrive), its settings, its attempts and any failure.

import { blobUrl, getJson, getText } from './api.js';
import { lossChart } from './charts.js';
import {
  el, fmtDuration, fmtLoss, fmtTime, replaceChildren, secondsBetween, setText, showError, stateBadge, throttled,
  updateBadge, updateProgress, FINISHED_JOB, shortId,
} from './dom.js';
import { followView } from './live.js';
import { parseTrace } from './trace.js';

const jobId = decodeURIComponent(location.pathname.split('/')[2] || '');
const $ = id => document.getElementById(id);

let detail = null; // JobDetail
let live = null; // DashboardJob
let chosenStep = null; // the timeline entry shown, null for the latest
let tracedBlob = null; // the trace blob plotted, if any
const livePoints = new Map(); // step -> losses, while the job runs without a trace
const chart = lossChart($('loss-chart'));

function state() {
  if (!detail) return live?.state ?? 'queued';
  return FINISHED_JOB.has(detail.job.state) || !live ? detail.job.state : live.state;
}

// ---- image and timeline ----

function timeline() {
  const job = detail.job;
  const entries = (job.snapshots ?? []).map(s => ({ step: s.step, blob: s.blob, label: `step ${s.step}` }));
  if (live?.snapshotBlob && !entries.some(e => e.blob === live.snapshotBlob)) {
    entries.push({ step: live.snapshotStep ?? live.step, blob: live.snapshotBlob, label: `step ${live.snapshotStep ?? live.step}` });
  }
  if (job.resultBlob && !entries.some(e => e.blob === job.resultBlob)) {
    entries.push({ step: job.settings.steps, blob: job.resultBlob, label: 'final' });
  } else if (job.resultBlob) {
    entries.find(e => e.blob === job.resultBlob).label = `final · step ${job.settings.steps}`;
  }
  entries.sort((a, b) => a.step - b.step);
  return entries;
}

let shownImage = null;
let timelineSignature = '';

function renderImage() {
  const entries = timeline();
  const latest = entries[entries.length - 1] ?? null;
  const shown = (chosenStep !== null && entries.find(e => e.step === chosenStep)) || latest;
  if (shown?.blob !== shownImage) {
    shownImage = shown?.blob ?? null;
    replaceChildren($('image-box'), shown
      ? el('img', { class: 'job-image', src: blobUrl(shown.blob), alt: `The job's image at ${shown.label}`, dataset: { testid: 'job-image' } })
      : el('div', { class: 'image-empty' }, state() === 'queued' ? 'Queued: no image yet' : 'No image yet'));
  }
  setText($('image-caption'), shown ? (shown === latest && chosenStep === null ? `${shown.label} (latest)` : shown.label) : '');

  const signature = entries.map(e => `${e.step}:${e.blob}`).join(',') + `|${shown?.step}`;
  if (signature === timelineSignature) return;
  timelineSignature = signature;
  replaceChildren($('timeline'), entries.map(entry => {
    const button = el('button', { type: 'button', 'aria-pressed': entry === shown ? 'true' : 'false', title: `Show ${entry.label}` },
      el('img', { src: blobUrl(entry.blob), alt: entry.label, loading: 'lazy' }), entry.label);
    button.addEventListener('click', () => {
      chosenStep = entry === latest ? null : entry.step;
      renderImage();
    });
    return button;
  }));
  $('no-snapshots').hidden = entries.length > 0;
}

// ---- losses ----

function plot(steps, series, note) {
  chart.set(steps, series);
  const box = $('loss-box');
  box.dataset.points = String(steps.length);
  box.dataset.series = series.map(s => s.name).join(',');
  setText($('chart-note'), note);
}

async function plotTrace(blob) {
  if (tracedBlob === blob) return;
  const trace = parseTrace(await getText(blobUrl(blob)));
  tracedBlob = blob;
  plot(trace.steps, trace.series, `log scale · ${trace.steps.length} steps from the stored trace`);
}

function plotLive() {
  if (tracedBlob) return;
  const steps = [...livePoints.keys()].sort((a, b) => a - b);
  const names = ['total', 'content', 'style', 'tv'];
  const series = names.map(name => ({ name, values: steps.map(s => livePoints.get(s)[name]) }));
  plot(steps, series, steps.length ? `log scale · live, ${steps.length} reports (the full trace comes with the result)` : 'no losses yet');
}

// ---- settings, run, attempts, failure ----

const SETTING_NAMES = [
  ['network', 'network'], ['size', 'size'], ['steps', 'steps'], ['contentWeight', 'content_weight'], ['styleWeight', 'style_weight'],
  ['tvWeight', 'tv_weight'], ['learningRate', 'lr'], ['optimizer', 'optimizer'], ['init', 'init'], ['seed', 'seed'],
  ['saveEvery', 'save_every'], ['contentLayer', 'content_layer'], ['styleLayers', 'style_layers'], ['weightsBlob', 'weights'],
  ['contentImage', 'content'], ['styleImage', 'style'],
];

function isSwept(property, swept) {
  const snake = property.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`);
  return swept.some(k => k === snake || k === property || k.replace(/_/g, '') === property.toLowerCase()
    || (property === 'learningRate' && (k === 'lr' || k === 'learning_rate')) || (property === 'styleLayers' && k.startsWith('style_layer')));
}

function renderSettings() {
  const { job } = detail;
  const swept = Object.keys(job.sweptValues ?? {});
  const items = [];
  for (const [property, name] of SETTING_NAMES) {
    let value = job.settings[property];
    if (value === undefined) continue;
    if (property === 'styleLayers') value = value.map(l => `${l.layer}=${l.weight}`).join(', ');
    else if (/Image$|Blob$/.test(property)) value = value ? shortId(value) : '–';
    items.push(el('dt', {}, name), el('dd', { class: isSwept(property, swept) ? 'swept' : null, title: String(job.settings[property] ?? '') }, String(value)));
  }
  replaceChildren($('job-settings'), items);

  const run = [
    ['node', job.node ?? '–'], ['device', job.device ?? '–'], ['created', fmtTime(job.createdAt)], ['started', fmtTime(job.startedAt)],
    ['finished', fmtTime(job.finishedAt)], ['engine time', fmtDuration(job.engineSeconds)], ['batch size', job.batchSize ?? '–'],
  ];
  const runItems = run.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]);
  if (job.resultBlob) runItems.push(el('dt', {}, 'image'), el('dd', {}, el('a', { href: blobUrl(job.resultBlob), download: `${job.id.slice(0, 12)}.png` }, 'download PNG')));
  if (job.traceBlob) runItems.push(el('dt', {}, 'trace'), el('dd', {}, el('a', { href: blobUrl(job.traceBlob), download: `${job.id.slice(0, 12)}.csv` }, 'download CSV')));
  replaceChildren($('job-run'), runItems);
  replaceChildren($('inputs'),
    el('figure', {}, el('img', { src: blobUrl(job.settings.contentImage), alt: 'Content image', loading: 'lazy' }), el('figcaption', {}, 'content')),
    el('figure', {}, el('img', { src: blobUrl(job.settings.styleImage), alt: 'Style image', loading: 'lazy' }), el('figcaption', {}, 'style')));
}

function renderAttempts() {
  const rows = detail.attempts.map(a => el('tr', {},
    el('td', { class: 'mono' }, a.node),
    el('td', { class: 'mono' }, a.device),
    el('td', { class: 'mono', title: a.unitId }, shortId(a.unitId)),
    el('td', {}, fmtTime(a.startedAt)),
    el('td', {}, a.finishedAt ? fmtTime(a.finishedAt) : 'running'),
    el('td', { class: 'num' }, fmtDuration(secondsBetween(a.startedAt, a.finishedAt ?? new Date().toISOString()))),
    el('td', {}, a.outcome ? stateBadge(a.outcome) : stateBadge('running')),
    el('td', { class: 'reason' }, a.reason ?? '')));
  replaceChildren(document.querySelector('#job-attempts tbody'),
    rows.length ? rows : el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'Not handed out yet.')));
}

function renderFailure() {
  const box = $('failure-box');
  if (state() !== 'failed') {
    replaceChildren(box);
    return;
  }
  replaceChildren(box, el('section', { class: 'panel notice', dataset: { testid: 'job-failure' }, role: 'alert' },
    el('h2', {}, 'Failed'), el('div', { class: 'reason' }, detail.job.failureReason ?? 'no reason was recorded')));
}

// ---- header ----

function renderHeader() {
  const s = state();
  let badge = $('job-state').firstChild;
  if (!badge) $('job-state').append(badge = stateBadge(s));
  updateBadge(badge, s);
  const running = s === 'running' && live;
  $('job-bar').hidden = !running;
  if (running) {
    updateProgress($('job-progress'), live.step, live.steps);
    const l = live.losses;
    setText($('job-step'), `step ${live.step}/${live.steps}${l ? ` · total ${fmtLoss(l.total)}` : ''}`);
  }
}

// ---- loading and live updates ----

async function load() {
  try {
    detail = await getJson(`jobs/${encodeURIComponent(jobId)}`);
  } catch (error) {
    showError(error.status === 404 ? `There is no job ${jobId}.` : `Could not read the job: ${error.message}`);
    return;
  }
  showError('');
  const { job } = detail;
  const values = Object.entries(job.sweptValues ?? {}).map(([k, v]) => `${k} = ${v}`).join(', ');
  setText($('job-title'), values ? `Job ${values}` : `Job ${shortId(job.id)}`);
  document.title = `${values || shortId(job.id)} · StyleFarm`;
  setText($('job-id'), job.id);
  replaceChildren($('job-sweeps'), detail.sweeps.length ? 'sweep ' : null,
    detail.sweeps.flatMap((s, i) => [i ? ', ' : null, el('a', { href: `/sweeps/${encodeURIComponent(s)}`, class: 'mono' }, s)]));
  renderHeader();
  renderSettings();
  renderAttempts();
  renderFailure();
  renderImage();
  if (job.traceBlob) {
    try {
      await plotTrace(job.traceBlob);
    } catch (error) {
      showError(`Could not read the loss trace: ${error.message}`);
    }
  } else {
    plotLive();
  }
}

const reload = throttled(load, 1500);

function onView(view) {
  const previous = live;
  live = view.jobs.find(j => j.jobId === jobId) ?? null;
  if (!detail) return;
  if (live?.losses && !tracedBlob) livePoints.set(live.step, live.losses);
  const finished = live && FINISHED_JOB.has(live.state) && !FINISHED_JOB.has(detail.job.state);
  const started = live && previous?.state !== live.state;
  if (finished || (started && detail.job.state === 'queued')) reload();
  renderHeader();
  renderImage();
  renderFailure();
  plotLive();
}

load().then(() => followView(onView));
