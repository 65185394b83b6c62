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
import { KubeConfig } from '@kubernetes/client-node';

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
}

/** One watch event as the API server streams it. */
export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** Generic Kubernetes API client: JSON requests and watch streams. */
export class KubeClient {
  /** The API server URL, e.g. `https://127.0.0.1:6443`. */
  readonly server: string;

  /** @param kubeConfig - a loaded KubeConfig; its current context's cluster and user are used. */
  constructor(readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
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
   * signal aborts, or an error occurs. Resolves when the stream ends normally.
   * @throws KubeApiError when the watch cannot be opened.
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
    let buf = '';
    res.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      });
      res.on('end', resolve);
      res.on('close', resolve);
      res.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    });
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
        Accept: 'application/json',
        ...(body !== undefined
          ? {
              'Content-Type': opts.contentType ?? 'application/json',
              'Content-Length': Buffer.byteLength(body),
            }
          : {}),
      },
    };
    await this.kubeConfig.applyToHTTPSOptions(reqOpts);
    const mod = url.protocol === 'http:' ? http : https;
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

/**
 * Loads a KubeConfig: from `path` when given, else the default chain (KUBECONFIG, ~/.kube/config,
 * in-cluster service account), as kubectl does.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
