// Pieces of the dashboard view several pages show: the farm's one-line summary and the recent failures.

import { el, fmtTime, replaceChildren, shortId } from './dom.js';

/** "3 nodes · 2/4 devices busy · 5 units queued · 2 running". */
export function renderFarmStats(box, view) {
  if (!box) return;
  const nodes = view.nodes.filter(n => n.state !== 'gone');
  const devices = nodes.flatMap(n => n.devices).filter(d => d.state !== 'gone');
  const busy = devices.filter(d => d.state === 'running').length;
  const speed = devices.reduce((sum, d) => sum + (d.stepsPerSecond || 0), 0);
  const stat = (value, label) => el('span', {}, el('b', {}, String(value)), ` ${label}`);
  replaceChildren(box,
    stat(nodes.length, nodes.length === 1 ? 'node' : 'nodes'),
    stat(`${busy}/${devices.length}`, 'devices busy'),
    stat(view.runningUnits ?? view.units.length, 'units running'),
    stat(view.queuedUnits, 'queued'),
    stat(speed.toFixed(1), 'steps/s'));
}

/** The failures (newest first), each with its sweep, device and reason. */
export function renderFailures(list, panel, failures, withSweep) {
  if (!list) return;
  const items = [...failures].reverse().slice(0, 30).map(f => el('li', {},
    el('span', { class: 'muted small' }, fmtTime(f.at)),
    el('span', { class: `state ${f.kind === 'failed' ? 'failed' : 'paused'}` }, f.kind),
    withSweep ? el('a', { href: `/sweeps/${encodeURIComponent(f.sweepId)}`, class: 'mono small' }, f.sweepId) : null,
    el('span', { class: 'mono small' }, f.deviceId || '–'),
    el('span', { class: 'muted small' }, `${f.jobs} job${f.jobs === 1 ? '' : 's'}`, f.unitId ? ` · unit ${shortId(f.unitId)}` : ''),
    el('span', { class: 'reason' }, f.reason)));
  replaceChildren(list, items);
  if (panel) panel.hidden = items.length === 0;
}
