/**
 * One bounded HTTP(S) call on a tenant's behalf, shared by the webhook and kubernetes providers:
 *
 * - an overall deadline from the start (DNS, connect, TLS, headers, the last body byte), not an idle
 *   timeout, so that a server dripping one byte a second cannot hold a worker past it;
 * - a response size cap: a larger `Content-Length` is refused before reading, and a body that grows past
 *   the cap is cut off at once (the chunks read so far are dropped), so memory stays below the cap;
 * - with a {@link NetworkPolicy}: the destination is resolved and checked first, and the connection is
 *   pinned to the checked address;
 * - redirects are never followed (Node's http does not follow them; the caller sees the 3xx status);
 * - a fresh connection per call (`agent: false`), so no pooled socket of one store serves another.
 *
 * Errors are {@link ProviderError}s whose messages name the call (`what`) and never carry the body.
 */
import http from 'node:http';
import https from 'node:https';
import {
  checkDestination,
  pinnedLookup,
  systemResolver,
  type NetworkPolicy,
  type Resolver,
} from './netpolicy';
import { ProviderError } from './types';

/** TLS settings of an https call. */
export interface TlsOptions {
  /** ca - PEM CA certificates; unset: the system roots. */
  ca?: Buffer | string;
  /** cert - PEM client certificate. */
  cert?: Buffer;
  /** key - PEM client key. */
  key?: Buffer;
  /** rejectUnauthorized - false only when a kubeconfig asks for insecure-skip-tls-verify. */
  rejectUnauthorized?: boolean;
  /** servername - SNI and verification name override. */
  servername?: string;
}

/** Options of {@link boundedRequest}. */
export interface BoundedRequest {
  /** url - http or https. */
  url: URL;
  /** method - HTTP method. */
  method: string;
  /** headers - request headers (Content-Length is set from the body). */
  headers?: Record<string, string>;
  /** body - request body, if any. */
  body?: string;
  /** tls - for https. */
  tls?: TlsOptions;
  /** deadlineMs - the whole call, from DNS to the last byte, in ms. */
  deadlineMs: number;
  /** maxBytes - the largest response body accepted, in bytes. */
  maxBytes: number;
  /** policy - when set, the destination is checked and pinned; unset for the operator's own cluster. */
  policy?: NetworkPolicy;
  /** resolver - DNS for the policy check (default: the system resolver). */
  resolver?: Resolver;
  /** what - names the call in messages, e.g. `the webhook of store "x" (https://h)`; never a path. */
  what: string;
  /** sizeFlag - the flag that raises `maxBytes`, named in the error. */
  sizeFlag?: string;
}

/** A complete answer. */
export interface BoundedAnswer {
  /** status - the HTTP status. */
  status: number;
  /** headers - the response headers. */
  headers: http.IncomingHttpHeaders;
  /** body - the whole body, at most `maxBytes`. */
  body: Buffer;
}

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(3))}s`;

/** Races `p` against the remaining time; the loser is ignored. */
function within<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, ms));
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * Sends one request within the bounds above.
 * @returns the status, headers and body (any status; the caller maps non-2xx).
 * @throws ProviderError: retryable for the deadline, the size cap, DNS and transport errors (the server
 *   may behave later); non-retryable when the network policy refuses the destination or the request
 *   cannot be built (a bad method or header).
 */
export async function boundedRequest(o: BoundedRequest): Promise<BoundedAnswer> {
  const started = Date.now();
  const late = (): ProviderError =>
    new ProviderError(`${o.what}: no answer within ${seconds(o.deadlineMs)}`, { retryable: true });
  const target = o.policy
    ? await within(
        checkDestination(o.url, o.policy, o.resolver ?? systemResolver, o.what),
        o.deadlineMs,
        late,
      )
    : undefined;
  const remaining = o.deadlineMs - (Date.now() - started);
  if (remaining <= 0) throw late();
  const mod = o.url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...o.headers };
  if (o.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(o.body));
  const tooLarge = (): ProviderError =>
    new ProviderError(
      `${o.what}: the response is larger than ${o.maxBytes} bytes${o.sizeFlag ? ` (${o.sizeFlag})` : ''}`,
      { retryable: true },
    );
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = mod.request(o.url, {
        method: o.method,
        headers,
        agent: false,
        ...(target ? { lookup: pinnedLookup(target) } : {}),
        ...(o.url.protocol === 'https:' ? o.tls : {}),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'invalid request';
      return reject(
        new ProviderError(`${o.what}: the request cannot be sent (${code}); check method and headers`),
      );
    }
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (err instanceof ProviderError) return reject(err);
      const code = (err as NodeJS.ErrnoException).code ?? err.name;
      reject(new ProviderError(`${o.what}: ${code}`, { retryable: true, cause: err }));
    };
    const timer = setTimeout(() => fail(late()), remaining);
    req.on('error', fail);
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > o.maxBytes) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (settled) return;
        size += c.length;
        if (size > o.maxBytes) {
          chunks.length = 0; // drop what was read: nothing past the cap is kept
          res.destroy();
          return fail(tooLarge());
        }
        chunks.push(c);
      });
      res.on('error', fail);
      // a server that closes mid-body leaves `complete` false; 'close' also follows a normal 'end'
      res.on('close', () => {
        if (!res.complete)
          fail(new ProviderError(`${o.what}: the connection closed mid-answer`, { retryable: true }));
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.end(o.body);
  });
}
