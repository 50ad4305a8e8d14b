// Webhooks (ListWebhooks) and one webhook's delivery log (ListWebhookDeliveries). Actions on
// a delivery are offered only where this service's OpenAPI document has the route: each
// entry of DELIVERY_ACTIONS names an operation by its operationId, and its button appears
// once the API serves it (e.g. redelivery, WebhookService_Redeliver...).

import * as api from '../api.js';
import { facts, h, link, notice, replace, route, routeTo, table } from '../dom.js';
import { badge, enumName, shortId, time, words } from '../format.js';
import { Pager } from '../paging.js';

/** [operationId pattern, button label, values for its path and request fields] per delivery
 *  action; api.invoke takes from the values the path variables and body fields the route has. */
export const DELIVERY_ACTIONS = [
  [/^WebhookService_Redeliver/, 'Redeliver', (webhook, delivery) => ({
    id: webhook.id, webhook_id: webhook.id, delivery_id: delivery.id,
  })],
];

async function availableActions() {
  const found = [];
  for (const [pattern, label, values] of DELIVERY_ACTIONS) {
    const operation = await api.operation(pattern).catch(() => null);
    if (operation) found.push({ operation, label, values });
  }
  return found;
}

/** The buttons of the available actions for one delivery; `report(node)` shows the outcome
 *  (above the table, which `after()` then reads again). */
function actionButtons(actions, webhook, delivery, report, after) {
  return h('span', { class: 'actions' }, actions.map(({ operation, label, values }) => h('button', {
    type: 'button',
    class: 'secondary',
    'aria-label': `${label} delivery ${delivery.id}`,
    onclick: async (event) => {
      event.target.disabled = true;
      try {
        await api.invoke(operation, values(webhook, delivery));
        report(notice('ok', `${label}: delivery ${delivery.id} queued again.`));
        after();
      } catch (err) {
        report(notice('error', `${label} of delivery ${delivery.id}: ${err.message}`));
        event.target.disabled = false;
      }
    },
  }, label)));
}

const kinds = (w) => ((w.eventKinds || []).length ? w.eventKinds.map((k) => words(enumName(k, 'WEBHOOK_EVENT_KIND_'))).join(', ') : 'Every kind');

async function list(main) {
  const holder = h('div', { class: 'table-holder' });
  const pager = new Pager({
    load: (token) => api.get('/webhooks', { pageSize: 50, pageToken: token }),
    count: (page) => (page.webhooks || []).length,
    noun: ['webhook', 'webhooks'],
    errors: holder,
    show: (page) => replace(holder, table([
      ['Webhook', (w) => route(routeTo('webhooks', w.id), { class: 'row-link', 'aria-label': `Webhook ${w.id}` }, shortId(w.id))],
      ['URL', (w) => h('span', { class: 'url' }, w.url)],
      ['State', (w) => badge(w.state, 'WEBHOOK_STATE_')],
      ['Failures in a row', (w) => String(w.consecutiveFailures || 0)],
      ['Why disabled', (w) => w.disabledReason || ''],
      ['Events', kinds],
      ['Description', (w) => w.description || ''],
      ['Created', (w) => time(w.createTime)],
    ], page.webhooks || [], { caption: 'Webhooks, newest first', empty: 'No webhook is registered.', rowAttrs: (w) => ({ 'data-id': w.id }) })),
  });
  replace(main, h('h1', {}, 'Webhooks'), pager.element, holder);
  await pager.go(0);
  return () => {};
}

async function one(main, id) {
  const crumbs = h('p', { class: 'crumbs' }, route(routeTo('webhooks'), {}, '← Webhooks'));
  let webhook;
  try {
    webhook = (await api.get(`/webhooks/${api.seg(id)}`)).webhook;
  } catch (err) {
    replace(main, crumbs, notice('error', err.message));
    return () => {};
  }
  const actions = await availableActions();
  const holder = h('div', { class: 'table-holder' });
  const outcome = h('div', { class: 'outcome', role: 'status' });
  const report = (node) => replace(outcome, node);
  const pager = new Pager({
    load: (token) => api.get(`/webhooks/${api.seg(id)}/deliveries`, { pageSize: 50, pageToken: token }),
    count: (page) => (page.deliveries || []).length,
    noun: ['delivery', 'deliveries'],
    errors: holder,
    show: (page) => replace(holder, table([
      ['Event', (d) => h('code', { title: d.eventId }, d.eventId)],
      ['Type', (d) => h('code', {}, d.eventType)],
      ['Publish', (d) => route(routeTo('publishes', d.publishId), {}, shortId(d.publishId))],
      ['State', (d) => badge(d.state, 'WEBHOOK_DELIVERY_STATE_')],
      ['Attempts', (d) => String(d.attempts || 0)],
      ['Last status', (d) => (d.lastStatusCode ? String(d.lastStatusCode) : d.attempts ? 'no answer' : '')],
      ['Last error', (d) => d.lastError || ''],
      ['Last attempt', (d) => time(d.lastAttemptTime)],
      ['Next attempt', (d) => time(d.nextAttemptTime)],
      ['Queued', (d) => time(d.createTime)],
      ...(actions.length
        ? [['Actions', (d) => actionButtons(actions, webhook, d, report, () => pager.go(pager.tokens.length - 1))]]
        : []),
    ], page.deliveries || [], { caption: 'Deliveries, newest first', empty: 'Nothing delivered yet.', rowAttrs: (d) => ({ 'data-id': d.id }) })),
  });
  replace(main,
    crumbs,
    h('h1', {}, 'Webhook ', h('code', { class: 'id' }, webhook.id)),
    h('section', { class: 'panel' }, facts([
      ['URL', link(webhook.url)],
      ['State', badge(webhook.state, 'WEBHOOK_STATE_')],
      ['Why disabled', webhook.disabledReason],
      ['Failures in a row', String(webhook.consecutiveFailures || 0)],
      ['Events', kinds(webhook)],
      ['Description', webhook.description],
      ['Created', time(webhook.createTime)],
    ])),
    h('h2', {}, 'Deliveries'),
    outcome,
    pager.element,
    holder);
  await pager.go(0);
  return () => {};
}

export function render(main, params, { id }) {
  return id ? one(main, id) : list(main);
}
