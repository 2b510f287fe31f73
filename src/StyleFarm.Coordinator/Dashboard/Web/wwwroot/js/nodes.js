// The nodes page: every node with its devices (state, current unit, step, speed, jobs done, failures), live from
// the dashboard view, plus addresses and memory from GET /api/v1/nodes; drain and drain-now buttons per node.

import { getJson, send } from './api.js';
import {
  el, fmtBytes, fmtLoss, fmtNumber, replaceChildren, setAttr, setText, showError, stateBadge, throttled, updateBadge,
  updateProgress, shortId,
} from './dom.js';
import { renderFarmStats } from './farm.js';
import { followView } from './live.js';

const list = document.getElementById('nodes');
const empty = document.getElementById('no-nodes');
const nodeParts = new Map(); // node id -> parts
let farm = new Map(); // node id -> FarmNode of /api/v1/nodes (address, memory)

async function loadFarm() {
  try {
    const answer = await getJson('nodes');
    farm = new Map(answer.nodes.map(n => [n.nodeId, n]));
  } catch {
    // The live view still shows the nodes; addresses and memory fill in at the next try.
  }
}
const refreshFarm = throttled(loadFarm, 5000);

async function drain(nodeId, now, button) {
  button.disabled = true;
  try {
    await send('POST', `nodes/${encodeURIComponent(nodeId)}/drain?now=${now}`);
    showError('');
  } catch (error) {
    showError(`Could not drain ${nodeId}: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function createNode(node) {
  const badge = stateBadge(node.state);
  const info = el('span', { class: 'muted small' });
  const drainButton = el('button', { type: 'button', dataset: { testid: 'drain' }, title: 'Finish the units it runs, then leave the farm' }, 'Drain');
  const drainNow = el('button', { type: 'button', class: 'danger', dataset: { testid: 'drain-now' }, title: 'Checkpoint its units, hand them back and leave now' }, 'Drain now');
  drainButton.addEventListener('click', () => drain(node.nodeId, false, drainButton));
  drainNow.addEventListener('click', () => drain(node.nodeId, true, drainNow));
  const body = el('tbody');
  const section = el('section', { class: 'node', dataset: { testid: 'node-row', nodeId: node.nodeId, state: node.state }, 'aria-label': `Node ${node.nodeId}` },
    el('div', { class: 'node-head' }, el('h2', {}, node.nodeId), badge, info, el('span', { class: 'grow' }), el('span', { class: 'buttons' }, drainButton, drainNow)),
    el('div', { class: 'table-scroll' }, el('table', { class: 'data', 'aria-label': `Devices of ${node.nodeId}` },
      el('thead', {}, el('tr', {}, ['Device', 'State', 'Unit', 'Progress', 'Steps/s', 'Jobs done', 'Failures', 'Loss', 'Memory free']
        .map((h, i) => el('th', { class: i >= 4 && i !== 7 ? 'num' : null, scope: 'col' }, h)))),
      body)));
  return { section, badge, info, drainButton, drainNow, body, devices: new Map() };
}

function createDevice(device) {
  const badge = stateBadge(device.state);
  const unit = el('td', { class: 'mono small' });
  const progress = el('progress', { value: 0, max: 1, 'aria-label': `Steps of the unit on ${device.deviceId}` });
  const step = el('span');
  const cells = { speed: el('td', { class: 'num' }), done: el('td', { class: 'num' }), failures: el('td', { class: 'num' }), loss: el('td', { class: 'mono small' }), memory: el('td', { class: 'num' }) };
  const row = el('tr', { dataset: { testid: 'device-row', deviceId: device.deviceId, state: device.state } },
    el('td', { class: 'mono' }, device.device), el('td', {}, badge), unit, el('td', {}, el('div', { class: 'bar' }, progress, step)),
    cells.speed, cells.done, cells.failures, cells.loss, cells.memory);
  return { row, badge, unit, progress, step, cells, unitId: null };
}

function updateDevice(parts, device, farmDevice) {
  setAttr(parts.row, 'data-state', device.state);
  updateBadge(parts.badge, device.state);
  if (parts.unitId !== `${device.unitId}|${device.sweepId}`) {
    parts.unitId = `${device.unitId}|${device.sweepId}`;
    replaceChildren(parts.unit, device.unitId
      ? [el('span', { title: device.unitId }, shortId(device.unitId)), device.sweepId ? [' of ', el('a', { href: `/sweeps/${encodeURIComponent(device.sweepId)}` }, device.sweepId)] : null]
      : '–');
  }
  const busy = device.state === 'running' && device.maxSteps > 0;
  parts.progress.hidden = !busy;
  if (busy) updateProgress(parts.progress, device.step, device.maxSteps);
  setText(parts.step, busy ? `${device.step}/${device.maxSteps}` : '');
  setText(parts.cells.speed, device.stepsPerSecond ? fmtNumber(device.stepsPerSecond, 2) : '–');
  setText(parts.cells.done, device.jobsDone);
  setText(parts.cells.failures, device.failures);
  setText(parts.cells.loss, device.losses ? fmtLoss(device.losses.total) : '–');
  setText(parts.cells.memory, farmDevice?.totalMemoryBytes ? `${fmtBytes(farmDevice.freeMemoryBytes)} / ${fmtBytes(farmDevice.totalMemoryBytes)}` : '–');
}

function render(view) {
  const seen = new Set();
  let unknown = false;
  for (const node of view.nodes) {
    seen.add(node.nodeId);
    let parts = nodeParts.get(node.nodeId);
    if (!parts) {
      parts = createNode(node);
      nodeParts.set(node.nodeId, parts);
      list.append(parts.section);
    }
    const farmNode = farm.get(node.nodeId);
    if (!farmNode) unknown = true;
    setAttr(parts.section, 'data-state', node.state);
    updateBadge(parts.badge, node.state);
    setText(parts.info, [node.hostName, farmNode?.address, farmNode?.joinedAt ? `joined ${new Date(farmNode.joinedAt).toLocaleString()}` : null]
      .filter(Boolean).join(' · '));
    parts.drainButton.hidden = node.state !== 'up';
    parts.drainNow.hidden = !(node.state === 'up' || node.state === 'draining');
    const deviceIds = new Set();
    for (const device of node.devices) {
      deviceIds.add(device.deviceId);
      let d = parts.devices.get(device.deviceId);
      if (!d) {
        d = createDevice(device);
        parts.devices.set(device.deviceId, d);
        parts.body.append(d.row);
      }
      updateDevice(d, device, farmNode?.devices.find(x => x.deviceId === device.deviceId));
    }
    for (const [id, d] of parts.devices) {
      if (!deviceIds.has(id)) {
        d.row.remove();
        parts.devices.delete(id);
      }
    }
  }
  for (const [id, parts] of nodeParts) {
    if (!seen.has(id)) {
      parts.section.remove();
      nodeParts.delete(id);
    }
  }
  empty.hidden = view.nodes.length > 0;
  renderFarmStats(document.getElementById('farm-stats'), view);
  // Memory changes slowly; a new node needs its address and memory at once.
  if (unknown) refreshFarm();
}

let lastRefresh = 0;
loadFarm().then(() => followView(view => {
  render(view);
  if (Date.now() - lastRefresh > 10000) {
    lastRefresh = Date.now();
    refreshFarm();
  }
}));
