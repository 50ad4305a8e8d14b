// Scheduled publishes in the order they are due: every SCHEDULED publish (ListPublishes
// state=SCHEDULED, optionally within a due window), sorted by schedule time, each with
// cancel and reschedule. Reloaded when the workspace stream reports a change to a
// scheduled publish or to one shown here.

import * as api from '../api.js';
import { h, notice, replace, route, routeTo, table } from '../dom.js';
import { excerpt, fromInputUtc, platformName, relative, shortId, time, toInputUtc } from '../format.js';
import { scheduleActions } from '../schedule.js';
import { accountName, loadAccounts } from './accounts.js';

const LIMIT = 5000;

export async function render(main, params, { live, navigate }) {
  const accountsLoading = loadAccounts().catch(() => []);
  let accounts = [];
  const after = params.get('scheduleTimeAfter') || '';
  const before = params.get('scheduleTimeBefore') || '';
  const holder = h('div', { class: 'table-holder' });
  const status = h('p', { class: 'page-status', role: 'status', 'aria-live': 'polite' });
  const shown = new Set();
  let timer = 0;

  const input = (name, value) => {
    const element = h('input', { type: 'datetime-local', name, step: 1 });
    element.value = toInputUtc(value);
    return element;
  };
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Due window' },
    h('label', {}, 'Due from (UTC)', input('scheduleTimeAfter', after)),
    h('label', {}, 'Due before (UTC)', input('scheduleTimeBefore', before)),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'button', class: 'secondary', onclick: () => navigate('/scheduled', new URLSearchParams()) }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of ['scheduleTimeAfter', 'scheduleTimeBefore']) {
      const value = fromInputUtc(form.elements[name].value);
      if (value) next.set(name, value);
    }
    navigate('/scheduled', next);
  });

  replace(main, h('h1', {}, 'Scheduled'), form, status, holder);

  async function load() {
    let publishes;
    let more;
    try {
      [[publishes, more], accounts] = await Promise.all([
        api.all('/publishes', 'publishes', { state: 'SCHEDULED', scheduleTimeAfter: after, scheduleTimeBefore: before }, LIMIT),
        accountsLoading,
      ]);
    } catch (err) {
      replace(holder, notice('error', err.message));
      return;
    }
    publishes.sort((a, b) => new Date(a.scheduleTime) - new Date(b.scheduleTime) || (a.id < b.id ? -1 : 1));
    shown.clear();
    publishes.forEach((p) => shown.add(p.id));
    const now = new Date();
    replace(holder, table([
      ['Due', (p) => [time(p.scheduleTime), h('span', { class: 'muted' }, ` ${relative(new Date(p.scheduleTime), now)}`)]],
      ['Publish', (p) => route(routeTo('publishes', p.id), { class: 'row-link', 'aria-label': `Publish ${p.id}` }, shortId(p.id))],
      ['Platform', (p) => platformName(p.platform)],
      ['Account', (p) => accountName(accounts, p.accountId)],
      ['Caption', (p) => h('span', { class: 'caption' }, excerpt(p.caption))],
      ['Media', (p) => String((p.mediaIds || []).length)],
      ['Created', (p) => time(p.createTime)],
      ['Actions', (p) => scheduleActions(p, () => reload())],
    ], publishes, {
      caption: 'Scheduled publishes, soonest first',
      rowAttrs: (p) => ({ 'data-id': p.id }),
      empty: 'No publish is scheduled.',
    }));
    status.textContent = `${publishes.length} scheduled` + (more ? ` (the first ${LIMIT} read; narrow the window)` : '');
  }

  function reload() {
    clearTimeout(timer);
    // Not under someone's hands: a confirmation or a new time being typed waits for its end.
    timer = setTimeout(() => (holder.querySelector('.confirm, form.reschedule') ? reload() : load()), 300);
  }

  const unsubscribe = live.subscribe((message) => {
    if (message === null || shown.has(message.publish && message.publish.id)
      || (message.publish && message.publish.state === 'PUBLISH_STATE_SCHEDULED')) reload();
  });
  await load();
  return () => {
    unsubscribe();
    clearTimeout(timer);
  };
}
