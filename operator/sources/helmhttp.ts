/**
 * One bounded HTTP(S) GET for Helm repositories and OCI registries (index.yaml, chart archives, registry
 * tags, manifests and blobs), with the credentials of an Argo CD repository Secret:
 *
 * - Basic auth (`username` / `password`) sent to the URL's own host only: a redirect to another host
 *   (a CDN, object storage behind a registry) drops the `Authorization` header, as Helm does without
 *   `--pass-credentials`;
 * - a TLS client certificate (`tlsClientCertData` / `tlsClientCertKey`), CA certificates for the server
 *   (`argocd-tls-certs-cm`) and `insecure` (skip server verification), as Argo CD's Helm client;
 * - an overall deadline and a body size cap, so a slow or huge answer cannot hold a render.
 *
 * Error messages name the URL without its userinfo and never carry a credential or a body.
 */
import http from 'node:http';
import https from 'node:https';
import { redactURL } from './credentials';

/** Credentials and TLS settings of one Helm repository or OCI registry. */
export interface HelmHttpAuth {
  username?: string;
  password?: string;
  /** PEM client certificate (Argo CD's `tlsClientCertData`). */
  tlsClientCertData?: string;
  /** PEM client key (Argo CD's `tlsClientCertKey`). */
  tlsClientCertKey?: string;
  /** Skip TLS server verification (Argo CD's `insecure`). */
  insecure?: boolean;
  /** PEM CA certificates that sign the server's certificate (Argo CD's `argocd-tls-certs-cm`); default: system roots. */
  caData?: string;
}

/** Options of {@link helmHttpGet}. */
export interface HelmHttpRequest {
  auth?: HelmHttpAuth;
  /** Extra request headers (`Accept`); an `Authorization` here replaces Basic auth. */
  headers?: Record<string, string>;
  /** The whole call including redirects, in ms; default 60 000. */
  timeoutMs?: number;
  /** The largest body accepted, in bytes. */
  maxBytes: number;
  /** `HEAD` instead of `GET`. */
  head?: boolean;
}

/** A complete answer of any status. */
export interface HelmHttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: string;
}

/** A request that failed before an HTTP status came back, or whose body was too large. */
export class HelmHttpError extends Error {
  override name = 'HelmHttpError';
}

const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * GETs a URL within the bounds above, following up to 5 redirects.
 * @param url - http or https.
 * @returns the final status, headers and body (the caller maps non-2xx statuses).
 * @throws HelmHttpError on connection/TLS errors, the deadline, too many redirects or a body above
 *   `maxBytes`; the message names the URL without userinfo.
 */
export async function helmHttpGet(url: string, req: HelmHttpRequest): Promise<HelmHttpAnswer> {
  const deadline = Date.now() + (req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const origin = new URL(url);
  let current = origin;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const sameHost = current.host === origin.host && current.protocol === origin.protocol;
    const answer = await getOnce(current, req, sameHost, deadline - Date.now());
    const location = answer.headers.location;
    if (answer.status >= 300 && answer.status < 400 && location) {
      current = new URL(location, current);
      continue;
    }
    return { ...answer, url: current.href };
  }
  throw new HelmHttpError(`${redactURL(url)}: more than ${MAX_REDIRECTS} redirects`);
}

/** The request headers: Basic auth only when `withAuth` (the repository's own host). */
function requestHeaders(req: HelmHttpRequest, withAuth: boolean): Record<string, string> {
  const headers: Record<string, string> = { 'User-Agent': 'capstan', ...req.headers };
  const auth = req.auth ?? {};
  if (!withAuth) delete headers.Authorization;
  else if (!headers.Authorization && (auth.username || auth.password)) {
    const basic = Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64');
    headers.Authorization = `Basic ${basic}`;
  }
  return headers;
}

/** TLS options of an https request: CA and verification always, the client certificate only when `withAuth`. */
function tlsOptions(url: URL, auth: HelmHttpAuth, withAuth: boolean): https.RequestOptions {
  if (url.protocol !== 'https:') return {};
  return {
    rejectUnauthorized: !auth.insecure,
    ...(auth.caData ? { ca: auth.caData } : {}),
    ...(withAuth && auth.tlsClientCertData ? { cert: auth.tlsClientCertData } : {}),
    ...(withAuth && auth.tlsClientCertKey ? { key: auth.tlsClientCertKey } : {}),
  };
}

/** One request without following redirects; credentials only when `withAuth`. */
function getOnce(
  url: URL,
  req: HelmHttpRequest,
  withAuth: boolean,
  remainingMs: number,
): Promise<Omit<HelmHttpAnswer, 'url'>> {
  const shown = redactURL(url.href);
  if (remainingMs <= 0) return Promise.reject(new HelmHttpError(`${shown}: no answer in time`));
  const headers = requestHeaders(req, withAuth);
  const tls = tlsOptions(url, req.auth ?? {}, withAuth);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(new HelmHttpError(`${shown}: ${message}`));
    };
    const request = mod.request(url, { method: req.head ? 'HEAD' : 'GET', headers, agent: false, ...tls });
    const timer = setTimeout(() => fail('no answer in time'), remainingMs);
    request.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    request.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const tooLarge = `the answer is larger than ${req.maxBytes} bytes`;
      if (Number(res.headers['content-length']) > req.maxBytes) return fail(tooLarge);
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > req.maxBytes) {
          chunks.length = 0;
          return fail(tooLarge);
        }
        chunks.push(c);
      });
      res.on('error', (err) => fail(err.message));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    request.end();
  });
}
