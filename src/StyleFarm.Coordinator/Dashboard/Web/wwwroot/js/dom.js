// Building the DOM without innerHTML (every string from the API lands as text) and formatting numbers and times.

/**
 * el('a', { href: '/nodes', class: 'x', dataset: { testid: 'y' } }, 'text', child…). Attributes are set with
 * setAttribute (null/undefined/false skip one, true sets it empty); children are nodes or strings (as text).
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `node`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** Sets text only when it changed (keeps selections and avoids layout work on every live view). */
export function setText(node, text) {
  const value = String(text ?? '');
  if (node.textContent !== value) node.textContent = value;
}

export function setAttr(node, name, value) {
  const text = String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

export function stateBadge(state) {
  return el('span', { class: `state ${state}`, dataset: { testid: 'state' } }, state);
}

export function updateBadge(badge, state) {
  setText(badge, state);
  const cls = `state ${state}`;
  if (badge.className !== cls) badge.className = cls;
}

/** A progress element kept in step with value/max. */
export function updateProgress(progress, value, max) {
  const m = Math.max(1, max || 0);
  const v = Math.min(m, Math.max(0, value || 0));
  if (progress.max !== m) progress.max = m;
  if (progress.value !== v) progress.value = v;
  setAttr(progress, 'value', v);
  setAttr(progress, 'max', m);
}

export const FINISHED_SWEEP = new Set(['done', 'failed', 'cancelled']);
export const FINISHED_JOB = new Set(['done', 'failed', 'cancelled']);

/** A loss for people: 3 significant digits, exponent when very large or small; NaN/∞ as such. */
export function fmtLoss(value) {
  if (value === null || value === undefined || value === '') return '–';
  const n = Number(value);
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '∞' : '-∞';
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 1e5 || abs < 1e-3) return n.toExponential(2);
  return Number(n.toPrecision(3)).toString();
}

/** 1h 04m, 3m 20s, 45s. */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** A time: HH:MM:SS today, else the date and time; both local. */
export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' })} ${time}`;
}

export function secondsBetween(startIso, endIso) {
  if (!startIso || !endIso) return null;
  const s = (new Date(endIso) - new Date(startIso)) / 1000;
  return Number.isFinite(s) ? s : null;
}

export function fmtNumber(value, digits = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}

export function fmtBytes(bytes) {
  if (!bytes && bytes !== 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/**
 * The first characters of an id's own part, for display (links and titles keep the whole id). A unit id is its
 * sweep's id, '-' and 32 hex digits; all the sweep's units share the first part, so the digits are shown.
 */
export function shortId(id) {
  if (!id) return '–';
  const s = String(id);
  return (s.length > 33 && s[s.length - 33] === '-' ? s.slice(-32) : s).slice(0, 10);
}

/**
 * Compares sort keys: numbers as numbers, then text with numeric runs compared as numbers; blanks (null, '', NaN)
 * always last whatever the direction.
 */
export function compareKeys(a, b, direction = 1) {
  const blankA = a === null || a === undefined || a === '' || (typeof a === 'number' && Number.isNaN(a));
  const blankB = b === null || b === undefined || b === '' || (typeof b === 'number' && Number.isNaN(b));
  if (blankA || blankB) return blankA === blankB ? 0 : blankA ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return (a - b) * direction;
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && String(a).trim() !== '' && String(b).trim() !== '') return (na - nb) * direction;
  return String(a).localeCompare(String(b), undefined, { numeric: true }) * direction;
}

/** Runs fn at most once per animation frame however often it is asked. */
export function batched(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn();
    });
  };
}

/** Runs fn `ms` after the last call. */
export function debounced(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Runs fn at once, then at most every `ms`, with a trailing call when asked meanwhile. */
export function throttled(fn, ms) {
  let last = 0;
  let timer = 0;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = 0;
        last = Date.now();
        fn();
      }, wait);
    }
  };
}

/** Shows an error in the page's message area (role=alert), replacing the previous one. */
export function showError(message) {
  const area = document.getElementById('messages');
  if (!area) return;
  replaceChildren(area, message ? el('div', { class: 'notice', role: 'alert' }, message) : null);
}
