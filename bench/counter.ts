/**
 * A request counter preloaded into the capstan process of a benchmark (`node --import tsx --import
 * ./bench/counter.ts operator/main.ts ...`): it wraps `http.request`/`https.request` (capstan's Kubernetes
 * client calls them at request time, so the wrapper sees every API request) and writes the counts as
 * JSON to `$BENCH_COUNTER_FILE` every 200 ms while they change, and at exit. No product code changes.
 * (The API server's `apiserver_request_total` cannot tell capstan's requests from the controllers'.)
 *
 * Categories (one request counts once): `watch` (GET with `watch=true`), `list` (GET of a collection),
 * `get`, `dryRun` (any request with `dryRun=All`), `apply` (PATCH with `fieldManager` and an
 * apply-patch content type), `statusPatch` (PATCH of an `applications/<name>/status` or
 * `externalsecrets/<name>/status`), `appPatch` (other PATCH of an Application), `patch`, `create`
 * (POST; `events` separately), `events`, `delete`, `put`. `writesToObjects` sums non-dry-run
 * apply/patch/create/delete/put outside capstan's own API group kinds and events.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

/** Counts by category, the total, and the writes to objects capstan manages. */
export interface Counts {
  total: number;
  categories: Record<string, number>;
  writesToObjects: number;
}

const file = process.env.BENCH_COUNTER_FILE;
const counts: Counts = { total: 0, categories: {}, writesToObjects: 0 };
let dirty = false;

/** The category of one request, from its method, path and headers. */
export function categorize(
  method: string,
  rawPath: string,
  contentType: string,
): { category: string; objectWrite: boolean } {
  const [pathname, search = ''] = rawPath.split('?');
  const query = new URLSearchParams(search);
  const m = method.toUpperCase();
  const ownKind = /\/apis\/(argoproj\.io|external-secrets\.io|generators\.external-secrets\.io)\//.test(
    pathname,
  );
  const events = /\/events(\/|$)/.test(pathname);
  if (m === 'GET') {
    if (query.get('watch') === 'true' || query.get('watch') === '1')
      return { category: 'watch', objectWrite: false };
    // A collection path ends in a plural: /api/v1[/namespaces/ns]/plural, /apis/g/v[/namespaces/ns]/plural.
    const parts = pathname.split('/').filter(Boolean);
    const isList = parts.length % 2 === (pathname.startsWith('/api/') ? 1 : 0);
    return { category: isList ? 'list' : 'get', objectWrite: false };
  }
  if (query.get('dryRun') === 'All') return { category: 'dryRun', objectWrite: false };
  const writes = !ownKind && !events;
  if (m === 'PATCH') {
    if (
      /\/(applications|externalsecrets|secretstores|clustersecretstores|appprojects)\/[^/]+\/status$/.test(
        pathname,
      )
    )
      return { category: 'statusPatch', objectWrite: false };
    if (/\/applications\/[^/]+$/.test(pathname)) return { category: 'appPatch', objectWrite: false };
    if (contentType.includes('apply-patch')) return { category: 'apply', objectWrite: writes };
    return { category: 'patch', objectWrite: writes };
  }
  if (m === 'POST') return { category: events ? 'events' : 'create', objectWrite: writes };
  if (m === 'DELETE') return { category: 'delete', objectWrite: writes };
  if (m === 'PUT') return { category: 'put', objectWrite: writes };
  return { category: m.toLowerCase(), objectWrite: false };
}

function record(opts: unknown): void {
  if (!opts || typeof opts !== 'object') return;
  const o = opts as http.RequestOptions;
  const headers = (o.headers ?? {}) as Record<string, string | number | undefined>;
  const contentType = String(headers['Content-Type'] ?? headers['content-type'] ?? '');
  const { category, objectWrite } = categorize(o.method ?? 'GET', o.path ?? '/', contentType);
  counts.total += 1;
  counts.categories[category] = (counts.categories[category] ?? 0) + 1;
  if (objectWrite) counts.writesToObjects += 1;
  dirty = true;
}

function flushSync(): void {
  if (!file || !dirty) return;
  dirty = false;
  const tmp = `${file}.exit.tmp`; // not the async write's file, which may still be being written
  fs.writeFileSync(tmp, JSON.stringify(counts));
  fs.renameSync(tmp, file);
}

let writing = false;

/**
 * The periodic flush, asynchronous: on a loaded machine the synchronous write and rename took 845 ms
 * of capstan's event loop in a 15 s cold start of 200 apps (CPU profile of P8), time the measured
 * process lost to the measurement. One write at a time; the exit flush stays synchronous.
 */
function flush(): void {
  if (!file || !dirty || writing) return;
  dirty = false;
  writing = true;
  const tmp = `${file}.tmp`;
  fs.promises
    .writeFile(tmp, JSON.stringify(counts))
    .then(() => fs.promises.rename(tmp, file))
    .catch(() => (dirty = true))
    .finally(() => (writing = false));
}

function wrap(mod: typeof http | typeof https): void {
  const original = mod.request.bind(mod) as (...args: unknown[]) => http.ClientRequest;
  (mod as { request: unknown }).request = (...args: unknown[]): http.ClientRequest => {
    // Only the (options, callback) form is counted: capstan's client uses it; URL strings are others'.
    if (typeof args[0] === 'object' && !(args[0] instanceof URL)) record(args[0]);
    return original(...args);
  };
}

if (file) {
  wrap(http);
  wrap(https);
  setInterval(flush, 200).unref();
  process.on('exit', () => {
    if (writing) dirty = true; // the last async write may not have landed: write the counts again
    flushSync();
  });
}
