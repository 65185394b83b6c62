/**
 * Which API failures are worth retrying. A transient failure says nothing about the request: the API
 * server was unreachable, overloaded or restarting (transport errors, 429, 5xx), and the same request
 * may succeed later. Everything else (400 Invalid, 403, 404, 409, 422) is the answer to this request.
 */
import { KubeApiError } from './client';

/** Node's error codes of a connection that could not be made or was cut. */
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/**
 * True when the error is a transient API failure: a transport error (status 0, or a Node socket error
 * code), 429 Too Many Requests, or any 5xx (the API server answers 500/503/504 while etcd is away).
 * @param err - anything thrown by {@link KubeClient.request} or a socket.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.status === 0 || err.status === 429 || err.status >= 500;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && TRANSPORT_CODES.has(code);
}
