#!/usr/bin/env node
// Distribution from Node.js: connect an Instagram account, register two images,
// publish them as a carousel and read the account back; or, with --error-case,
// show how to read the google.rpc.Status a failed call carries.
//
// The contract is loaded at run time, straight from ../../proto, with
// @grpc/proto-loader: no generated code. Prints one JSON object to stdout.
//
//   node publish_carousel.js [--address HOST:PORT] [--caption TEXT] [URL ...]
//   node publish_carousel.js --error-case [--address HOST:PORT]
//
// Environment: DISTRIBUTION_ADDRESS (default 127.0.0.1:50051) when --address is absent;
// DISTRIBUTION_API_KEY (or --api-key), sent as `authorization: Bearer KEY` when set.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
// protobufjs is what proto-loader itself parses with; take that very copy.
const protobuf = require(require.resolve('protobufjs', {
  paths: [path.dirname(require.resolve('@grpc/proto-loader'))],
}));

const PROTO_DIR = path.resolve(__dirname, '../../proto');
const VENDORED_DIR = path.resolve(__dirname, 'protos'); // google/rpc/{status,error_details}.proto
const SERVICE_CONFIG = path.resolve(__dirname, '../service_config.json');

// Loader options, chosen to match proto3's canonical JSON mapping (what buf curl
// and every other JSON client print):
//   keepCase: false  -> fields are lowerCamelCase (igMediaId, mediaIds), as in proto3 JSON.
//                       Requests must use the same names: {mediaIds: [...]}; a snake_case
//                       key would be silently ignored.
//   enums: String    -> enum values as their names ('PUBLISH_STATE_PUBLISHED').
//   longs: String    -> int64 (size_bytes, Timestamp.seconds) as decimal strings, no precision loss.
//   defaults: true   -> zero values are present (imageCount: 0, permalink: '').
//   includeDirs      -> imports resolve against proto/ (distribution/v1/...) and the vendored
//                       google/rpc protos. google/protobuf/{timestamp,any,duration}.proto are
//                       bundled inside protobufjs and resolved before includeDirs are searched.
const LOADER_OPTIONS = {
  keepCase: false,
  enums: String,
  longs: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR, VENDORED_DIR],
};

const PUBLISH_DEADLINE_MS = 600_000; // publishes wait until the post is live
const CALL_DEADLINE_MS = 10_000;

function parseCommandLine() {
  const { values, positionals } = parseArgs({
    options: {
      address: { type: 'string', default: process.env.DISTRIBUTION_ADDRESS || '127.0.0.1:50051' },
      'error-case': { type: 'boolean', default: false },
      caption: { type: 'string', default: 'Autumn from Node.js #demo' },
      'external-account-id': { type: 'string', default: '17841400000000001' },
      username: { type: 'string', default: 'demo' },
      'access-token': { type: 'string', default: process.env.DISTRIBUTION_ACCESS_TOKEN || 'sandbox-token' },
      'api-key': { type: 'string', default: process.env.DISTRIBUTION_API_KEY || '' },
      'no-service-config': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 13)
      .map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
    process.exit(0);
  }
  const urls = positionals.length > 0
    ? positionals
    : ['gs://demo-bucket/autumn-1.jpg', 'gs://demo-bucket/autumn-2.jpg'];
  return { ...values, urls };
}

function loadContract() {
  const files = fs.readdirSync(path.join(PROTO_DIR, 'distribution/v1'))
    .filter((f) => f.endsWith('_service.proto'))
    .map((f) => `distribution/v1/${f}`);
  const definition = protoLoader.loadSync(files, LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition).distribution.v1;
}

// --- google.rpc.Status from the grpc-status-details-bin trailer ---------------

let statusRoot;
function statusTypes() {
  if (!statusRoot) {
    statusRoot = new protobuf.Root();
    statusRoot.resolvePath = (_origin, target) => path.join(VENDORED_DIR, target);
    statusRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
    statusRoot.resolveAll();
  }
  return statusRoot;
}

const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));

/** Turns a failed call's error into plain JSON: code, message and every known detail. */
function describeError(err) {
  const out = { code: CODE_NAMES[err.code] || String(err.code), message: err.details };
  const raw = err.metadata && err.metadata.get('grpc-status-details-bin');
  if (!raw || raw.length === 0) return out;
  const root = statusTypes();
  const status = root.lookupType('google.rpc.Status').decode(raw[0]);
  for (const any of status.details) {
    // protobufjs' bundled google.protobuf.Any keeps its proto field name, type_url.
    const typeUrl = any.type_url !== undefined ? any.type_url : any.typeUrl;
    const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    let type;
    try {
      type = root.lookupType(typeName);
    } catch {
      (out.otherDetails = out.otherDetails || []).push(typeUrl);
      continue;
    }
    const detail = type.toObject(type.decode(any.value), { defaults: true, longs: String });
    if (typeName === 'google.rpc.ErrorInfo') {
      out.reason = detail.reason;
      out.domain = detail.domain;
      out.metadata = detail.metadata;
    } else if (typeName === 'google.rpc.BadRequest') {
      out.fieldViolations = detail.fieldViolations.map((v) => ({ field: v.field, description: v.description }));
    } else if (typeName === 'google.rpc.RetryInfo') {
      const d = detail.retryDelay || { seconds: '0', nanos: 0 };
      out.retryDelaySeconds = Number(d.seconds) + d.nanos / 1e9;
    }
  }
  return out;
}

// --- calls ------------------------------------------------------------------

let apiKey = '';

/** One unary call as a promise, always with a deadline. */
function call(client, method, request, deadlineMs = CALL_DEADLINE_MS) {
  const metadata = new grpc.Metadata();
  if (apiKey) metadata.set('authorization', `Bearer ${apiKey}`);
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: Date.now() + deadlineMs }, (err, response) => {
      if (err) reject(err);
      else resolve(response);
    });
  });
}

/** Timestamps ({seconds, nanos}) as RFC 3339 strings, for printing. */
function withTimes(message) {
  const out = { ...message };
  for (const [key, value] of Object.entries(out)) {
    if (value && typeof value === 'object' && 'seconds' in value && 'nanos' in value) {
      out[key] = new Date(Number(value.seconds) * 1000 + Math.floor(value.nanos / 1e6)).toISOString();
    }
  }
  return out;
}

async function main() {
  const args = parseCommandLine();
  apiKey = args['api-key'];
  const v1 = loadContract();
  const channelOptions = args['no-service-config']
    ? {}
    : { 'grpc.service_config': fs.readFileSync(SERVICE_CONFIG, 'utf8') };
  const credentials = grpc.credentials.createInsecure();
  // One channel (one HTTP/2 connection) shared by the three service clients.
  const channel = new grpc.Channel(args.address, credentials, channelOptions);
  const accounts = new v1.AccountService(args.address, credentials, { channelOverride: channel });
  const media = new v1.MediaService(args.address, credentials, { channelOverride: channel });
  const publishing = new v1.PublishingService(args.address, credentials, { channelOverride: channel });

  try {
    const { account } = await call(accounts, 'ConnectAccount', {
      platform: 'PLATFORM_INSTAGRAM',
      externalAccountId: args['external-account-id'],
      username: args.username,
      accessToken: args['access-token'],
    });

    const urls = args['error-case'] ? args.urls.slice(0, 1) : args.urls;
    const registered = [];
    for (const url of urls) {
      registered.push((await call(media, 'RegisterMedia', { url })).media);
    }

    // A fresh request_id per logical publish: a retry of this very request (by the
    // service config's retry policy or by hand) returns the same publish, never a second post.
    const requestId = crypto.randomUUID();
    const publishRequest = {
      mediaIds: registered.map((m) => m.id),
      instagramAccountId: account.id,
      caption: args.caption,
      requestId,
    };

    if (args['error-case']) {
      try {
        await call(publishing, 'PublishInstagramCarousel', publishRequest, PUBLISH_DEADLINE_MS);
      } catch (err) {
        process.stdout.write(JSON.stringify(describeError(err), null, 2) + '\n');
        return 0;
      }
      process.stderr.write('expected the 1-item carousel to be refused, but it was published\n');
      return 1;
    }

    const publish = await call(publishing, 'PublishInstagramCarousel', publishRequest, PUBLISH_DEADLINE_MS);
    const readBack = await call(accounts, 'GetAccount', { id: account.id });
    const result = {
      account: withTimes(account),
      media: registered.map(withTimes),
      requestId,
      publish,
      getAccount: withTimes(readBack.account),
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  } catch (err) {
    if (err && typeof err.code === 'number') {
      process.stderr.write(JSON.stringify({ error: describeError(err) }, null, 2) + '\n');
      return 1;
    }
    throw err;
  } finally {
    channel.close();
  }
}

main().then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 2;
});
