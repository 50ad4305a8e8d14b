// The publishes: ListPublishes with the history filters (account, platform, state, time
// range) and keyset paging (the API's page tokens), rows kept current by the workspace
// event stream. A change to a publish on the page updates its row in place; any other
// change reloads the first page (the API decides what matches the filters).

import * as api from '../api.js';
import { h, replace, route, routeTo, table, tableRow } from '../dom.js';
import {
  PLATFORMS, PUBLISH_STATES, enumName, excerpt, fromInputUtc, platformName, publishState, shortId, time, toInputUtc, words,
} from '../format.js';
import { Pager } from '../paging.js';
import { accountName, loadAccounts } from './accounts.js';

const PAGE_SIZES = [25, 50, 100, 200];
const FILTERS = ['accountId', 'platform', 'state', 'createTimeAfter', 'createTimeBefore'];

function platformIds(p) {
  return p.igMediaId || p.tiktokPlatformPostId || p.tiktokPlatformPublishId || '';
}

export function columns(accounts) {
  return [
    ['Publish', (p) => route(routeTo('publishes', p.id), { class: 'row-link', 'aria-label': `Publish ${p.id}` }, shortId(p.id))],
    ['State', (p) => publishState(p.state)],
    ['Created', (p) => time(p.createTime)],
    ['Platform', (p) => platformName(p.platform)],
    ['Account', (p) => accountName(accounts, p.accountId)],
    ['Caption', (p) => h('span', { class: 'caption' }, excerpt(p.caption))],
    ['Media', (p) => String((p.mediaIds || []).length)],
    ['Platform id', (p) => (platformIds(p) ? h('code', {}, platformIds(p)) : '')],
    ['Why', (p) => (p.error && p.error.reason ? h('code', { class: 'reason' }, p.error.reason) : '')],
  ];
}

function filterForm(params, accounts, onApply) {
  const select = (name, label, options, current) => h('label', {},
    label,
    h('select', { name },
      options.map(([value, text]) => {
        const option = h('option', { value }, text);
        option.selected = value === current;
        return option;
      })));
  const when = (name, label) => {
    const input = h('input', { type: 'datetime-local', name, step: 1 });
    input.value = toInputUtc(params.get(name));
    return h('label', {}, label, input);
  };
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter publishes' },
    select('accountId', 'Account', [['', 'Any account'], ...accounts.map((a) => [a.id, `${a.username || a.id} (${platformName(a.platform)})`])],
      params.get('accountId') || ''),
    select('platform', 'Platform', [['', 'Any platform'], ...PLATFORMS.map((p) => [p, platformName(p)])],
      enumName(params.get('platform'), 'PLATFORM_')),
    select('state', 'State', [['', 'Any state'], ...PUBLISH_STATES.map((s) => [s, words(s)])],
      enumName(params.get('state'), 'PUBLISH_STATE_')),
    when('createTimeAfter', 'Created from (UTC)'),
    when('createTimeBefore', 'Created before (UTC)'),
    select('pageSize', 'Per page', PAGE_SIZES.map((n) => [String(n), String(n)]), params.get('pageSize') || '50'),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'button', class: 'secondary', onclick: () => onApply(new URLSearchParams()) }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    for (const name of [...FILTERS, 'pageSize']) {
      let value = String(data.get(name) || '');
      if (name.startsWith('createTime')) value = fromInputUtc(value);
      if (value && !(name === 'pageSize' && value === '50')) next.set(name, value);
    }
    onApply(next);
  });
  return form;
}

export async function render(main, params, { live, navigate }) {
  const query = { pageSize: params.get('pageSize') || 50 };
  for (const name of FILTERS) query[name] = params.get(name) || '';
  // The newest page is asked for at once, beside the accounts (whose names the rows show).
  let early = api.get('/publishes', { ...query, pageToken: '' });
  early.catch(() => {}); // its error is shown by the pager, which takes it below
  const accounts = await loadAccounts().catch(() => []);
  const filtered = FILTERS.some((name) => query[name]);
  const cols = columns(accounts);
  const holder = h('div', { class: 'table-holder' });
  const newest = h('button', { type: 'button', class: 'link', hidden: true, onclick: () => pager.go(0) });
  let waiting = 0; // changes to publishes off this page while an older page is shown
  let timer = 0;
  const attrs = (p) => ({ 'data-id': p.id, 'data-state': enumName(p.state, 'PUBLISH_STATE_') });

  const pager = new Pager({
    load: (token) => {
      const answer = !token && early ? early : api.get('/publishes', { ...query, pageToken: token });
      early = null;
      return answer;
    },
    count: (page) => (page.publishes || []).length,
    noun: ['publish', 'publishes'],
    errors: holder,
    show: (page) => {
      waiting = 0;
      newest.hidden = true;
      replace(holder, table(cols, page.publishes || [], {
        caption: `Publishes${filtered ? ' matching the filters' : ''}, newest first`,
        rowAttrs: attrs,
        empty: filtered ? 'No publish matches these filters.' : 'No publishes yet.',
      }));
    },
  });
  pager.element.append(newest);

  replace(main,
    h('h1', {}, 'Publishes'),
    filterForm(params, accounts, (next) => navigate('/publishes', next)),
    pager.element,
    holder);

  /** The row of a publish on this page, updated in place (unless the event is older than it). */
  function update(publish) {
    const rows = (pager.page && pager.page.publishes) || [];
    const index = rows.findIndex((p) => p.id === publish.id);
    if (index < 0) return false;
    if (new Date(publish.updateTime) < new Date(rows[index].updateTime)) return true; // an older snapshot
    rows[index] = publish;
    const old = holder.querySelector(`tr[data-id="${CSS.escape(publish.id)}"]`);
    if (old) {
      const row = tableRow(cols, publish, { ...attrs(publish), class: 'changed' });
      const focused = old.contains(document.activeElement);
      old.replaceWith(row);
      if (focused) row.querySelector('a').focus();
    }
    return true;
  }

  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(() => pager.refresh().catch(() => {}), 150);
  }

  const unsubscribe = live.subscribe((message) => {
    if (!pager.page) return;
    if (message === null) refresh();
    else if (message.accountEvent) return; // an account's event changes no publish listed here
    else if (message.publish && update(message.publish)) return;
    else if (pager.onFirstPage) refresh();
    else {
      waiting += 1;
      newest.hidden = false;
      newest.textContent = `${waiting} change${waiting === 1 ? '' : 's'} since: back to the newest`;
    }
  });

  await pager.go(0);
  return () => {
    unsubscribe();
    clearTimeout(timer);
  };
}
