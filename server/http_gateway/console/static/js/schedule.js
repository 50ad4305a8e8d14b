// The console's only writes: cancel a scheduled publish (POST /publishes/{id}:cancel) and
// move it (POST /publishes/{id}:reschedule). Whether either may happen is the API's rule:
// its refusal (e.g. PUBLISH_NOT_SCHEDULED once the publish started) is shown as it is.

import * as api from './api.js';
import { h, notice, replace } from './dom.js';
import { fromInputUtc, toInputUtc } from './format.js';

function refusal(err) {
  const violations = err.violations || [];
  return notice('error', err.message, err.reason ? ` (${err.reason})` : '',
    violations.length ? h('ul', {}, violations.map(([field, text]) => h('li', {}, h('code', {}, field), ': ', text))) : null);
}

/** Cancel and reschedule controls for one scheduled publish; `done(publish)` after a change. */
export function scheduleActions(publish, done) {
  const box = h('div', { class: 'actions' });
  const message = h('div', { class: 'action-message' });

  function idle() {
    replace(box,
      h('button', { type: 'button', class: 'secondary', onclick: askReschedule, 'aria-label': `Reschedule publish ${publish.id}` }, 'Reschedule…'),
      h('button', { type: 'button', class: 'danger', onclick: askCancel, 'aria-label': `Cancel publish ${publish.id}` }, 'Cancel…'),
      message);
  }

  function askCancel() {
    const yes = h('button', { type: 'button', class: 'danger', onclick: cancel }, 'Yes, cancel it');
    replace(box,
      h('span', { class: 'confirm' }, 'Cancel this publish? Nothing will be posted.'),
      yes,
      h('button', { type: 'button', class: 'secondary', onclick: idle }, 'Keep it'),
      message);
    yes.focus();
  }

  async function cancel() {
    replace(message);
    try {
      const answer = await api.post(`/publishes/${api.seg(publish.id)}:cancel`, {});
      replace(box, notice('ok', 'Cancelled.'));
      done(answer.publish);
    } catch (err) {
      idle();
      replace(message, refusal(err));
    }
  }

  function askReschedule() {
    const input = h('input', { type: 'datetime-local', name: 'publishTime', step: 1, required: true });
    input.value = toInputUtc(publish.scheduleTime);
    const form = h('form', { class: 'reschedule' },
      h('label', {}, 'New time (UTC)', input),
      h('button', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', class: 'secondary', onclick: idle }, 'Close'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      replace(message);
      try {
        const answer = await api.post(`/publishes/${api.seg(publish.id)}:reschedule`, { publishTime: fromInputUtc(input.value) });
        replace(box, notice('ok', 'Rescheduled.'));
        done(answer.publish);
      } catch (err) {
        replace(message, refusal(err));
      }
    });
    replace(box, form, message);
    input.focus();
  }

  idle();
  return box;
}
