// Building the page without HTML strings: every value from the API (captions, usernames,
// error texts, platform responses) becomes a text node, never markup. The page's
// Content-Security-Policy requires Trusted Types, so assigning an HTML string would throw.

/** An element: `attrs` are attributes (on* keys are listeners), `children` nodes or text. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'href') throw new Error('use link() or route() for links');
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** Appends children: nodes as they are, strings and numbers as text, arrays flattened. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces all children of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A link to a view of the console (`#/publishes/ID`); `path` is built by the caller from
 *  encoded parts (see routeTo). */
export function route(path, attrs = {}, ...children) {
  const element = h('a', attrs, ...children);
  element.setAttribute('href', '#' + path);
  return element;
}

/** `/publishes/<id>` with each part encoded, so an id can never change the route. */
export function routeTo(...parts) {
  return '/' + parts.map((part) => encodeURIComponent(String(part))).join('/');
}

/** A link to an outside page, only for https URLs (a `javascript:` or `data:` URL from a
 *  platform or caller is shown as text instead); opens without a referrer or opener. */
export function link(url, text = url) {
  let parsed = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || parsed.protocol !== 'https:') return h('span', { class: 'url' }, text);
  const element = h('a', { class: 'url', target: '_blank', rel: 'noopener noreferrer', referrerpolicy: 'no-referrer' }, text);
  element.setAttribute('href', parsed.href);
  return element;
}

/** A definition list from [term, value] pairs; pairs whose value is empty are left out. */
export function facts(pairs, attrs = {}) {
  const list = h('dl', { class: 'facts', ...attrs });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && !value.length)) continue;
    list.append(h('dt', {}, term), h('dd', {}, value));
  }
  return list;
}

/** A table: `columns` are [heading, cell(row) -> node or text]; `rowAttrs(row)` extra attributes. */
export function table(columns, rows, { caption, rowAttrs = () => ({}), empty = 'Nothing here yet.' } = {}) {
  const head = h('thead', {}, h('tr', {}, columns.map(([title]) => h('th', { scope: 'col' }, title))));
  const body = h('tbody');
  for (const row of rows) body.append(tableRow(columns, row, rowAttrs(row)));
  const element = h('table', { class: 'rows' }, caption ? h('caption', {}, caption) : null, head, body);
  if (!rows.length) body.append(h('tr', { class: 'empty' }, h('td', { colspan: columns.length }, empty)));
  return element;
}

/** One row of `table` (also used to replace a row in place). */
export function tableRow(columns, row, attrs = {}) {
  return h('tr', attrs, columns.map(([title, cell]) => {
    const value = cell(row);
    const blank = value === '' || value === null || value === undefined;
    return h('td', { 'data-label': title, class: blank ? 'blank' : null }, value);
  }));
}

/** A message for people: kind is 'error', 'note' or 'ok' (each with its own icon and word). */
export function notice(kind, ...children) {
  const word = { error: 'Error', note: 'Note', ok: 'Done' }[kind];
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('strong', {}, word + ': '), ...children);
}
