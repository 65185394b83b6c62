/**
 * The HTTP side of the git webhook: `POST /api/webhook` (Argo CD's path) on its own port
 * (`--git-webhook-port`), separate from /metrics so that only it is exposed to the git provider.
 * node's http server is enough here: one route, a body cap, timeouts.
 *
 * Answers: 200 when a push was queued (or an event that is not a push was ignored), 400 for an unknown
 * provider or a payload that is not a push of the shape its event promises, 401 when the provider's
 * shared secret does not match, 405 for another method, 413 past `--git-webhook-max-payload-bytes`,
 * 503 when the secrets cannot be read or too many pushes wait. Logs name the provider and the
 * repository, never a secret, a signature or the payload.
 */
import http from 'node:http';
import client from 'prom-client';
import { registry } from '../common/metrics';
import type { Logger } from '../log';
import { PayloadError, decodeBody, parsePush, type Provider } from './payload';
import { SECRET_KEYS, detectProvider, verify, type WebhookSecrets } from './signature';
import type { PushRefresher } from './refresh';

/** Argo CD's webhook path. */
export const WEBHOOK_PATH = '/api/webhook';

/** Webhook requests by provider and result (`queued`, `ignored`, `unauthorized`, `invalid`, `refused`). */
export const webhookRequests = new client.Counter({
  name: 'capstan_webhook_requests_total',
  help: 'Git webhook requests, by provider and result.',
  labelNames: ['provider', 'result'],
  registers: [registry],
});

/** What the server needs. */
export interface WebhookServerOptions {
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /** Largest request body in bytes. */
  maxPayloadBytes: number;
  /** The providers' shared secrets (may throw: the request is refused with 503). */
  secrets: () => Promise<WebhookSecrets>;
  refresher: Pick<PushRefresher, 'add'>;
  log: Logger;
  /** Deadline of one request, headers to last body byte, in ms (default 30 s). */
  requestTimeoutMs?: number;
}

/** Providers whose requests were accepted unverified once already (logged once per process). */
const unverifiedLogged = new Set<Provider>();

/** An answer: status and a one-line text body. */
interface Answer {
  status: number;
  text: string;
  result: string;
}

const answer = (status: number, text: string, result: string): Answer => ({ status, text, result });

/** The body, or an answer when it exceeds `max` bytes (the rest is not read). */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | Answer> {
  const tooLarge = answer(413, `payload larger than ${max} bytes`, 'invalid');
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.resolve(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve(tooLarge);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Handles one request (everything but the transport); never throws.
 * @returns the status and text to send.
 */
export async function handleWebhook(
  req: http.IncomingMessage,
  opts: WebhookServerOptions,
): Promise<Answer & { provider: string }> {
  const url = (req.url ?? '').split('?')[0];
  if (url !== WEBHOOK_PATH) return { ...answer(404, 'not found', 'invalid'), provider: '' };
  if (req.method !== 'POST') return { ...answer(405, 'only POST', 'invalid'), provider: '' };
  const detected = detectProvider(req.headers);
  if (!detected) return { ...answer(400, 'Unknown webhook event', 'invalid'), provider: 'unknown' };
  const { provider, event } = detected;
  const body = await readBody(req, opts.maxPayloadBytes);
  if (!Buffer.isBuffer(body)) return { ...body, provider };
  let secrets: WebhookSecrets;
  try {
    secrets = await opts.secrets();
  } catch (err) {
    opts.log.warn('Webhook refused: argocd-secret could not be read.', { error: (err as Error).message });
    return { ...answer(503, 'webhook secrets unavailable', 'refused'), provider };
  }
  const verdict = verify(provider, req.headers, body, secrets);
  if (verdict === 'unverified' && !unverifiedLogged.has(provider)) {
    unverifiedLogged.add(provider);
    opts.log.warn(
      `Webhook: argocd-secret holds no ${SECRET_KEYS[provider].join(' / ')}; ${provider} requests are not verified.`,
    );
  }
  if (verdict === 'failed') {
    opts.log.warn(`Webhook refused: the ${provider} request does not carry the shared secret.`);
    return { ...answer(401, `${provider} webhook verification failed`, 'unauthorized'), provider };
  }
  try {
    const push = parsePush(provider, event, decodeBody(body, req.headers['content-type']));
    if (!push) return { ...answer(200, `ignored ${provider} event ${event}`, 'ignored'), provider };
    if (!opts.refresher.add(push)) return { ...answer(503, 'too many pushes waiting', 'refused'), provider };
    return { ...answer(200, 'queued', 'queued'), provider };
  } catch (err) {
    if (err instanceof PayloadError) return { ...answer(400, err.message, 'invalid'), provider };
    throw err;
  }
}

/**
 * Starts the webhook server.
 * @returns the listening server (its `address().port` is the port when 0 was asked).
 * @throws Error when the port cannot be bound.
 */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    handleWebhook(req, opts).then(
      (a) => {
        webhookRequests.inc({ provider: a.provider || 'none', result: a.result });
        res.statusCode = a.status;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        // A refused body may still be arriving: close rather than read it.
        if (a.status === 413) res.setHeader('Connection', 'close');
        res.end(`${a.text}\n`);
      },
      (err: unknown) => {
        opts.log.warn('Webhook request failed.', { error: (err as Error).message });
        res.statusCode = 500;
        res.end();
      },
    );
  });
  const timeout = opts.requestTimeoutMs ?? 30_000;
  server.requestTimeout = timeout;
  server.headersTimeout = Math.min(timeout, 10_000);
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
