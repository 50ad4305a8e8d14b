// Keyset paging over the API's page tokens (AIP-158): the token of every page shown so far
// is kept, so "Newer" goes back along them and "Older" follows next_page_token.

import { h, notice, replace } from './dom.js';

export class Pager {
  /**
   * `load(token)` resolves with a page of the API; `show(page)` draws it; `count(page)` is
   * how many items it holds; errors are drawn into `errors` (an element).
   */
  constructor({ load, show, count, noun, errors }) {
    Object.assign(this, { load, show, count, noun, errors });
    this.tokens = [''];
    this.page = null;
    this.newer = h('button', { type: 'button', class: 'secondary', onclick: () => this.go(this.tokens.length - 2) }, '← Newer');
    this.older = h('button', { type: 'button', class: 'secondary', onclick: () => this.go(this.tokens.length) }, 'Older →');
    this.status = h('p', { class: 'page-status', role: 'status', 'aria-live': 'polite' });
    this.element = h('div', { class: 'pager' }, this.newer, this.older, this.status);
  }

  /** Whether the newest page is shown (where new items would appear). */
  get onFirstPage() {
    return this.tokens.length === 1;
  }

  /** Shows page `index` (0: the newest); false when the API refused. */
  async go(index) {
    if (index < 0) return false;
    const token = index === 0 ? '' : index < this.tokens.length ? this.tokens[index] : this.page.nextPageToken;
    this.status.textContent = 'Loading…';
    let page;
    try {
      page = await this.load(token);
    } catch (err) {
      replace(this.errors, notice('error', err.message));
      this.status.textContent = '';
      return false;
    }
    this.tokens.length = index + 1;
    this.tokens[index] = token;
    this.page = page;
    this.redraw();
    return true;
  }

  /** Loads the newest page again, if it is the one shown. */
  async refresh() {
    if (!this.onFirstPage) return;
    const page = await this.load('');
    if (!this.onFirstPage) return; // paged on meanwhile
    this.page = page;
    this.redraw();
  }

  redraw() {
    this.show(this.page);
    const n = this.count(this.page);
    this.newer.disabled = this.tokens.length <= 1;
    this.older.disabled = !this.page.nextPageToken;
    this.status.textContent = `Page ${this.tokens.length}: ${n} ${n === 1 ? this.noun[0] : this.noun[1]}`;
  }
}
