// How values read: enum names without their type prefix, times in UTC, sizes in units,
// and every state as an icon and a word (never colour alone). Presentation only: which
// state means what is the service's (see the API's descriptions), not decided here.

import { h } from './dom.js';

/** 'PUBLISH_STATE_FAILED' -> 'FAILED' (any of the contract's enum prefixes). */
export function enumName(value, prefix) {
  const text = String(value || '');
  return prefix && text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

/** 'DELIVERED_TO_INBOX' -> 'Delivered to inbox'. */
export function words(name) {
  const text = String(name || '').toLowerCase().replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// Icon, word and tone of each state of a publish, webhook, delivery, account, first comment
// or inspection. Tones pick a colour; the icon and the word carry the meaning on their own.
const STATES = {
  PENDING: ['…', 'Pending', 'wait'],
  PROCESSING: ['⟳', 'Processing', 'wait'],
  PUBLISHED: ['✓', 'Published', 'good'],
  DELIVERED_TO_INBOX: ['✉', 'Delivered to inbox', 'good'],
  FAILED: ['✗', 'Failed', 'bad'],
  UNCONFIRMED: ['?', 'Unconfirmed', 'warn'],
  SCHEDULED: ['◷', 'Scheduled', 'wait'],
  CANCELLED: ['⊘', 'Cancelled', 'quiet'],
  MISSED: ['⌛', 'Missed', 'warn'],
  // accounts, webhooks, deliveries, first comments, inspections
  ACTIVE: ['✓', 'Active', 'good'],
  NEEDS_RECONNECT: ['!', 'Needs reconnecting', 'warn'],
  DISCONNECTED: ['⊘', 'Disconnected', 'quiet'],
  ENABLED: ['✓', 'Enabled', 'good'],
  DISABLED: ['⊘', 'Disabled', 'bad'],
  DELIVERED: ['✓', 'Delivered', 'good'],
  SENDING: ['⟳', 'Sending', 'wait'],
  POSTED: ['✓', 'Posted', 'good'],
  READ: ['✓', 'Read', 'good'],
  UNREACHABLE: ['✗', 'Unreachable', 'bad'],
  REFUSED: ['⊘', 'Refused', 'bad'],
  NOT_MEDIA: ['✗', 'Not media', 'bad'],
  TOO_LARGE: ['✗', 'Header too large', 'bad'],
  UNSPECIFIED: ['–', 'Not set', 'quiet'],
};

export const PUBLISH_STATES = [
  'PENDING', 'PROCESSING', 'PUBLISHED', 'DELIVERED_TO_INBOX', 'FAILED', 'UNCONFIRMED', 'SCHEDULED', 'CANCELLED', 'MISSED',
];
export const PLATFORMS = ['INSTAGRAM', 'TIKTOK'];

/** A badge: icon and word, e.g. "✗ Failed", with the raw state for tests and CSS. */
export function badge(value, prefix) {
  const name = enumName(value, prefix) || 'UNSPECIFIED';
  const [icon, label, tone] = STATES[name] || ['•', words(name), 'quiet'];
  return h('span', { class: `badge ${tone}`, 'data-state': name },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, icon), ' ', label);
}

export const publishState = (value) => badge(value, 'PUBLISH_STATE_');
export const platformName = (value) => ({ INSTAGRAM: 'Instagram', TIKTOK: 'TikTok' })[enumName(value, 'PLATFORM_')]
  || words(enumName(value, 'PLATFORM_'));

function pad(n, width = 2) {
  return String(n).padStart(width, '0');
}

/** '2026-12-06T11:41:03.123456Z' -> a <time> reading '2026-12-06 11:41:03Z' (UTC). */
export function time(value, { seconds = true } = {}) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const text = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}${seconds ? ':' + pad(date.getUTCSeconds()) : ''}Z`;
  return h('time', { datetime: date.toISOString(), title: relative(date) }, text);
}

/** The same time to the millisecond, for a timeline whose steps are close together. */
export function preciseTime(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return h('time', { datetime: date.toISOString() },
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}Z`);
}

/** 'in 2 h', '5 min ago'. */
export function relative(date, now = new Date()) {
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const size = Math.abs(seconds);
  const [amount, unit] = size < 60 ? [size, 's'] : size < 3600 ? [Math.round(size / 60), 'min']
    : size < 172800 ? [Math.round(size / 3600), 'h'] : [Math.round(size / 86400), 'days'];
  return seconds >= 0 ? `in ${amount} ${unit}` : `${amount} ${unit} ago`;
}

/** Milliseconds between two API times, as '+0.250 s'. */
export function gap(from, to) {
  if (!from || !to) return '';
  const ms = new Date(to).getTime() - new Date(from).getTime();
  return Number.isFinite(ms) ? `+${(ms / 1000).toFixed(3)} s` : '';
}

/** A protobuf Duration in JSON ('3.5s') as '3.5 s'. */
export function duration(value) {
  return value ? String(value).replace(/s$/, ' s') : '';
}

/** Bytes as '1.2 MB' (decimal units, as the platforms state their limits). */
export function bytes(value) {
  const n = Number(value || 0);
  if (!n) return '';
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let size = n;
  let unit = -1;
  do {
    size /= 1000;
    unit += 1;
  } while (size >= 1000 && unit < units.length - 1);
  return `${size.toFixed(size < 10 ? 2 : 1)} ${units[unit]} (${n.toLocaleString('en')} bytes)`;
}

export const pixels = (width, height) => (width && height ? `${width}×${height} px` : '');
export const yesNo = (value) => (value ? 'yes' : 'no');

/** An id shortened for a table cell (the whole id stays in its title and on the detail page). */
export function shortId(id) {
  return h('code', { title: id }, String(id || '').slice(0, 8));
}

/** The caption's first line, cut to `max` characters. */
export function excerpt(text, max = 80) {
  const line = String(text || '').split('\n')[0];
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

/** An <input type="datetime-local"> value read as UTC -> RFC 3339 ('' when empty or invalid). */
export function fromInputUtc(value) {
  if (!value) return '';
  const date = new Date(value.length === 16 ? `${value}:00Z` : `${value}Z`);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** RFC 3339 -> an <input type="datetime-local"> value in UTC. */
export function toInputUtc(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return date.toISOString().slice(0, 19);
}
