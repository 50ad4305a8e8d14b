// Registered media (ListMedia, keyset paging), each with what its last inspection read.

import * as api from '../api.js';
import { h, link, replace, table } from '../dom.js';
import { badge, bytes, enumName, pixels, time, words } from '../format.js';
import { Pager } from '../paging.js';

/** A frame drawn to the media's own proportions, labelled with its type. */
export function shape(media, className = 'thumb small') {
  const inspection = media.inspection || {};
  const width = inspection.width || media.width;
  const height = inspection.height || media.height;
  const box = h('div', { class: className, 'aria-hidden': 'true' },
    h('span', {}, (inspection.mimeType || media.mimeType || '?').replace(/^image\//, '').toUpperCase()));
  if (width && height) box.style.aspectRatio = `${width} / ${height}`;
  return box;
}

/** 'STORAGE_GCS' -> 'GCS'. */
export const storageName = (value) => ({ GCS: 'GCS', S3: 'S3', OTHER: 'Other https host' })[enumName(value, 'STORAGE_')] || '';

export const inspected = (m) => (m.inspection && m.inspection.outcome ? badge(m.inspection.outcome, 'INSPECTION_OUTCOME_') : 'never inspected');

export async function render(main) {
  const holder = h('div', { class: 'table-holder' });
  const pager = new Pager({
    load: (token) => api.get('/media', { pageSize: 50, pageToken: token }),
    count: (page) => (page.media || []).length,
    noun: ['item', 'items'],
    errors: holder,
    show: (page) => replace(holder, table([
      ['Shape', (m) => shape(m)],
      ['URL', (m) => link(m.url)],
      ['Inspection', inspected],
      ['Type', (m) => m.mimeType || ''],
      ['Kind', (m) => words(enumName(m.kind, 'MEDIA_KIND_'))],
      ['Pixels', (m) => pixels(m.width, m.height)],
      ['Size', (m) => bytes(m.sizeBytes)],
      ['Storage', (m) => storageName(m.storage)],
      ['Why not read', (m) => (m.inspection && m.inspection.detail) || ''],
      ['Inspected', (m) => time(m.inspection && m.inspection.inspectTime)],
      ['Registered', (m) => time(m.createTime)],
      ['Id', (m) => h('code', {}, m.id)],
    ], page.media || [], { caption: 'Media, most recently registered first', empty: 'No media registered.' })),
  });
  replace(main, h('h1', {}, 'Media'), pager.element, holder);
  await pager.go(0);
  return () => {};
}
