/* global document, fetch, sessionStorage */
// The API client: same origin, JSON, bearer tokens from sessionStorage. A read endpoint answering 401 means
// BTFWATCH_READ_TOKEN is set: ask once, keep it for this tab, retry. Admin endpoints never prompt on their
// own; the jobs view asks for the admin token when the user wants to see jobs.

const READ_KEY = 'btfwatch.readToken';
const ADMIN_KEY = 'btfwatch.adminToken';

export class ApiError extends Error {
  constructor(status, body, path) {
    super(body?.message ?? `HTTP ${status} from ${path}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.error ?? `HTTP_${status}`;
  }
}

export const tokens = {
  read: () => sessionStorage.getItem(READ_KEY),
  admin: () => sessionStorage.getItem(ADMIN_KEY),
  setRead: (t) => sessionStorage.setItem(READ_KEY, t),
  setAdmin: (t) => sessionStorage.setItem(ADMIN_KEY, t),
  forgetRead: () => sessionStorage.removeItem(READ_KEY),
  forgetAdmin: () => sessionStorage.removeItem(ADMIN_KEY),
};

let pendingAsk = null;

/** Shows the token dialog; resolves to the token entered, or null when cancelled. One dialog at a time. */
export function askToken(title, text) {
  if (pendingAsk) return pendingAsk;
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  document.getElementById('token-title').textContent = title;
  document.getElementById('token-message').textContent = text;
  input.value = '';
  dialog.returnValue = '';
  pendingAsk = new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        pendingAsk = null;
        const value = input.value.trim();
        input.value = '';
        resolve(dialog.returnValue === 'ok' && value ? value : null);
      },
      { once: true },
    );
  });
  dialog.showModal();
  input.focus();
  return pendingAsk;
}

async function request(path, { admin = false, signal } = {}) {
  const token = admin ? tokens.admin() : (tokens.read() ?? tokens.admin());
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers, signal, credentials: 'omit', cache: 'no-store' });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body, path);
  return body;
}

/** GET a read endpoint; on 401 asks for the read token (until it works or the user gives up). */
export async function getJson(path, { signal } = {}) {
  for (;;) {
    try {
      return await request(path, { signal });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      const hadToken = tokens.read() !== null;
      tokens.forgetRead();
      const token = await askToken(
        'Read token required',
        hadToken
          ? 'The token was refused. This server requires BTFWATCH_READ_TOKEN (or the admin token) for reads.'
          : 'This server requires a token for reads (BTFWATCH_READ_TOKEN, or the admin token).',
      );
      if (!token) throw err;
      tokens.setRead(token);
    }
  }
}

/** GET an admin endpoint with the admin token; a refused token is forgotten. */
export async function getAdminJson(path, { signal } = {}) {
  try {
    return await request(path, { admin: true, signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) tokens.forgetAdmin();
    throw err;
  }
}

export function isAbort(err) {
  return err?.name === 'AbortError';
}
