// Connected accounts (ListAccounts, disconnected ones included). The API never returns a
// token, and nothing here would show one: only whether a refresh token is held and when
// the tokens expire.

import * as api from '../api.js';
import { h, notice, replace, route, routeTo, table } from '../dom.js';
import { badge, platformName, shortId, time, yesNo } from '../format.js';

let cached = null;

/** Every account of the workspace (read once per page load; the accounts view reads again). */
export function loadAccounts(fresh = false) {
  if (fresh || !cached) {
    cached = api.all('/accounts', 'accounts', { showDisconnected: true })
      .then(([accounts]) => accounts)
      .catch((err) => {
        cached = null;
        throw err;
      });
  }
  return cached;
}

/** "username (Instagram)" for an account id, or the short id when it is not known. */
export function accountName(accounts, id) {
  const account = accounts.find((a) => a.id === id);
  return account ? `${account.username || account.externalAccountId} (${platformName(account.platform)})` : shortId(id);
}

export async function render(main) {
  let accounts;
  try {
    accounts = await loadAccounts(true);
  } catch (err) {
    replace(main, h('h1', {}, 'Accounts'), notice('error', err.message));
    return () => {};
  }
  replace(main,
    h('h1', {}, 'Accounts'),
    h('div', { class: 'table-holder' }, table([
      ['Username', (a) => h('span', {}, a.username)],
      ['Platform', (a) => platformName(a.platform)],
      ['State', (a) => badge(a.state, 'ACCOUNT_STATE_')],
      ['Platform user id', (a) => h('code', {}, a.externalAccountId)],
      ['Access token expires', (a) => time(a.accessTokenExpireTime)],
      ['Refresh token held', (a) => yesNo(a.hasRefreshToken)],
      ['Refresh token expires', (a) => time(a.refreshTokenExpireTime)],
      ['Connected', (a) => time(a.createTime)],
      ['Changed', (a) => time(a.updateTime)],
      ['Publishes', (a) => route(`${routeTo('publishes')}?accountId=${encodeURIComponent(a.id)}`, {}, 'Show publishes')],
      ['Id', (a) => h('code', {}, a.id)],
    ], accounts, { caption: 'Accounts, most recently connected first', empty: 'No account is connected.' })));
  return () => {};
}
