// The console's frame: asks for an API key when the API wants one, keeps the workspace
// stream open, routes `#/view/...` to the views, and gives the keyboard its shortcuts.

import * as api from './api.js';
import { h, notice, replace } from './dom.js';
import { Live } from './live.js';

const VIEWS = {
  publishes: () => import('./views/publishes.js'),
  publish: () => import('./views/publish.js'),
  scheduled: () => import('./views/scheduled.js'),
  accounts: () => import('./views/accounts.js'),
  media: () => import('./views/media.js'),
  webhooks: () => import('./views/webhooks.js'),
};
const SHORTCUTS = { p: 'publishes', s: 'scheduled', a: 'accounts', m: 'media', w: 'webhooks' };
const LIVE_TEXT = {
  connecting: ['◌', 'Connecting to live updates…'],
  live: ['●', 'Live'],
  retrying: ['⚠', 'Live updates paused'],
  stopped: ['⚠', 'Live updates stopped'],
};

const main = document.getElementById('main');
const liveStatus = document.getElementById('live');
const forget = document.getElementById('forget-key');
const live = new Live((state, why) => {
  const [icon, text] = LIVE_TEXT[state];
  liveStatus.dataset.state = state;
  replace(liveStatus, h('span', { class: 'icon', 'aria-hidden': 'true' }, icon), ' ', text, why ? `: ${why}` : '');
});

let cleanup = () => {};
let rendering = 0;
let asking = false;

/** '#/publishes/ID?state=FAILED' -> { view: 'publish', id: 'ID', params } */
function parse(hash) {
  const [path, search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part; // a malformed escape: taken as written (the API will not know such an id)
    }
  });
  const params = new URLSearchParams(search);
  const [name = 'publishes', id = ''] = parts;
  if (name === 'publishes' && id) return { view: 'publish', id, params };
  return { view: VIEWS[name] ? name : 'publishes', id, params };
}

function navigate(path, params = new URLSearchParams()) {
  const search = params.toString();
  window.location.hash = path + (search ? `?${search}` : '');
}

async function show(event) {
  if (asking) return;
  const ticket = ++rendering;
  const { view, id, params } = parse(window.location.hash);
  cleanup();
  cleanup = () => {};
  for (const a of document.querySelectorAll('nav a')) {
    const current = a.dataset.view === (view === 'publish' ? 'publishes' : view);
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Each view draws into a root of its own: one left behind (another view, the key form)
  // goes on drawing into a detached root, never over what replaced it.
  const root = h('div', { class: 'view' });
  replace(main, root);
  main.setAttribute('aria-busy', 'true');
  try {
    const module = await VIEWS[view]();
    const done = await module.render(root, params, { live, navigate, id });
    if (ticket === rendering) cleanup = done || (() => {});
    else if (done) done();
  } catch (err) {
    if (ticket === rendering && !(err instanceof api.ApiError && err.unauthenticated)) {
      replace(root, notice('error', err.message || String(err)));
    }
  } finally {
    if (ticket === rendering) main.removeAttribute('aria-busy');
  }
  document.title = `${main.querySelector('h1')?.textContent || 'Console'} · Distribution`;
  // A move to another view (a link, Enter on a row, a shortcut) takes the keyboard there too.
  if (event && ticket === rendering && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

/** The key form: the key stays in this tab (sessionStorage) and goes only into the Authorization header. */
function askForKey(refused) {
  asking = true;
  rendering += 1; // a view still loading is no longer shown
  live.stop();
  cleanup();
  cleanup = () => {};
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true, id: 'api-key' });
  const form = h('form', { class: 'key-form', 'aria-labelledby': 'key-title' },
    h('h1', { id: 'key-title' }, 'API key'),
    refused ? notice('error', 'That key was refused: ', refused) : h('p', {}, 'This service asks for an API key.'),
    h('label', { for: 'api-key' }, 'Key of your workspace'),
    input,
    h('button', { type: 'submit' }, 'Open the console'),
    h('p', { class: 'muted' }, 'The key is kept in this tab only, until you close it or choose "Forget key", '
      + 'and is sent only in the Authorization header of the API calls.'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    input.value = '';
    // One small call says whether the service takes the key (a refusal is answered here).
    api.auth.remember(key);
    try {
      await api.get('/publishes', { pageSize: 1 });
    } catch (err) {
      if (err instanceof api.ApiError && err.unauthenticated) {
        api.auth.forget();
        askForKey(err.message);
        return;
      }
    }
    start();
  });
  replace(main, form);
  forget.hidden = true;
  input.focus();
}

/** Opens the console: the stream and the view of the URL. Where the API wants a key (or
 *  refuses the tab's), its first 401 brings the key form instead. */
function start() {
  asking = false;
  forget.hidden = !api.auth.key;
  live.start();
  show();
}

api.onUnauthenticated((err) => {
  if (asking) return;
  const had = api.auth.key;
  api.auth.forget();
  askForKey(had ? err.message : '');
});

forget.addEventListener('click', () => {
  api.auth.forget();
  askForKey('');
});

window.addEventListener('hashchange', show);

// Keyboard: "/" to the filters, arrows between table rows, "g" then a letter for a view.
let pendingG = false;
document.addEventListener('keydown', (event) => {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (pendingG) {
    pendingG = false;
    if (SHORTCUTS[event.key]) {
      event.preventDefault();
      navigate(`/${SHORTCUTS[event.key]}`);
    }
    return;
  }
  if (event.key === 'g') {
    pendingG = true;
    return;
  }
  if (event.key === '/') {
    const first = main.querySelector('form.filters select, form.filters input');
    if (first) {
      event.preventDefault();
      first.focus();
    }
    return;
  }
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    const links = [...main.querySelectorAll('table.rows a.row-link')];
    if (!links.length) return;
    const at = links.indexOf(document.activeElement);
    const next = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + (event.key === 'ArrowDown' ? 1 : -1)));
    event.preventDefault();
    links[next].focus();
  }
});

document.getElementById('booting')?.remove();
start();
