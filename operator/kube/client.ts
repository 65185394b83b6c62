/**
 * A small JSON client for the Kubernetes API over `@kubernetes/client-node`'s KubeConfig (which does
 * the auth: client certs, bearer tokens, exec plugins, in-cluster service account).
 *
 * Why not the generated typed clients: capstan handles arbitrary kinds (whatever git renders), needs
 * server-side apply with dry-run, label-selected lists and long-running watches with resourceVersion
 * resume; one generic request function serves all of them with one error type.
 */
import https from 'node:https';
import http from 'node:http';
import { loadKubeConfig, type KubeConfig } from './kubeconfig';

export { loadKubeConfig };
export type { KubeConfig };

/** An error answered by the API server (or the transport), with the HTTP status and Kubernetes reason. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  /**
   * @param status - HTTP status (0 for a transport error).
   * @param reason - the Status object's `reason` (NotFound, Conflict, AlreadyExists, Invalid, ...).
   * @param message - the Status object's message, or the transport error's.
   */
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** True when the error is a 404 from the API server. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

/** True when the error is a 409 conflict. */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

/** Options of one request. */
export interface RequestOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** The body, serialised as JSON. */
  body?: unknown;
  /** Content-Type of the body (default application/json). */
  contentType?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** Request timeout in ms (default 30000; watches pass 0 for none). */
  timeoutMs?: number;
  /**
   * Accept header (default application/json); e.g. `application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`
   * lists metadata only.
   */
  accept?: string;
}

/** One watch event as the API server streams it. */
export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * A write was refused because this process no longer holds (or never held) the leader Lease. Not
 * retryable: the process is about to exit and another replica does the work.
 */
export class LeadershipLostError extends Error {
  override name = 'LeadershipLostError';
}

/** Decides whether this process may write now; see {@link KubeClient.setWriteFence}. */
export interface WriteFence {
  /**
   * Returns when a write may go out now.
   * @param method - HTTP method of the write.
   * @param path - API path of the write (for the error message).
   * @throws LeadershipLostError when it may not.
   */
  check(method: string, path: string): void;
}

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** True for the HTTP methods that change state on the API server (POST, PUT, PATCH, DELETE). */
export function isMutating(method: string): boolean {
  return MUTATING_METHODS.has(method.toUpperCase());
}

/** A watch stream that cannot be trusted any more (malformed or oversized line); restart the watch. */
export class WatchStreamError extends Error {
  override name = 'WatchStreamError';
}

const WATCH_EVENT_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/**
 * Parses one line of a watch stream (one JSON watch event, as the API server's `watch=true` answer
 * streams them) and checks its shape: a known `type` and an `object`, which has `metadata` unless it
 * is an ERROR's Status.
 * @throws WatchStreamError naming what is wrong; the message never quotes the line, which may hold a
 *   Secret's data.
 */
export function parseWatchLine<T = unknown>(line: string): WatchEvent<T> {
  let e: unknown;
  try {
    e = JSON.parse(line);
  } catch {
    throw new WatchStreamError(`watch stream sent a line that is not JSON (${line.length} characters)`);
  }
  const ev = e as { type?: unknown; object?: unknown } | null;
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev))
    throw new WatchStreamError('watch stream sent a JSON value that is not an event object');
  if (typeof ev.type !== 'string' || !WATCH_EVENT_TYPES.has(ev.type))
    throw new WatchStreamError(`watch stream sent an event with an unknown type`);
  if (typeof ev.object !== 'object' || ev.object === null)
    throw new WatchStreamError(`watch stream sent a ${ev.type} event without an object`);
  const meta = (ev.object as { metadata?: unknown }).metadata;
  if (ev.type !== 'ERROR' && (typeof meta !== 'object' || meta === null))
    throw new WatchStreamError(`watch stream sent a ${ev.type} event whose object has no metadata`);
  return ev as WatchEvent<T>;
}

/** Largest watch line kept while waiting for its newline, in characters (objects are at most ~1.5 MB). */
export const MAX_WATCH_LINE_CHARS = 16 * 1024 * 1024;

/** Splits a watch stream's text chunks into complete, non-empty lines. */
export class WatchLineDecoder {
  private buf = '';

  /** @param maxLineChars - the longest partial line buffered before the stream is refused. */
  constructor(private readonly maxLineChars = MAX_WATCH_LINE_CHARS) {}

  /**
   * Adds a chunk and returns the lines it completed (trimmed, empty ones dropped).
   * @throws WatchStreamError when a line grows past `maxLineChars` without a newline.
   */
  push(chunk: string): string[] {
    this.buf += chunk;
    const lines: string[] = [];
    let start = 0;
    let nl: number;
    while ((nl = this.buf.indexOf('\n', start)) >= 0) {
      const line = this.buf.slice(start, nl).trim();
      start = nl + 1;
      if (line) lines.push(line);
    }
    this.buf = this.buf.slice(start);
    if (this.buf.length > this.maxLineChars) {
      this.buf = '';
      throw new WatchStreamError(`watch stream sent a line longer than ${this.maxLineChars} characters`);
    }
    return lines;
  }
}

/** Generic Kubernetes API client: JSON requests and watch streams. */
export class KubeClient {
  /** The API server URL, e.g. `https://127.0.0.1:6443`. */
  readonly server: string;
  private fence?: WriteFence;
  /** The client whose write fence this one obeys (itself, or the client it impersonates from). */
  private fenceHolder: KubeClient = this;
  /** `Impersonate-User` of every request (Kubernetes user impersonation), when set. */
  private impersonateUser?: string;
  /** Mutating requests sent and not yet answered, tracked on the fence holder (see {@link drainWrites}). */
  private readonly writesInFlight = new Set<Promise<unknown>>();

  /** @param kubeConfig - a loaded KubeConfig; its current context's cluster and user are used. */
  constructor(readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  /**
   * A client that sends every request as `user` (the `Impersonate-User` header, as `kubectl --as`):
   * it authenticates with this client's credentials, and the API server then authorizes the request
   * as `user` (for a service account `system:serviceaccount:<ns>:<name>`, with its groups). It obeys
   * this client's write fence, also one installed later.
   * @param user - the user name to act as.
   */
  impersonating(user: string): KubeClient {
    const c = new KubeClient(this.kubeConfig);
    c.fenceHolder = this.fenceHolder;
    c.impersonateUser = user;
    return c;
  }

  /** The user this client acts as (`Impersonate-User`), or undefined for its own identity. */
  get actingAs(): string | undefined {
    return this.impersonateUser;
  }

  /**
   * Sends one request and parses the JSON answer.
   * @param method - HTTP method.
   * @param path - API path starting with `/api` or `/apis`.
   * @throws KubeApiError on a non-2xx answer or a transport failure.
   */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const { res, text } = await this.send(method, path, opts, true);
    if (res.statusCode === undefined || res.statusCode >= 300) throw toApiError(res.statusCode ?? 0, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Opens a watch stream and calls `onEvent` for each event until the server closes the stream, the
   * signal aborts, or an error occurs. Resolves when the stream ends normally (including when the
   * connection closes: the caller resumes from its last resourceVersion).
   *
   * Nothing ever throws out of the stream's handlers: a malformed line (see {@link parseWatchLine}),
   * an oversized line, or an `onEvent` that throws ends the stream and rejects the returned promise,
   * so the caller restarts the watch from its last good resourceVersion and the event is re-delivered.
   * @throws KubeApiError when the watch cannot be opened; WatchStreamError for a malformed stream;
   *   whatever `onEvent` threw.
   */
  async watch<T>(
    path: string,
    query: RequestOptions['query'],
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { res } = await this.send(
      'GET',
      path,
      { query: { ...query, watch: true }, signal, timeoutMs: 0 },
      false,
    );
    if (res.statusCode === undefined || res.statusCode >= 300) {
      const text = await readAll(res);
      throw toApiError(res.statusCode ?? 0, text);
    }
    const decoder = new WatchLineDecoder();
    res.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      res.on('data', (chunk: string) => {
        if (failed) return;
        try {
          for (const line of decoder.push(chunk)) onEvent(parseWatchLine<T>(line));
        } catch (err) {
          failed = true;
          res.destroy();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      res.on('end', resolve);
      res.on('close', resolve);
      res.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    });
  }

  /**
   * Installs (or removes, with undefined) the write fence: every mutating request (POST, PUT, PATCH,
   * DELETE, which includes server-side apply, dry-runs and status patches) first calls
   * `fence.check`, which throws {@link LeadershipLostError} when this process may not write. Reads
   * and watches are never fenced. A client without a fence (no `--leader-elect`) writes freely.
   */
  setWriteFence(fence: WriteFence | undefined): void {
    this.fence = fence;
  }

  /**
   * Resolves once every mutating request already sent through this client (or a client impersonating
   * from it) has been answered, or after `timeoutMs` (ms), whichever comes first. A leader handing its
   * Lease over closes the write fence first, then drains, then releases: no write of the old leader can
   * land after the new one starts (as client-go's ReleaseOnCancel, which waits for the work to stop).
   * @returns the number of writes still unanswered at the timeout (0 when drained).
   */
  async drainWrites(timeoutMs: number): Promise<number> {
    const pending = this.fenceHolder.writesInFlight;
    if (pending.size === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...pending]),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    return pending.size;
  }

  private async send(
    method: string,
    path: string,
    opts: RequestOptions,
    buffer: boolean,
  ): Promise<{ res: http.IncomingMessage; text: string }> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const reqOpts: https.RequestOptions = {
      method,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: {
        Accept: opts.accept ?? 'application/json',
        ...(this.impersonateUser !== undefined ? { 'Impersonate-User': this.impersonateUser } : {}),
        ...(body !== undefined
          ? {
              'Content-Type': opts.contentType ?? 'application/json',
              'Content-Length': Buffer.byteLength(body),
            }
          : {}),
      },
    };
    await this.kubeConfig.applyToHTTPSOptions(reqOpts);
    // Checked last, synchronously before the request is created: no await between the check and the
    // send, so a process paused (SIGSTOP) before this line re-checks its lease when it resumes.
    const fence = this.fenceHolder.fence;
    if (fence && isMutating(method)) fence.check(method, path);
    const mod = url.protocol === 'http:' ? http : https;
    const sent = this.sendRequest(mod, reqOpts, method, path, opts, body, buffer);
    if (!isMutating(method)) return sent;
    const inFlight = this.fenceHolder.writesInFlight;
    const tracked = sent.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    return tracked;
  }

  /** Creates the request and resolves with the response (and its body, when `buffer`). */
  private sendRequest(
    mod: typeof http | typeof https,
    reqOpts: https.RequestOptions,
    method: string,
    path: string,
    opts: RequestOptions,
    body: string | undefined,
    buffer: boolean,
  ): Promise<{ res: http.IncomingMessage; text: string }> {
    return new Promise((resolve, reject) => {
      const req = mod.request(reqOpts, (res) => {
        if (!buffer) return resolve({ res, text: '' });
        readAll(res).then((text) => resolve({ res, text }), reject);
      });
      const timeout = opts.timeoutMs ?? 30_000;
      if (timeout > 0)
        req.setTimeout(timeout, () => req.destroy(new Error(`request timed out after ${timeout} ms`)));
      if (opts.signal) {
        if (opts.signal.aborted) req.destroy(new Error('aborted'));
        opts.signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
      }
      req.on('error', (err) =>
        reject(new KubeApiError(0, 'TransportError', `${method} ${path}: ${err.message}`)),
      );
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function toApiError(status: number, text: string): KubeApiError {
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeApiError(status, s.reason ?? 'Unknown', s.message ?? text);
  } catch {
    return new KubeApiError(status, 'Unknown', text.slice(0, 500) || `HTTP ${status}`);
  }
}
