// Calls to the coordinator's /api/v1. Reads go out as they are; mutating requests carry the API token (when one is
// known) as a bearer token. The token comes from the URL fragment #token=… (the coordinator prints such a URL) or
// from a small form shown when the coordinator answers 401, and is kept in localStorage.

export const API = '/api/v1';
const TOKEN_KEY = 'stylefarm.apiToken';

/** A request the coordinator refused or could not answer; `message` is its problem detail. */
export class ApiError extends Error {
  constructor(status, message, errors = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errors = errors;
  }
}

export function blobUrl(hash) {
  return `${API}/blobs/${encodeURIComponent(hash)}`;
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lasts for this page only.
  }
  memoryToken = token;
}

let memoryToken = '';

function currentToken() {
  return getToken() || memoryToken;
}

// #token=T: keep it, then drop it from the address bar so it is not bookmarked or shared by accident.
(function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
})();

async function problemOf(response) {
  let detail = `${response.status} ${response.statusText}`.trim();
  let errors = [];
  try {
    const body = await response.json();
    if (body && typeof body.detail === 'string') detail = body.detail;
    if (body && Array.isArray(body.errors)) errors = body.errors;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, detail, errors);
}

async function request(method, url, init = {}) {
  let response;
  try {
    response = await fetch(url, { method, ...init });
  } catch {
    throw new ApiError(0, 'cannot reach the coordinator; is it running?');
  }
  return response;
}

/** GET a JSON body; throws ApiError on any status but 2xx. */
export async function getJson(path, { signal } = {}) {
  const response = await request('GET', apiPath(path), { headers: { Accept: 'application/json' }, signal });
  if (!response.ok) throw await problemOf(response);
  return response.json();
}

/** GET a text body (a trace CSV blob). */
export async function getText(path) {
  const response = await request('GET', apiPath(path));
  if (!response.ok) throw await problemOf(response);
  return response.text();
}

/** HEAD: whether the resource exists (2xx). */
export async function exists(path) {
  const response = await request('HEAD', apiPath(path));
  if (response.ok) return true;
  if (response.status === 404) return false;
  throw await problemOf(response);
}

/**
 * A mutating request (POST, PUT…): adds the token, and on 401 asks for one and tries again. Resolves to
 * { status, body, location } for 2xx; throws ApiError otherwise (its `errors` list the problems of a 400).
 */
export async function send(method, path, { json, body, contentType } = {}) {
  const headers = { Accept: 'application/json' };
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (contentType) {
    headers['Content-Type'] = contentType;
  }
  for (let attempt = 0; ; attempt++) {
    const token = currentToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    else delete headers.Authorization;
    const response = await request(method, apiPath(path), { headers, body });
    if (response.status === 401 && attempt < 3) {
      const problem = await problemOf(response);
      await askForToken(problem.message);
      continue;
    }
    if (!response.ok) throw await problemOf(response);
    let result = null;
    if (response.status !== 204 && (response.headers.get('Content-Type') || '').includes('json')) result = await response.json();
    return { status: response.status, body: result, location: response.headers.get('Location') };
  }
}

function apiPath(path) {
  return path.startsWith('/') ? path : `${API}/${path}`;
}

// ---- the token form ----

let pendingAsk = null;

/** Shows the token form at the top of the page; resolves once a token is saved, rejects when dismissed. */
function askForToken(reason) {
  if (pendingAsk) return pendingAsk;
  pendingAsk = new Promise((resolve, reject) => {
    const form = document.createElement('form');
    form.className = 'notice info token-form';
    form.setAttribute('aria-label', 'API token');
    const text = document.createElement('span');
    text.textContent = `This coordinator needs its API token for changes (${reason}). `;
    const label = document.createElement('label');
    label.className = 'inline';
    label.textContent = 'API token';
    const input = document.createElement('input');
    input.type = 'password';
    input.autocomplete = 'off';
    input.required = true;
    input.dataset.testid = 'api-token';
    label.append(input);
    const save = document.createElement('button');
    save.type = 'submit';
    save.className = 'primary';
    save.textContent = 'Save token';
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.textContent = 'Cancel';
    form.append(text, label, save, dismiss);
    const main = document.querySelector('main') || document.body;
    main.prepend(form);
    input.focus();
    const done = () => {
      form.remove();
      pendingAsk = null;
    };
    form.addEventListener('submit', event => {
      event.preventDefault();
      setToken(input.value.trim());
      done();
      resolve();
    });
    dismiss.addEventListener('click', () => {
      done();
      reject(new ApiError(401, 'no API token given'));
    });
  });
  return pendingAsk;
}
