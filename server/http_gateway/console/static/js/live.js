// The workspace's event stream (GET /api/v1/publishes:watch, WatchPublishes): one
// connection for the whole console, shared by the views. It resumes after a drop from the
// last event id it saw (the API sends every later event, none twice); when the API says
// that id is too old (OUT_OF_RANGE) the views reload what they show and the stream starts
// again from now.

import { ApiError, stream } from './api.js';

const RETRY_SECONDS = [1, 2, 4, 8, 15];

export class Live {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.subscribers = new Set();
    this.lastEventId = '';
    this.controller = null;
    this.failures = 0;
    this.timer = 0;
  }

  /** `fn(message)` for each {eventId, event, publish} or {eventId, accountEvent, account};
   * `fn(null)` when views must reload. */
  subscribe(fn) {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  start() {
    this.stop();
    this.controller = new AbortController();
    this.connect(this.controller.signal);
  }

  stop() {
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  async connect(signal) {
    this.onStatus('connecting', '');
    try {
      await stream('/publishes:watch', { afterEventId: this.lastEventId }, {
        signal,
        onOpen: () => {
          this.failures = 0;
          this.onStatus('live', '');
        },
        onMessage: (message) => {
          this.failures = 0;
          this.onStatus('live', '');
          if (message.eventId) this.lastEventId = message.eventId;
          this.subscribers.forEach((fn) => fn(message));
        },
      });
      this.retry(signal, 'the stream ended');
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 'OUT_OF_RANGE') {
        // Events were pruned past our position: start from now and let the views reload.
        this.lastEventId = '';
        this.subscribers.forEach((fn) => fn(null));
        this.failures = 0;
      }
      if (err instanceof ApiError && err.unauthenticated) {
        this.onStatus('stopped', 'the API key was refused');
        return;
      }
      this.retry(signal, err instanceof ApiError ? err.message : String(err));
    }
  }

  retry(signal, why) {
    if (signal.aborted) return;
    const seconds = RETRY_SECONDS[Math.min(this.failures, RETRY_SECONDS.length - 1)];
    this.failures += 1;
    this.onStatus('retrying', `${why}; trying again in ${seconds} s`);
    this.timer = setTimeout(() => {
      if (!signal.aborted) this.connect(signal);
    }, seconds * 1000);
  }
}
