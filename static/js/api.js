// The one way pages talk to the REST API: JSON in and out, same-origin cookies, and errors
// turned into ApiError carrying the server's {"error": {code, message}}.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  let payload;
  if (body instanceof Blob || body instanceof ArrayBuffer || body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (csrfToken && method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError(0, 'network_error', 'The server could not be reached.');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(
      response.status,
      error.code || `http_${response.status}`,
      error.message || `HTTP ${response.status}`,
      data,
    );
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

/** Who is logged in (null for a viewer); remembers the session's CSRF token. */
export async function whoami() {
  const data = await get('/api/session');
  csrfToken = (data && data.csrf_token) || null;
  return (data && data.user) || null;
}

export async function login(username, password) {
  const data = await post('/api/session', { username, password });
  csrfToken = data.csrf_token || null;
  return data.user;
}

export async function logout() {
  await del('/api/session');
  csrfToken = null;
}

export function csrf() {
  return csrfToken;
}
