// The service's public HTTP API (/api/v1, the routes of its OpenAPI document), called from
// the browser with the caller's API key in the Authorization header. The key is kept for
// this tab only (sessionStorage: gone when the tab closes, never sent anywhere but in that
// header, never in a URL, a cookie or localStorage).

const BASE = '/api/v1';
const KEY_ITEM = 'distribution.console.api-key';

export const auth = {
  get key() {
    return sessionStorage.getItem(KEY_ITEM) || '';
  },
  remember(key) {
    sessionStorage.setItem(KEY_ITEM, key);
  },
  forget() {
    sessionStorage.removeItem(KEY_ITEM);
  },
};

/** An error answer of the API: google.rpc.Status in AIP-193's JSON form, or a network failure. */
export class ApiError extends Error {
  constructor(httpStatus, body) {
    const error = (body && body.error) || {};
    super(error.message || (httpStatus ? `HTTP ${httpStatus}` : 'The service could not be reached'));
    this.httpStatus = httpStatus;
    this.status = error.status || '';
    this.details = Array.isArray(error.details) ? error.details : [];
  }

  detail(kind) {
    return this.details.find((d) => d['@type'] === `type.googleapis.com/google.rpc.${kind}`);
  }

  get reason() {
    const info = this.detail('ErrorInfo');
    return (info && info.reason) || '';
  }

  /** [[field, description], ...] of a BadRequest detail. */
  get violations() {
    const bad = this.detail('BadRequest');
    return ((bad && bad.fieldViolations) || []).map((v) => [v.field, v.description]);
  }

  get unauthenticated() {
    return this.httpStatus === 401;
  }
}

const listeners = new Set();

/** `fn(error)` is called for every 401, so the app can ask for a key again. */
export function onUnauthenticated(fn) {
  listeners.add(fn);
}

function headers(extra = {}) {
  const all = { Accept: 'application/json', ...extra };
  if (auth.key) all.Authorization = `Bearer ${auth.key}`;
  return all;
}

/** `/api/v1` + path, with `query` parameters (empty values left out; arrays repeated). */
export function url(path, query = {}) {
  const target = new URL(BASE + path, window.location.origin);
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== '') target.searchParams.append(name, String(item));
    }
  }
  return target;
}

/** One API call; resolves with the JSON answer, rejects with an ApiError. */
export async function call(method, path, { query, body, signal } = {}) {
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed);
    if (error.unauthenticated) listeners.forEach((fn) => fn(error));
    throw error;
  }
  return parsed;
}

export const get = (path, query, options = {}) => call('GET', path, { ...options, query });
export const post = (path, body = {}, options = {}) => call('POST', path, { ...options, body });

/** A path segment, encoded: ids from the API never change the route they are put in. */
export const seg = (value) => encodeURIComponent(String(value));

/**
 * A server-streaming route (newline-delimited JSON) read with fetch, so the Authorization
 * header goes with it (EventSource cannot send one). Calls onMessage(object) per line;
 * resolves when the stream ends, rejects with an ApiError (an error answer, or the stream's
 * last item being an error) or the AbortError of `signal`. `onOpen()` runs once the
 * service answered with the stream's headers.
 */
export async function stream(path, query, { signal, onOpen = () => {}, onMessage }) {
  let response;
  try {
    response = await fetch(url(path, query), {
      headers: headers({ Accept: 'application/x-ndjson' }),
      signal,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, null);
  }
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = JSON.parse(await response.text());
    } catch {
      parsed = null;
    }
    const error = new ApiError(response.status, parsed);
    if (error.unauthenticated) listeners.forEach((fn) => fn(error));
    throw error;
  }
  onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      const item = JSON.parse(line);
      if (item.error) throw new ApiError(item.error.code || 500, item);
      onMessage(item);
    }
  }
}

/** Every page of a list route, up to `limit` items: [items, whether more were left]. */
export async function all(path, field, query = {}, limit = 5000) {
  const items = [];
  let token = '';
  do {
    const page = await get(path, { ...query, pageSize: 1000, pageToken: token });
    items.push(...(page[field] || []));
    token = page.nextPageToken || '';
  } while (token && items.length < limit);
  return [items, Boolean(token)];
}

let openapi = null;

/** The service's OpenAPI document (read once, when a view first asks): what it can do. */
export function document() {
  openapi = openapi || get('/openapi.json').catch((err) => {
    openapi = null;
    throw err;
  });
  return openapi;
}

/**
 * The operation whose operationId matches `pattern` in the OpenAPI document, as
 * { method, path, bodyFields } or null when this service has no such route. Lets a view
 * offer an action only where the API serves it.
 */
export async function operation(pattern) {
  const doc = await document();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== 'object' || !pattern.test(op.operationId || '')) continue;
      return { method: method.toUpperCase(), path, bodyFields: bodyFields(doc, op) };
    }
  }
  return null;
}

function bodyFields(doc, op) {
  const content = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  let schema = content && content.schema;
  if (schema && schema.$ref) schema = resolve(doc, schema.$ref);
  return schema && schema.properties ? Object.keys(schema.properties) : [];
}

function resolve(doc, ref) {
  return ref.replace(/^#\//, '').split('/').reduce((node, key) => (node ? node[key] : undefined), doc);
}

/** 'delivery_id' -> 'deliveryId' (protobuf's JSON names). */
const camel = (name) => name.replace(/_([a-z0-9])/g, (_m, c) => c.toUpperCase());

/**
 * Calls an `operation()`: `{name}` in its path and the fields of its request body taken
 * from `values` (keyed by proto or JSON name: delivery_id or deliveryId).
 */
export function invoke(op, values) {
  const given = {};
  for (const [name, value] of Object.entries(values)) given[camel(name)] = value;
  const used = new Set();
  const path = op.path.replace(/\{([^}=]+)(=[^}]*)?\}/g, (_m, name) => {
    used.add(camel(name));
    return seg(given[camel(name)]);
  });
  const body = {};
  for (const field of op.bodyFields) {
    if (!used.has(camel(field)) && given[camel(field)] !== undefined) body[field] = given[camel(field)];
  }
  return call(op.method, path.replace(/^\/api\/v1/, ''), { body: op.method === 'GET' ? undefined : body });
}
