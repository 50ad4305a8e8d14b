// One publish (GetPublish): where it stands, every platform id, its error with the
// platform's codes, first comment, options, schedule, its media with their inspection, and
// the timeline with each step's time and platform response. Read again whenever the
// workspace stream reports a change to it.

import * as api from '../api.js';
import { facts, h, link, notice, replace, route, routeTo } from '../dom.js';
import {
  badge, bytes, duration, enumName, gap, pixels, platformName, preciseTime, publishState, time, words, yesNo,
} from '../format.js';
import { scheduleActions } from '../schedule.js';
import { accountName, loadAccounts } from './accounts.js';
import { inspected, shape, storageName } from './media.js';

const code = (value) => (value ? h('code', {}, value) : '');
const list = (values, each = code) => (values && values.length ? h('ol', { class: 'ids' }, values.map((v) => h('li', {}, each(v)))) : '');

function errorFacts(error) {
  return facts([
    ['Code', code(error.code)],
    ['Reason', code(error.reason)],
    ['Message', error.message],
    ['Field', code(error.field)],
    ['Platform code', code(error.platformCode)],
    ['Platform subcode', code(error.platformSubcode)],
    ['Platform trace id', code(error.platformTraceId)],
    ['Retryable', error.code ? yesNo(error.retryable) : ''],
  ]);
}

function section(title, ...children) {
  return h('section', { class: 'panel', 'aria-label': title }, h('h2', {}, title), ...children);
}

/** A platform response summary (a JSON object) as terms and values; nested values as JSON text. */
function details(value) {
  if (!value || typeof value !== 'object' || !Object.keys(value).length) return '';
  return h('dl', { class: 'details' }, Object.entries(value).map(([key, item]) => [
    h('dt', {}, key),
    h('dd', {}, typeof item === 'object' && item !== null ? h('pre', {}, JSON.stringify(item, null, 2)) : String(item)),
  ]));
}

function timeline(events) {
  const rows = events.map((event, i) => h('tr', { 'data-type': event.type },
    h('td', { 'data-label': '#' }, String(event.sequence || i + 1)),
    h('td', { 'data-label': 'Time' }, preciseTime(event.time), h('span', { class: 'gap' }, i ? ` ${gap(events[i - 1].time, event.time)}` : '')),
    h('td', { 'data-label': 'Step' }, h('code', {}, event.type)),
    h('td', { 'data-label': 'State' }, enumName(event.state, 'PUBLISH_STATE_').replace('UNSPECIFIED', '') ? publishState(event.state) : ''),
    h('td', { 'data-label': 'What happened' }, event.message || ''),
    h('td', { 'data-label': 'Platform response' }, details(event.details))));
  return h('table', { class: 'rows timeline' },
    h('caption', {}, 'Timeline, oldest first'),
    h('thead', {}, h('tr', {}, ['#', 'Time', 'Step', 'State', 'What happened', 'Platform response'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 6 }, 'No events.'))));
}

/** A thumbnail frame drawn to the image's own proportions, with what its inspection read.
 *  The pixels themselves are not loaded: the page takes images from this service only
 *  (its Content-Security-Policy), and a media URL is the caller's host, or gs:// or s3://. */
function mediaCard(media, index) {
  const inspection = media.inspection || {};
  const width = inspection.width || media.width;
  const height = inspection.height || media.height;
  const frame = shape(media, 'thumb');
  frame.append(h('span', { class: 'dims' }, width && height ? `${width}×${height}` : 'size unknown'));
  return h('figure', { class: 'media-card', 'data-media-id': media.id },
    frame,
    h('figcaption', {},
      h('strong', {}, `Item ${index + 1}`),
      facts([
        ['URL', link(media.url)],
        ['Inspection', inspected(media)],
        ['Type', inspection.mimeType || media.mimeType],
        ['Pixels', pixels(width, height)],
        ['Size', bytes(inspection.sizeBytes || media.sizeBytes)],
        ['SHA-256', code(inspection.sha256)],
        ['Detail', inspection.detail],
        ['Inspected', time(inspection.inspectTime)],
        ['Storage', storageName(media.storage)],
        ['Id', code(media.id)],
      ])));
}

/** The options a publish used, or '' when it used none beyond the defaults. */
function options(p) {
  const shown = optionFacts(p);
  return shown && shown.childElementCount ? shown : '';
}

function optionFacts(p) {
  const ig = p.instagramOptions;
  const tt = p.tiktokOptions;
  if (enumName(p.platform, 'PLATFORM_') === 'INSTAGRAM' && ig) {
    const images = (ig.images || []).map((image, i) => (image.altText || (image.userTags || []).length
      ? h('li', {}, `Item ${i + 1}: `, image.altText ? ['alt text “', image.altText, '”'] : '',
        (image.userTags || []).length ? [' tags ', image.userTags.map((t) => `@${t.username} (${t.x}, ${t.y})`).join(', ')] : '')
      : null)).filter(Boolean);
    return facts([
      ['Collaborators', (ig.collaborators || []).map((c) => `@${c}`).join(', ')],
      ['Location id', code(ig.locationId)],
      ['Per image', images.length ? h('ul', {}, images) : ''],
    ]);
  }
  if (tt) {
    return facts([
      ['Post mode', words(enumName(tt.postMode, 'POST_MODE_'))],
      ['Privacy level', words(enumName(tt.privacyLevel, 'PRIVACY_LEVEL_'))],
      ['Cover', `item ${(tt.coverIndex || 0) + 1}`],
      ['Description', tt.description],
      ['Comments off', yesNo(tt.disableComment)],
      ['Add music', yesNo(tt.autoAddMusic)],
      ['Paid partnership', yesNo(tt.brandContentToggle)],
      ['Promotes own business', yesNo(tt.brandOrganicToggle)],
      ['Creator consent stated', yesNo(tt.creatorConsentObtained)],
      ['Creator nickname', tt.creatorNickname],
    ]);
  }
  return '';
}

function firstComment(p) {
  const text = p.instagramOptions && p.instagramOptions.firstComment;
  const comment = p.firstComment;
  if (!text && !comment) return '';
  return section('First comment',
    text ? h('blockquote', { class: 'text' }, text) : '',
    facts([
      ['State', comment ? badge(comment.state, 'FIRST_COMMENT_STATE_') : ''],
      ['Comment id', code(comment && comment.commentId)],
    ]),
    comment && comment.error && comment.error.code ? [h('h3', {}, 'Why'), errorFacts(comment.error)] : '');
}

async function loadMedia(ids) {
  return Promise.all(ids.map((id) => api.get(`/media/${api.seg(id)}`).then((r) => r.media, (err) => ({ id, error: err }))));
}

function view(p, events, accounts, media, reload) {
  const platform = enumName(p.platform, 'PLATFORM_');
  const scheduled = enumName(p.state, 'PUBLISH_STATE_') === 'SCHEDULED';
  return [
    h('p', { class: 'crumbs' }, route(routeTo('publishes'), {}, '← Publishes')),
    h('h1', {}, 'Publish ', h('code', { class: 'id' }, p.id)),
    h('div', { class: 'headline' }, publishState(p.state), ' ', platformName(p.platform), ' · ', accountName(accounts, p.accountId)),
    p.caption ? h('blockquote', { class: 'text caption-full' }, p.caption) : '',
    p.error && p.error.code ? section('Error', errorFacts(p.error)) : '',
    section('Where it stands', facts([
      ['State', publishState(p.state)],
      ['Platform', platformName(p.platform)],
      ['Account', [accountName(accounts, p.accountId), ' ', code(p.accountId)]],
      ['Created', time(p.createTime)],
      ['Last change', time(p.updateTime)],
      ['Live since', time(p.publishTime)],
      ['Scheduled for', time(p.scheduleTime)],
      ['Run started', time(p.startTime)],
      ['Started late by', duration(p.startLateness)],
      ['Still awaited from the platform', (p.pendingFacts || []).join(', ')],
      ['Request id', code(p.requestId)],
    ]), scheduled ? scheduleActions(p, reload) : ''),
    section('Platform ids', facts(platform === 'INSTAGRAM' ? [
      ['Item containers', list(p.instagramChildContainerIds)],
      ['Carousel container', code(p.instagramContainerId)],
      ['IG media id', code(p.igMediaId)],
      ['Permalink', p.permalink ? link(p.permalink) : ''],
    ] : [
      ['TikTok publish id', code(p.tiktokPlatformPublishId)],
      ['TikTok post id', code(p.tiktokPlatformPostId)],
    ]), (p.igMediaId || p.tiktokPlatformPublishId || p.instagramContainerId) ? '' : h('p', { class: 'muted' }, 'No platform id yet.')),
    firstComment(p),
    section('Options', options(p) || h('p', { class: 'muted' }, 'None beyond the platform\'s defaults.')),
    section(`Media (${(p.mediaIds || []).length})`, h('div', { class: 'media-grid' },
      media.map((m, i) => (m.error ? notice('error', `Item ${i + 1} (${m.id}): ${m.error.message}`) : mediaCard(m, i))))),
    section('Timeline', h('div', { class: 'table-holder' }, timeline(events))),
  ];
}

export async function render(main, params, { live, id }) {
  let timer = 0;
  let mediaOf = null;
  async function draw() {
    let answer;
    try {
      answer = await api.get(`/publishes/${api.seg(id)}`);
    } catch (err) {
      replace(main, h('p', { class: 'crumbs' }, route(routeTo('publishes'), {}, '← Publishes')), notice('error', err.message));
      return;
    }
    const p = answer.publish;
    const key = (p.mediaIds || []).join(',');
    if (!mediaOf || mediaOf.key !== key) mediaOf = { key, media: await loadMedia(p.mediaIds || []) };
    const accounts = await loadAccounts().catch(() => []);
    const focused = document.activeElement && main.contains(document.activeElement) ? document.activeElement.textContent : null;
    replace(main, ...view(p, answer.events || [], accounts, mediaOf.media, () => draw()));
    if (focused) {
      const again = [...main.querySelectorAll('a, button')].find((el) => el.textContent === focused);
      if (again) again.focus();
    }
  }
  const unsubscribe = live.subscribe((message) => {
    if (message === null || (message.publish && message.publish.id === id)) {
      clearTimeout(timer);
      timer = setTimeout(draw, 100);
    }
  });
  await draw();
  return () => {
    unsubscribe();
    clearTimeout(timer);
  };
}
