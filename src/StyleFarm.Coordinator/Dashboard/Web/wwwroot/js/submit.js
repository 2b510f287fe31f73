// The submit page: a sweep file typed, pasted or loaded, plus the images and weights it names (matched by file
// name). As you type, the coordinator checks it (POST /api/v1/sweeps/check) and its errors show with their lines;
// the files it names are hashed here, uploaded as blobs (HEAD, then PUT when missing) and sent by hash. Submitting
// posts the same request to /api/v1/sweeps/file and opens the new sweep.

import { exists, send } from './api.js';
import { debounced, el, replaceChildren, setText, showError } from './dom.js';
import { followView } from './live.js';
import { sha256Hex } from './sha256.js';

const $ = id => document.getElementById(id);
const text = $('sweep-text');
const gutter = $('gutter');
const DRAFT_KEY = 'stylefarm.sweepDraft';

let fileName = 'sweep.yaml';
let fileNameChosen = false;
const attached = new Map(); // file name -> { file, hash: Promise<string>, upload: Promise|null, status }
let namedPaths = []; // [{ path, field, line, attached }] from the last check
let checkSeq = 0;
let checking = null; // the running check, so Submit can wait for it
let errorLines = new Set();
let checkUnavailable = false; // a coordinator without /sweeps/check: send every attached file by its name

const baseName = path => path.split(/[\\/]/).pop();

// ---- the editor's line gutter ----

function renderGutter() {
  const lines = text.value.split('\n').length;
  const nodes = [];
  for (let i = 1; i <= lines; i++) nodes.push(el('div', { class: errorLines.has(i) ? 'err' : null }, String(i)));
  replaceChildren(gutter, nodes);
  gutter.scrollTop = text.scrollTop;
}

text.addEventListener('scroll', () => { gutter.scrollTop = text.scrollTop; });

function selectLine(line) {
  const lines = text.value.split('\n');
  if (line < 1 || line > lines.length) return;
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  text.focus();
  text.setSelectionRange(start, start + lines[line - 1].length);
  const lineHeight = 20;
  text.scrollTop = Math.max(0, (line - 4) * lineHeight);
}

// ---- files ----

function attach(file) {
  const entry = { file, status: 'hashing', upload: null };
  entry.hash = file.arrayBuffer().then(sha256Hex).then(hash => {
    entry.status = 'ready';
    renderFiles();
    return hash;
  });
  entry.hash.catch(() => { entry.status = 'unreadable'; renderFiles(); });
  attached.set(file.name, entry);
}

// Images go up with PUT straight away (the coordinator answers 200 without storing again when it has the blob);
// a large file (weights) is asked about with HEAD first so it is not sent again. A HEAD answered 404 shows as a
// failed request in the browser's console, which is why small files skip it.
const ASK_FIRST_BYTES = 32 << 20;

/** Uploads a file once. */
function upload(entry) {
  entry.upload ??= (async () => {
    const hash = await entry.hash;
    if (entry.file.size < ASK_FIRST_BYTES || !(await exists(`blobs/${hash}`))) {
      entry.status = 'uploading';
      renderFiles();
      await send('PUT', `blobs/${hash}`, { body: entry.file, contentType: 'application/octet-stream' });
    }
    entry.status = 'uploaded';
    renderFiles();
    return hash;
  })();
  entry.upload.catch(() => {
    entry.upload = null; // try again next time
    entry.status = 'upload failed';
    renderFiles();
  });
  return entry.upload;
}

/** The request's files: every path the sweep names whose file is attached, uploaded, by hash. */
async function filesFor(paths) {
  const files = {};
  for (const { path } of paths) {
    const entry = attached.get(baseName(path));
    if (entry) files[path] = await upload(entry);
  }
  return files;
}

function renderFiles() {
  const items = namedPaths.map(f => {
    const entry = attached.get(baseName(f.path));
    const status = entry ? entry.status : f.attached ? 'attached' : 'not attached';
    const ok = f.attached || (entry && entry.status === 'uploaded');
    return el('li', { class: ok ? 'attached' : entry ? null : 'missing', dataset: { path: f.path } },
      f.path, el('span', { class: 'muted' }, ` · ${f.field}, line ${f.line} · ${status}`));
  });
  const names = new Set(namedPaths.map(f => baseName(f.path)));
  for (const [name, entry] of attached) {
    if (!names.has(name)) items.push(el('li', { class: 'muted' }, name, el('span', {}, ` · ${entry.status}, not named by the sweep`)));
  }
  replaceChildren($('files'), items);
  $('no-files').hidden = items.length > 0;
}

// ---- checking ----

function request(files) {
  return { fileName, fileText: text.value, files };
}

function renderErrors(errors) {
  errorLines = new Set(errors.map(e => e.line).filter(l => l > 0));
  replaceChildren($('errors'), errors.map(e => {
    const item = el('li', { dataset: { line: e.line, field: e.field ?? '' }, tabindex: 0, title: e.line > 0 ? `Go to line ${e.line}` : null },
      el('span', { class: 'where' }, [e.line > 0 ? `line ${e.line}` : 'sweep', e.field ? ` · ${e.field}` : ''].join('')), e.message);
    const go = () => { if (e.line > 0) selectLine(e.line); };
    item.addEventListener('click', go);
    item.addEventListener('keydown', event => { if (event.key === 'Enter') go(); });
    return item;
  }));
  $('no-errors').hidden = errors.length > 0;
  renderGutter();
}

function renderSummary(response) {
  const summary = $('summary');
  // The figures also go on the element, so tests (and scripts) need not read the wording.
  summary.dataset.valid = String(Boolean(response?.valid));
  summary.dataset.jobs = String(response?.jobs ?? 0);
  summary.dataset.units = String(response?.units ?? 0);
  if (!response) {
    summary.className = 'summary pending';
    setText(summary, 'Type or load a sweep file.');
    return;
  }
  if (response.valid) {
    summary.className = 'summary';
    const name = response.name ? `${response.name}: ` : '';
    setText(summary, `${name}${response.jobs} job${response.jobs === 1 ? '' : 's'} in ${response.units} work unit${response.units === 1 ? '' : 's'}. Ready to submit.`);
  } else {
    summary.className = 'summary pending';
    const n = response.errors.length;
    setText(summary, `${n} error${n === 1 ? '' : 's'} to fix${response.jobs ? ` (${response.jobs} jobs so far)` : ''}.`);
  }
}

async function check() {
  const seq = ++checkSeq;
  const typed = text.value;
  if (typed.trim() === '') {
    namedPaths = [];
    renderSummary(null);
    renderErrors([]);
    renderFiles();
    return;
  }
  let response;
  try {
    // Twice at most: the first answer names the files; if some of them are attached, check again with them.
    for (let round = 0; round < 2; round++) {
      const files = await filesFor(namedPaths);
      const answer = await send('POST', 'sweeps/check', { json: request(files) });
      if (seq !== checkSeq) return; // the text changed meanwhile; a newer check is on its way
      response = answer.body;
      const paths = response.files ?? [];
      const newlyAttachable = paths.some(f => !(f.path in files) && attached.has(baseName(f.path)));
      namedPaths = paths;
      if (!newlyAttachable) break;
    }
  } catch (error) {
    if (seq !== checkSeq) return;
    checkUnavailable = error.status === 404 || error.status === 405;
    showError(checkUnavailable || error.status === 405
      ? 'This coordinator cannot check sweep files (it has no POST /api/v1/sweeps/check); Submit still checks.'
      : `Could not check the sweep: ${error.message}`);
    return;
  }
  showError('');
  checkUnavailable = false;
  renderSummary(response);
  renderErrors(response.errors ?? []);
  renderFiles();
}

const checkSoon = debounced(() => { checking = check(); }, 300);

function edited() {
  renderGutter();
  if (!fileNameChosen) fileName = /^\s*[{[]/.test(text.value) ? 'sweep.json' : 'sweep.yaml';
  setText($('file-name'), fileName);
  try {
    sessionStorage.setItem(DRAFT_KEY, text.value);
  } catch {
    // No storage: the draft is not kept across reloads.
  }
  checkSoon();
}

text.addEventListener('input', edited);
text.addEventListener('keydown', event => {
  // Tab indents (YAML wants spaces) rather than leaving the editor; Escape then Tab still moves focus.
  if (event.key !== 'Tab' || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  event.preventDefault();
  const { selectionStart: start, selectionEnd: end } = text;
  text.setRangeText('  ', start, end, 'end');
  edited();
});

$('sweep-file').addEventListener('change', async event => {
  const file = event.target.files[0];
  if (!file) return;
  text.value = await file.text();
  fileName = file.name;
  fileNameChosen = true;
  edited();
});

$('sweep-images').addEventListener('change', event => {
  for (const file of event.target.files) attach(file);
  renderFiles();
  checkSoon();
});

// ---- submitting ----

$('submit').addEventListener('click', async () => {
  const button = $('submit');
  button.disabled = true;
  setText($('submit-status'), 'Submitting…');
  try {
    await checking;
    await (checking = check()); // the text as it is now, not as it was 300 ms ago
    const files = checkUnavailable ? await filesFor([...attached.keys()].map(path => ({ path }))) : await filesFor(namedPaths);
    const answer = await send('POST', 'sweeps/file', { json: request(files) });
    const id = answer.body?.id;
    setText($('submit-status'), `Submitted ${id}.`);
    try {
      sessionStorage.removeItem(DRAFT_KEY);
    } catch {
      // Nothing kept.
    }
    location.href = `/sweeps/${encodeURIComponent(id)}`;
  } catch (error) {
    setText($('submit-status'), '');
    if (error.errors?.length) {
      renderErrors(error.errors);
      renderSummary({ valid: false, errors: error.errors, jobs: 0 });
      showError(`Not submitted: ${error.message}`);
    } else {
      showError(`Not submitted: ${error.message}`);
    }
    button.disabled = false;
  }
});

// ---- start ----

try {
  const draft = sessionStorage.getItem(DRAFT_KEY);
  if (draft) text.value = draft;
} catch {
  // No storage.
}
renderGutter();
renderFiles();
if (text.value.trim()) edited();
followView(() => {});
