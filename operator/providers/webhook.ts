/**
 * The `webhook` provider: one HTTP call per secret, as ESO's `providers/v1/webhook`.
 *
 * ```yaml
 * spec:
 *   provider:
 *     webhook:
 *       url: "https://vault.example/api/secrets/{{ .remoteRef.key }}?version={{ .remoteRef.version }}"
 *       method: GET                      # default GET
 *       headers:
 *         Authorization: "Bearer {{ .auth.token }}"
 *       timeout: 10s                     # Go duration, default 10s
 *       result:
 *         jsonPath: "$.data.value"       # JSONPath selecting the value; unset: the whole body
 *       secrets:
 *         - name: auth                   # exposes every key of the Secret as {{ .auth.<key> }}
 *           secretRef: { name: webhook-credentials }   # must be labelled external-secrets.io/type: webhook
 *       caBundle: <base64 PEM>           # or caProvider, for https with a private CA
 * ```
 *
 * `url`, `headers`, `body` and `result.jsonPath` are Go templates (capstan's one engine, `gotemplate.ts`) over
 * `remoteRef.{key,version,property,namespace}` and the `secrets`; in `url` the remoteRef values are
 * query-escaped, as ESO. Answers: 2xx is the secret; 404 is `NoSecretError`; 408, 429, 5xx, timeouts
 * and connection failures are retryable; redirects and other statuses are not. Response bodies are
 * never logged nor put in messages; messages show the URL's origin only (the path may hold secrets).
 *
 * Beyond ESO, the operator bounds every call (`netpolicy.ts`, flags of the platform admin): the rendered
 * URL's host is resolved and every address checked against `--webhook-deny-cidrs` (link-local and cloud
 * metadata by default) and the optional `--webhook-allow-cidrs`/`--webhook-allow-hosts` before any
 * connection, which is then pinned to the checked address; `timeout` is clamped to
 * `--webhook-max-timeout`; the body is capped at `--provider-max-response-bytes`; `method` is one of
 * {@link WEBHOOK_METHODS}; redirects are never followed.
 */
import net from 'node:net';
import { JSONPath } from 'jsonpath-plus';
import { parseGoDuration } from '../common/goduration';
import {
  compileGoTemplate,
  GoTemplateError,
  goQueryEscape,
  type GoTemplate,
  type TemplateData,
} from './gotemplate';
import { boundedRequest, type BoundedAnswer } from './httpcall';
import { goFormatFloat, goJson } from './json';
import {
  checkDestination,
  DEFAULT_PROVIDER_LIMITS,
  pinnedLookup,
  systemResolver,
  type ProviderLimits,
} from './netpolicy';
import type { CAProvider, SecretKeySelector } from './storerefs';
import {
  checkLabel,
  fetchCA,
  isObject,
  readStoreSecret,
  refNamespace,
  secretData,
  validateCABundle,
  validateCAProvider,
  validateSecretSelector,
} from './storerefs';
import type {
  FindRef,
  Provider,
  ProviderContext,
  RemoteRef,
  SecretsClient,
  StoreIdentity,
  ValidationResult,
} from './types';
import { InvalidStoreError, NoSecretError, ProviderError } from './types';

/** `spec.provider.webhook` (ESO `WebhookProvider`; `auth.ntlm` is not supported). */
export interface WebhookProviderConfig {
  /** url - Go template of the URL to call. */
  url: string;
  /** method - HTTP method, default GET. */
  method?: string;
  /** headers - Go templates of header values. */
  headers?: Record<string, string>;
  /** body - Go template of the request body. */
  body?: string;
  /** timeout - Go duration of the whole call (connect to last byte), default 10s. */
  timeout?: string;
  /** result.jsonPath - JSONPath (templated) selecting the value in a JSON response. */
  result?: { jsonPath?: string };
  /** secrets - Secrets whose keys the templates may use, under `name`. */
  secrets?: Array<{ name: string; secretRef: SecretKeySelector }>;
  /** caBundle - base64 PEM CA certificates for https. */
  caBundle?: string;
  /** caProvider - a Secret or ConfigMap key holding the CA certificates. */
  caProvider?: CAProvider;
}

/** The label a Secret must carry to be used by a webhook store (ESO's `EnforceLabels`). */
export const WEBHOOK_SECRET_LABEL: [string, string] = ['external-secrets.io/type', 'webhook'];
/** Default `timeout`: ESO has none (Go waits forever); capstan bounds every call. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/**
 * The methods a webhook store may use. ESO documents `method` as "defaults to GET" and shows GET and POST;
 * reading a secret never needs DELETE, and CONNECT/TRACE/OPTIONS/HEAD return no secret, so capstan also
 * accepts only PUT and PATCH beyond them (APIs that read with a request body).
 */
export const WEBHOOK_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH'];

const FIELD = 'spec.provider.webhook';
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Templates {
  url: GoTemplate;
  body?: GoTemplate;
  headers: Array<[string, GoTemplate]>;
  jsonPath?: GoTemplate;
}

/** Compiles the templated fields, collecting problems. */
function compileTemplates(cfg: Record<string, unknown>, problems: string[]): Templates | undefined {
  const compile = (text: unknown, field: string): GoTemplate | undefined => {
    if (typeof text !== 'string') {
      problems.push(`${FIELD}.${field} must be a string`);
      return undefined;
    }
    try {
      return compileGoTemplate(text);
    } catch (err) {
      problems.push(
        `${FIELD}.${field}: ${err instanceof GoTemplateError ? err.message : 'invalid template'}`,
      );
      return undefined;
    }
  };
  const url = compile(cfg.url, 'url');
  const body = cfg.body === undefined ? undefined : compile(cfg.body, 'body');
  const headers: Array<[string, GoTemplate]> = [];
  if (cfg.headers !== undefined && !isObject(cfg.headers))
    problems.push(`${FIELD}.headers must be a map of strings`);
  for (const [k, v] of Object.entries(isObject(cfg.headers) ? cfg.headers : {})) {
    const t = compile(v, `headers.${k}`);
    if (t) headers.push([k, t]);
  }
  const result = isObject(cfg.result) ? cfg.result : {};
  const jsonPath = result.jsonPath === undefined ? undefined : compile(result.jsonPath, 'result.jsonPath');
  return url ? { url, body, headers, jsonPath } : undefined;
}

function validateSecrets(
  secrets: unknown,
  store: StoreIdentity | undefined,
): { names: Set<string>; problems: string[] } {
  const names = new Set<string>();
  if (secrets === undefined) return { names, problems: [] };
  if (!Array.isArray(secrets)) return { names, problems: [`${FIELD}.secrets must be a list`] };
  const problems: string[] = [];
  secrets.forEach((s: unknown, i) => {
    const f = `${FIELD}.secrets[${i}]`;
    if (!isObject(s)) return problems.push(`${f} must be an object`);
    if (typeof s.name !== 'string' || !IDENT.test(s.name) || s.name === 'remoteRef') {
      problems.push(`${f}.name must be an identifier (letters, digits, _) other than remoteRef`);
    } else if (names.has(s.name)) problems.push(`${f}.name "${s.name}" is used twice`);
    else names.add(s.name);
    problems.push(...validateSecretSelector(s.secretRef, `${f}.secretRef`, store, { keyRequired: false }));
  });
  return { names, problems };
}

/** Problems of the plain (non-template) fields. */
function validatePlainFields(cfg: Record<string, unknown>, store: StoreIdentity | undefined): string[] {
  const problems: string[] = [];
  if (
    cfg.method !== undefined &&
    (typeof cfg.method !== 'string' || !WEBHOOK_METHODS.includes(cfg.method.toUpperCase()))
  ) {
    problems.push(`${FIELD}.method must be one of ${WEBHOOK_METHODS.join(', ')}`);
  }
  if (cfg.timeout !== undefined) {
    const ms = typeof cfg.timeout === 'string' ? parseGoDuration(cfg.timeout) : undefined;
    if (ms === undefined || ms <= 0)
      problems.push(`${FIELD}.timeout must be a positive Go duration such as 10s`);
  }
  if (cfg.auth !== undefined) problems.push(`${FIELD}.auth (NTLM) is not supported by capstan; use headers`);
  if (typeof cfg.url === 'string' && !/^(https?:\/\/|\{\{)/i.test(cfg.url))
    problems.push(`${FIELD}.url must be an http(s) URL`);
  const jp = isObject(cfg.result) ? cfg.result.jsonPath : undefined;
  if (typeof jp === 'string' && /\?\(|\(@|\[\(/.test(jp)) {
    problems.push(`${FIELD}.result.jsonPath: filter and script expressions are not supported by capstan`);
  }
  problems.push(...validateCABundle(cfg.caBundle, `${FIELD}.caBundle`));
  problems.push(...validateCAProvider(cfg.caProvider, `${FIELD}.caProvider`, store));
  return problems;
}

/**
 * Checks `spec.provider.webhook`: templates parse (in capstan's subset) and use only `remoteRef` and the
 * declared `secrets`; timeout, method, secrets' namespaces (required in a ClusterSecretStore) and CA.
 * @returns problems naming fields.
 */
export function validateWebhookStore(config: unknown, store?: StoreIdentity): string[] {
  if (!isObject(config)) return [`${FIELD} must be an object`];
  const problems: string[] = [];
  if (typeof config.url !== 'string' || !config.url) problems.push(`${FIELD}.url must be set`);
  const templates = compileTemplates(config, problems);
  const { names, problems: secretProblems } = validateSecrets(config.secrets, store);
  problems.push(...secretProblems, ...validatePlainFields(config, store));
  if (templates) {
    const all = [templates.url, templates.body, templates.jsonPath, ...templates.headers.map(([, t]) => t)];
    const unknown = new Set<string>();
    for (const t of all)
      for (const r of t?.roots ?? []) if (r !== 'remoteRef' && !names.has(r)) unknown.add(r);
    for (const r of unknown)
      problems.push(`${FIELD}: templates use .${r}, which is neither remoteRef nor a secrets[].name`);
  }
  return problems;
}

/**
 * The deadline of one webhook call: the store's `timeout` (default 10s), clamped to the operator's
 * `--webhook-max-timeout`. Clamped rather than refused, so that a store valid for ESO keeps working
 * (with the bound held) instead of failing on a migration for a reason unrelated to its function.
 * @param config - the store's webhook block (`timeout` already validated).
 * @param limits - the operator's limits.
 * @returns `ms` to wait, and `asked` (ms) when the store asked for more than the maximum.
 */
export function webhookTimeout(
  config: Pick<WebhookProviderConfig, 'timeout'>,
  limits: Pick<ProviderLimits, 'webhookMaxTimeoutMs'>,
): { ms: number; asked?: number } {
  const asked = config.timeout ? parseGoDuration(config.timeout) : undefined;
  const wanted = asked ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  if (wanted <= limits.webhookMaxTimeoutMs) return { ms: wanted };
  // an unset timeout under a maximum below the 10s default is not the store's doing: no note then
  return asked === undefined ? { ms: limits.webhookMaxTimeoutMs } : { ms: limits.webhookMaxTimeoutMs, asked };
}

/** The error for a non-2xx answer (ESO: 404 is NoSecretErr, everything else an error). */
function statusError(status: number, key: string, what: string): Error {
  if (status === 404) return new NoSecretError(`key "${key}" not found: ${what} answered 404`);
  const retryable = status === 408 || status === 429 || status >= 500;
  const hint = status >= 300 && status < 400 ? ' (capstan does not follow redirects)' : '';
  return new ProviderError(`${what} answered ${status}${hint}`, { retryable });
}

/** Go's `extractSecretData` of ESO's GetSecret: one value out of a JSONPath result. */
function scalarBytes(v: unknown, what: string): Buffer {
  if (typeof v === 'string') return Buffer.from(v);
  if (v === null || v === undefined) return Buffer.alloc(0);
  if (typeof v === 'boolean') return Buffer.from(String(v));
  if (typeof v === 'number') return Buffer.from(goFormatFloat(v));
  if (Array.isArray(v)) {
    if (v.length === 0) throw new ProviderError(`${what}: result.jsonPath matched an empty list`);
    return scalarBytes(v[0], what);
  }
  return Buffer.from(goJson(v));
}

/** ESO's `GetByteValue` for one member of an extracted object. */
function memberBytes(v: unknown): Buffer {
  if (typeof v === 'string') return Buffer.from(v);
  if (v === null || v === undefined) return Buffer.alloc(0);
  if (typeof v === 'number') return Buffer.from(goFormatFloat(v));
  if (typeof v === 'boolean') return Buffer.from(String(v));
  return Buffer.from(goJson(v));
}

/** Reads a webhook store: one HTTP call per getSecret/getSecretMap. */
export class WebhookSecretsClient implements SecretsClient {
  private secrets?: Promise<TemplateData>;
  private readonly what: string;
  private readonly limits: ProviderLimits;

  /**
   * @param ctx - the provider context (its `kube` reads the `secrets[]`).
   * @param config - the validated `spec.provider.webhook`.
   * @param templates - its compiled templates.
   * @param ca - CA certificates for https, if any.
   */
  constructor(
    private readonly ctx: ProviderContext,
    private readonly config: WebhookProviderConfig,
    private readonly templates: Templates,
    private readonly ca: Buffer | undefined,
  ) {
    this.what = `the webhook of store "${ctx.store.name}"`;
    this.limits = ctx.limits ?? DEFAULT_PROVIDER_LIMITS;
  }

  /** The `secrets[]` data, read once per client with the operator's client. */
  private loadSecrets(): Promise<TemplateData> {
    this.secrets ??= (async () => {
      const out: TemplateData = {};
      for (const s of this.config.secrets ?? []) {
        const ns = refNamespace(this.ctx, s.secretRef.namespace, `secrets[${s.name}].secretRef`);
        const secret = await readStoreSecret(this.ctx, ns, s.secretRef.name);
        checkLabel(secret, WEBHOOK_SECRET_LABEL, `Secret "${ns}/${s.secretRef.name}"`);
        out[s.name] = Object.fromEntries(
          Object.entries(secretData(secret)).map(([k, v]) => [k, v.toString('utf8')]),
        );
      }
      return out;
    })();
    return this.secrets;
  }

  /** Template data: `remoteRef` (query-escaped for the URL, as ESO) and the secrets. */
  private async data(ref: RemoteRef, escape: boolean): Promise<TemplateData> {
    const e = (s: string | undefined): string => (escape ? goQueryEscape(s ?? '') : (s ?? ''));
    const remoteRef = {
      key: e(ref.key),
      version: e(ref.version),
      property: e(ref.property),
      namespace: this.ctx.namespace,
    };
    return { ...(await this.loadSecrets()), remoteRef };
  }

  private render(t: GoTemplate, data: TemplateData, field: string): string {
    try {
      return t.render(data);
    } catch (err) {
      const msg = err instanceof GoTemplateError ? err.message : 'failed';
      throw new ProviderError(`store "${this.ctx.store.name}": ${FIELD}.${field}: ${msg}`);
    }
  }

  private renderUrl(data: TemplateData): URL {
    const text = this.render(this.templates.url, data, 'url');
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ProviderError(`store "${this.ctx.store.name}": ${FIELD}.url does not render to a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ProviderError(`store "${this.ctx.store.name}": ${FIELD}.url must render to an http(s) URL`);
    }
    return url;
  }

  /** Calls the webhook for `ref` and returns the 2xx body. */
  private async fetch(ref: RemoteRef): Promise<Buffer> {
    const raw = await this.data(ref, false);
    const url = this.renderUrl(await this.data(ref, true));
    const headers: Record<string, string> = {};
    for (const [k, t] of this.templates.headers) headers[k] = this.render(t, raw, `headers.${k}`);
    const body = this.templates.body ? this.render(this.templates.body, raw, 'body') : undefined;
    const what = `${this.what} (${url.origin})`;
    const answer: BoundedAnswer = await boundedRequest({
      url,
      method: (this.config.method ?? 'GET').toUpperCase(),
      headers,
      body: body === '' ? undefined : body,
      tls: this.ca ? { ca: this.ca } : undefined,
      deadlineMs: webhookTimeout(this.config, this.limits).ms,
      maxBytes: this.limits.maxResponseBytes,
      sizeFlag: '--provider-max-response-bytes',
      policy: this.limits.network,
      resolver: this.limits.resolver,
      what,
    });
    if (answer.status < 200 || answer.status >= 300) throw statusError(answer.status, ref.key, what);
    return answer.body;
  }

  private parseJson(body: Buffer): unknown {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new ProviderError(`${this.what}: the response is not JSON, so result.jsonPath cannot apply`);
    }
  }

  /** Applies JSONPath (script evaluation disabled); one match is the value itself, several a list. */
  private select(doc: unknown, path: string): unknown {
    let matches: unknown[];
    try {
      matches = JSONPath({ path, json: doc as object, wrap: true, eval: false }) as unknown[];
    } catch {
      throw new ProviderError(
        `store "${this.ctx.store.name}": result.jsonPath "${path}" is not a valid JSONPath`,
      );
    }
    if (!matches?.length)
      throw new ProviderError(`${this.what}: result.jsonPath "${path}" matched nothing in the response`);
    return matches.length === 1 ? matches[0] : matches;
  }

  private jsonPathFor(raw: TemplateData): string {
    return this.templates.jsonPath ? this.render(this.templates.jsonPath, raw, 'result.jsonPath') : '';
  }

  /**
   * ESO `GetSecret`: the body, or the JSONPath selection (strings as text, numbers in Go's shortest
   * form, a list's first element, objects as JSON).
   * @throws NoSecretError on 404; ProviderError otherwise.
   */
  async getSecret(ref: RemoteRef): Promise<Buffer> {
    const body = await this.fetch(ref);
    const path = this.jsonPathFor(await this.data(ref, false));
    if (!path) return body;
    return scalarBytes(this.select(this.parseJson(body), path), this.what);
  }

  /**
   * ESO `GetSecretMap`: the (JSONPath-selected) JSON object's members; a selected string is parsed as
   * JSON first. Strings stay text, other values become JSON, `null` empty.
   * @throws NoSecretError on 404; ProviderError when the selection is not a JSON object.
   */
  async getSecretMap(ref: RemoteRef): Promise<Record<string, Buffer>> {
    const body = await this.fetch(ref);
    const path = this.jsonPathFor(await this.data(ref, false));
    let value = this.parseJson(body);
    if (path) value = this.select(value, path);
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value);
      } catch {
        throw new ProviderError(
          `${this.what}: the selected value is not a JSON object, so it cannot be extracted`,
        );
      }
    }
    if (!isObject(value))
      throw new ProviderError(
        `${this.what}: the selected value is not a JSON object, so it cannot be extracted`,
      );
    const out: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(value)) out[k] = memberBytes(v);
    return out;
  }

  /** Not supported by the webhook provider (as ESO). @throws ProviderError (non-retryable). */
  async getAllSecrets(_find: FindRef): Promise<Record<string, Buffer>> {
    throw new ProviderError(
      `store "${this.ctx.store.name}": the webhook provider does not support dataFrom.find`,
    );
  }

  /**
   * ESO `Validate`: a TCP connection to the URL's host and port within 15s (or the call deadline, if
   * shorter), made only after the destination passed the network policy and pinned to the checked
   * address. A denied destination gives the policy's error without any connection attempt, so the
   * answer does not tell whether something listens there. A clamped `timeout` is noted in the message.
   */
  async validate(): Promise<ValidationResult> {
    let url: URL;
    try {
      url = this.renderUrl(await this.data({ key: '' }, true));
    } catch (err) {
      return { result: 'Error', message: err instanceof Error ? err.message : 'the url cannot be rendered' };
    }
    const what = `${this.what} (${url.origin})`;
    let target;
    try {
      target = await checkDestination(url, this.limits.network, this.limits.resolver ?? systemResolver, what);
    } catch (err) {
      return { result: 'Error', message: (err as Error).message };
    }
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const timeout = Math.min(15_000, webhookTimeout(this.config, this.limits).ms);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port,
        lookup: pinnedLookup(target),
        timeout,
      });
      const done = (v: boolean): void => {
        sock.destroy();
        resolve(v);
      };
      sock.once('connect', () => done(true));
      sock.once('timeout', () => done(false));
      sock.once('error', () => done(false));
    });
    if (!ok) return { result: 'Error', message: `cannot connect to ${url.origin}` };
    const { ms, asked } = webhookTimeout(this.config, this.limits);
    if (asked === undefined) return { result: 'Ready' };
    return {
      result: 'Ready',
      message: `${FIELD}.timeout ${asked / 1000}s is above the operator's maximum (--webhook-max-timeout); capstan waits at most ${ms / 1000}s`,
    };
  }

  /** Forgets the secrets read for templates. */
  async close(): Promise<void> {
    this.secrets = undefined;
  }
}

/** The `webhook` provider (ESO `providers/v1/webhook`), read-only in capstan. */
export const webhookProvider: Provider = {
  name: 'webhook',
  capabilities: 'ReadOnly',
  validateStore: validateWebhookStore,
  async newClient(ctx: ProviderContext): Promise<SecretsClient> {
    const config = (ctx.store.spec as { provider?: { webhook?: unknown } } | undefined)?.provider?.webhook;
    const problems = validateWebhookStore(config, ctx.store);
    if (problems.length) throw new InvalidStoreError(problems);
    const cfg = config as WebhookProviderConfig;
    const templates = compileTemplates(cfg as unknown as Record<string, unknown>, []) as Templates;
    const ca = await fetchCA(ctx, cfg.caBundle, cfg.caProvider, FIELD);
    return new WebhookSecretsClient(ctx, cfg, templates, ca);
  },
};
