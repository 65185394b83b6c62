/**
 * Validation of capstan's custom resources before any operator acts on them: the same openAPIV3Schema the CRD
 * carries (generated/schemas.ts, compiled once per kind with ajv), plus the rules that a schema cannot express:
 * those of Argo CD's Application and AppProject validation, and those of the External Secrets Operator's admission
 * webhook for ExternalSecret, SecretStore and ClusterSecretStore. A failure becomes a clear condition (for example
 * InvalidSpecError, or InvalidProviderConfig for a store) instead of a half-applied sync.
 *
 * Unknown fields are accepted, not reported: the API server prunes fields a structural schema does not declare
 * (it rejects them only when a client asks for strict field validation), so an object read from the cluster
 * never has any, and rejecting them here would make capstan stricter than the cluster that stored the object.
 */
import { parseGoDuration } from '../common/goduration';

/** Re-exported: callers used it from here first. */
export { parseGoDuration };
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { schemas } from '../../generated/schemas';

/** The outcome of validating one resource. `message` joins `errors` into one line for a condition or event. */
export type ValidationResult = { valid: true } | { valid: false; errors: string[]; message: string };

type Obj = Record<string, unknown>;

/** The top-level parts of a resource that capstan validates; metadata and status are the API server's. */
const VALIDATED = ['spec', 'operation'];

/**
 * Kubernetes' structural-schema extensions. ajv must know them (strict mode rejects unknown keywords, which
 * catches typos in schemas); they constrain nothing ajv checks: int-or-string comes with an anyOf that does.
 */
const KUBERNETES_KEYWORDS = [
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
];

/** OpenAPI formats the API server knows; like the server for int32/int64, capstan does not check them. */
const FORMATS = ['int32', 'int64', 'date-time', 'date', 'byte', 'duration', 'uri', 'email', 'hostname'];

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function createAjv(): Ajv {
  // verbose: errors carry their parent schema, needed to word int-or-string errors as one message.
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, verbose: true });
  for (const keyword of KUBERNETES_KEYWORDS) ajv.addKeyword(keyword);
  for (const format of FORMATS) ajv.addFormat(format, true);
  return ajv;
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

/** The part of a kind's schema capstan validates: spec and operation, required as the CRD requires them. */
function subjectSchema(root: Obj): Obj {
  const props = isObject(root.properties) ? root.properties : {};
  const properties = Object.fromEntries(Object.entries(props).filter(([k]) => VALIDATED.includes(k)));
  const required = Array.isArray(root.required)
    ? root.required.filter((k) => VALIDATED.includes(String(k)))
    : [];
  return { type: 'object', properties, required };
}

/** The compiled validator of a kind, built on first use; undefined for a kind without a schema. */
function validatorFor(kind: string): ValidateFunction | undefined {
  const cached = validators.get(kind);
  if (cached) return cached;
  if (!Object.prototype.hasOwnProperty.call(schemas, kind)) return undefined;
  ajv ??= createAjv();
  const validate = ajv.compile(subjectSchema(schemas[kind as keyof typeof schemas]));
  validators.set(kind, validate);
  return validate;
}

/**
 * Turns an ajv instance path (a JSON pointer) into a Kubernetes field path:
 * `/spec/sources/0/repoURL` -> `spec.sources[0].repoURL`, a map key with dots -> `labels[app.kubernetes.io/x]`.
 */
export function fieldPath(pointer: string, child?: string): string {
  const segments = pointer === '' ? [] : pointer.slice(1).split('/');
  if (child !== undefined) segments.push(child);
  return segments
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, s) => {
      if (/^\d+$/.test(s) || !/^[A-Za-z_$][\w$-]*$/.test(s)) return `${acc}[${s}]`;
      return acc ? `${acc}.${s}` : s;
    }, '');
}

/** Words one ajv error as `path: problem`; undefined for errors another error already explains. */
export function formatError(e: ErrorObject): string | undefined {
  const at = fieldPath(e.instancePath) || '<root>';
  switch (e.keyword) {
    case 'required':
      return `${fieldPath(e.instancePath, String(e.params.missingProperty))}: Required value`;
    case 'type':
      // A failed branch of an anyOf is explained by the anyOf error itself.
      return /\/anyOf\/\d+\/type$/.test(e.schemaPath) ? undefined : `${at}: must be ${String(e.params.type)}`;
    case 'anyOf':
      return isObject(e.parentSchema) && e.parentSchema['x-kubernetes-int-or-string'] === true
        ? `${at}: must be integer or string`
        : `${at}: ${e.message ?? 'is invalid'}`;
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return `${at}: Unsupported value: ${JSON.stringify(e.data)}: supported values: ${allowed}`;
    }
    default:
      return `${at}: ${e.message ?? 'is invalid'}`;
  }
}

function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  const lines = (errors ?? []).map(formatError).filter((l): l is string => l !== undefined);
  return [...new Set(lines)];
}

function nonEmpty(v: unknown): boolean {
  return typeof v === 'string' && v !== '';
}

/** The rendering options set on a source; Argo CD allows at most one ("multiple application sources defined"). */
const SOURCE_TYPES = ['directory', 'helm', 'kustomize', 'plugin'];

function sourceErrors(source: unknown, at: string): string[] {
  if (!isObject(source)) return [];
  const types = SOURCE_TYPES.filter((t) => source[t] !== undefined && source[t] !== null);
  return types.length > 1 ? [`${at}: multiple source types set (${types.join(', ')}); set at most one`] : [];
}

function destinationErrors(destination: unknown): string[] {
  if (!isObject(destination)) return [];
  const server = nonEmpty(destination.server);
  const name = nonEmpty(destination.name);
  if (!server && !name) return ['spec.destination: required field "server" or "name" is missing'];
  // As Argo CD: "application destination can't have both name and server defined".
  if (server && name) return ['spec.destination: set "server" or "name", not both'];
  return [];
}

/**
 * Application rules that the schema cannot express, as Argo CD's Application validation applies them:
 * exactly one of `spec.source` / `spec.sources` (an empty `sources` list counts as absent), at most one of
 * directory/helm/kustomize/plugin per source, and a destination with `server` or `name` but not both.
 * Pure and defensive: it never throws on a malformed spec (the schema reports that).
 * @param spec - the Application's `spec`, unvalidated.
 * @returns errors as `field.path: problem`; empty when the spec is fine.
 */
export function applicationSpecErrors(spec: unknown): string[] {
  if (!isObject(spec)) return [];
  const hasSource = spec.source !== undefined && spec.source !== null;
  const sources = Array.isArray(spec.sources) ? spec.sources : [];
  const errors: string[] = [];
  if (hasSource && sources.length > 0) errors.push('spec: set "source" or "sources", not both');
  // As Argo CD, spec.sourceHydrator stands in for a source (capstan reports it unsupported elsewhere).
  const hasHydrator = spec.sourceHydrator !== undefined && spec.sourceHydrator !== null;
  if (!hasSource && sources.length === 0 && !hasHydrator) {
    errors.push('spec: one of "source" or "sources" is required');
  }
  errors.push(...sourceErrors(spec.source, 'spec.source'));
  sources.forEach((s, i) => errors.push(...sourceErrors(s, `spec.sources[${i}]`)));
  errors.push(...destinationErrors(spec.destination));
  return errors;
}

/** A Go duration (time.ParseDuration), as Argo CD parses sync window durations: 1h, 30m, 1h30m, 90s. */
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

function syncWindowErrors(w: unknown, at: string): string[] {
  if (!isObject(w)) return [];
  const errors: string[] = [];
  if (w.kind !== 'allow' && w.kind !== 'deny') errors.push(`${at}.kind: must be "allow" or "deny"`);
  if (!nonEmpty(w.schedule)) errors.push(`${at}.schedule: Required value`);
  if (!(typeof w.duration === 'string' && GO_DURATION.test(w.duration))) {
    errors.push(`${at}.duration: must be a duration such as 1h or 30m`);
  }
  return errors;
}

/**
 * AppProject rules that the schema cannot express, as Argo CD's project validation applies them to sync
 * windows: kind `allow` or `deny`, a schedule, and a duration Go can parse. (Cron syntax is left to the sync
 * window evaluator, which parses the schedule anyway.)
 * @param spec - the AppProject's `spec`, unvalidated.
 * @returns errors as `field.path: problem`; empty when the spec is fine.
 */
export function appProjectSpecErrors(spec: unknown): string[] {
  if (!isObject(spec) || !Array.isArray(spec.syncWindows)) return [];
  return spec.syncWindows.flatMap((w, i) => syncWindowErrors(w, `spec.syncWindows[${i}]`));
}

// ----------------------------------------------------------------------------------------------------------------
// External Secrets Operator kinds (external-secrets.io/v1): ESO's admission webhook rules and the "exactly one of"
// constraints of its CRDs, with ESO's wording where ESO has one.

/** Translates the group syntax at `source[i]` (just after `(?`) for {@link goRegExpError}; throws as Go does. */
function goGroup(rest: string): { js: string; length: number } {
  const named = /^P?<([A-Za-z_]\w*)>/.exec(rest);
  if (named) return { js: `(?<${named[1]}>`, length: named[0].length };
  const nonCapturing = /^[imsU-]*:/.exec(rest);
  if (nonCapturing) return { js: '(?:', length: nonCapturing[0].length };
  const setFlags = /^[imsU-]+\)/.exec(rest);
  if (setFlags) return { js: '', length: setFlags[0].length };
  throw new Error(`invalid or unsupported Perl syntax: \`(?${rest.slice(0, 1)}\``);
}

/** Rewrites Go RE2 syntax that JavaScript lacks (flag groups, `(?P<name>`) and refuses what RE2 does not have. */
function goToJsPattern(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined) throw new Error('trailing backslash at end of expression');
      if (!inClass && /[1-9]/.test(next)) throw new Error(`invalid escape sequence: \`\\${next}\``);
      out += c + next;
      i++;
    } else if (inClass) {
      inClass = c !== ']';
      out += c;
    } else if (c === '[') {
      // A `]` right after `[` or `[^` is a literal in RE2 but ends an empty class in JavaScript.
      const negated = source[i + 1] === '^';
      const literalBracket = source[i + (negated ? 2 : 1)] === ']';
      out += `[${negated ? '^' : ''}${literalBracket ? '\\]' : ''}`;
      i += (negated ? 1 : 0) + (literalBracket ? 1 : 0);
      inClass = true;
    } else if (c === '(' && source[i + 1] === '?') {
      const group = goGroup(source.slice(i + 2));
      out += group.js;
      i += 1 + group.length;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Checks that a regular expression in Go RE2 syntax compiles, as ESO compiles rewrite sources, find name
 * patterns and ClusterSecretStore namespace regexes. An approximation through JavaScript's RegExp: Go-only syntax
 * (`(?i)`, `(?P<name>...)`) is accepted, constructs RE2 lacks (backreferences, lookaround) are refused, and
 * structural errors (unbalanced parentheses, nothing to repeat) are found; it is lenient about escapes JavaScript
 * takes literally.
 * @param source - the regular expression.
 * @returns why it does not compile, or undefined when it does.
 */
export function goRegExpError(source: string): string | undefined {
  try {
    new RegExp(goToJsPattern(source));
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
  }
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function durationErrors(value: unknown, at: string): string[] {
  if (typeof value !== 'string' || parseGoDuration(value) !== undefined) return [];
  return [`${at}: Invalid value: ${JSON.stringify(value)}: must be a Go duration such as 1h, 15m30s or 0`];
}

function regexpErrors(value: unknown, at: string): string[] {
  if (typeof value !== 'string') return [];
  const problem = goRegExpError(value);
  return problem === undefined
    ? []
    : [`${at}: Invalid value: ${JSON.stringify(value)}: error parsing regexp: ${problem}`];
}

/** The providers a SecretStore spec can name: every key of the provider object in the schema. */
const STORE_PROVIDERS: readonly string[] = Object.keys(
  schemas.SecretStore.properties.spec.properties.provider.properties,
);

/**
 * The providers configured in a SecretStore or ClusterSecretStore `spec.provider`: the known provider keys whose
 * value is set (unknown keys are ignored, as the API server prunes them and ESO drops them). A valid store has
 * exactly one.
 * @param provider - `spec.provider`, unvalidated.
 * @returns provider keys such as `['fake']`, in schema order.
 */
export function configuredProviders(provider: unknown): string[] {
  if (!isObject(provider)) return [];
  return STORE_PROVIDERS.filter((k) => present(provider[k]));
}

const KUBERNETES_AUTH = ['cert', 'token', 'serviceAccount'];

function providerErrors(provider: unknown): string[] {
  if (!isObject(provider)) return [];
  const errors: string[] = [];
  const count = configuredProviders(provider).length;
  if (count !== 1) {
    errors.push(`spec.provider: secret stores must only have exactly one backend specified, found ${count}`);
  }
  const kubernetes = provider.kubernetes;
  if (isObject(kubernetes) && isObject(kubernetes.auth)) {
    const auth = kubernetes.auth;
    if (KUBERNETES_AUTH.filter((k) => present(auth[k])).length !== 1) {
      errors.push('spec.provider.kubernetes.auth: exactly one of cert, token or serviceAccount must be set');
    }
  }
  if (isObject(provider.webhook)) {
    errors.push(...durationErrors(provider.webhook.timeout, 'spec.provider.webhook.timeout'));
  }
  return errors;
}

function storeConditionErrors(conditions: unknown): string[] {
  if (!Array.isArray(conditions)) return [];
  return conditions.flatMap((c, ci) => {
    if (!isObject(c) || !Array.isArray(c.namespaceRegexes)) return [];
    return c.namespaceRegexes.flatMap((r, ri) =>
      regexpErrors(r, `spec.conditions[${ci}].namespaceRegexes[${ri}]`),
    );
  });
}

/**
 * SecretStore and ClusterSecretStore rules that the schema does not express, as ESO's store webhook and CRD apply
 * them: exactly one provider (ESO: "secret stores must only have exactly one backend specified, found N"),
 * exactly one kubernetes auth method, Go durations for the webhook timeout and the retry interval, and
 * ClusterSecretStore namespace regexes that compile. Pure and defensive: it never throws on a malformed spec.
 * @param spec - the store's `spec`, unvalidated (the same rules serve both kinds).
 * @returns errors as `field.path: problem`; empty when the spec is fine.
 */
export function secretStoreSpecErrors(spec: unknown): string[] {
  if (!isObject(spec)) return [];
  const retry = isObject(spec.retrySettings) ? spec.retrySettings : {};
  return [
    ...providerErrors(spec.provider),
    ...durationErrors(retry.retryInterval, 'spec.retrySettings.retryInterval'),
    ...storeConditionErrors(spec.conditions),
  ];
}

/** ESO's policy rules: a Secret capstan does not own must not be deleted, and None leaves nothing to merge. */
function policyErrors(target: Obj): string[] {
  const creation = target.creationPolicy ?? 'Owner';
  const deletion = target.deletionPolicy ?? 'Retain';
  const at = 'spec.target.deletionPolicy';
  if (deletion === 'Delete' && (creation === 'Merge' || creation === 'None')) {
    return [
      `${at}: deletionPolicy=Delete must not be used when the controller doesn't own the secret. Please set creationPolicy=Owner`,
    ];
  }
  if (deletion === 'Merge' && creation === 'None') {
    return [
      `${at}: deletionPolicy=Merge must not be used with creationPolicy=None. There is no Secret to merge with`,
    ];
  }
  return [];
}

const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token';
const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
const BOOTSTRAP_TOKEN_TYPE = 'bootstrap.kubernetes.io/token';

/**
 * ESO's privileged-template rule: an ExternalSecret must not mint long-lived ServiceAccount tokens (the token
 * controller fills a service-account-token Secret named by annotation) or bootstrap tokens beyond its RBAC.
 */
function privilegedTemplateErrors(template: unknown): string[] {
  if (!isObject(template)) return [];
  const at = 'spec.target.template.type';
  if (template.type === BOOTSTRAP_TOKEN_TYPE)
    return [`${at}: template.type="${BOOTSTRAP_TOKEN_TYPE}" is not allowed`];
  if (template.type !== SA_TOKEN_TYPE) return [];
  const metadata = isObject(template.metadata) ? template.metadata : {};
  if (isObject(metadata.annotations) && SA_NAME_ANNOTATION in metadata.annotations) {
    return [`${at}: template.type="${SA_TOKEN_TYPE}" with annotation "${SA_NAME_ANNOTATION}" is not allowed`];
  }
  const templateFrom = Array.isArray(template.templateFrom) ? template.templateFrom : [];
  const toAnnotations = templateFrom.some(
    (t) => isObject(t) && typeof t.target === 'string' && t.target.toLowerCase() === 'annotations',
  );
  return toAnnotations
    ? [`${at}: template.type="${SA_TOKEN_TYPE}" with templateFrom target="Annotations" is not allowed`]
    : [];
}

/** A sourceRef sets exactly one of storeRef and generatorRef; `none` words the error when it sets neither. */
function sourceRefErrors(sourceRef: unknown, at: string, none: string): string[] {
  if (!isObject(sourceRef)) return [];
  const set = ['storeRef', 'generatorRef'].filter((k) => present(sourceRef[k]));
  if (set.length === 0) return [`${at}: ${none}`];
  if (set.length > 1) return [`${at}: exactly one of storeRef or generatorRef must be set`];
  const storeRef = sourceRef.storeRef;
  return isObject(storeRef) && !nonEmpty(storeRef.name) ? [`${at}.storeRef.name: Required value`] : [];
}

/** Whether an entry reads from spec.secretStoreRef, that is it names no store or generator of its own. */
function usesDefaultStore(entry: unknown): boolean {
  if (!isObject(entry) || !isObject(entry.sourceRef)) return true;
  return !present(entry.sourceRef.storeRef) && !present(entry.sourceRef.generatorRef);
}

function findErrors(find: unknown, at: string): string[] {
  if (!isObject(find)) return [];
  const name = isObject(find.name) ? find.name : {};
  const hasName = typeof name.regexp === 'string';
  const hasPath = nonEmpty(find.path);
  const hasTags = isObject(find.tags) && Object.keys(find.tags).length > 0;
  const errors = hasName || hasPath || hasTags ? [] : [`${at}: one of name, path or tags is required`];
  return [...errors, ...regexpErrors(name.regexp, `${at}.name.regexp`)];
}

const REWRITES = ['regexp', 'transform', 'merge'];

function rewriteErrors(rewrite: unknown, at: string): string[] {
  if (!isObject(rewrite)) return [];
  const errors =
    REWRITES.filter((k) => present(rewrite[k])).length === 1
      ? []
      : [`${at}: exactly one of regexp, transform or merge must be set`];
  const regexp = isObject(rewrite.regexp) ? rewrite.regexp : {};
  return [...errors, ...regexpErrors(regexp.source, `${at}.regexp.source`)];
}

function dataFromErrors(ref: unknown, at: string): string[] {
  if (!isObject(ref)) return [];
  const errors: string[] = [];
  const generator = isObject(ref.sourceRef) && present(ref.sourceRef.generatorRef);
  if ([present(ref.extract), present(ref.find), generator].filter(Boolean).length > 1) {
    errors.push(`${at}: extract, find, or generatorRef cannot be set at the same time`);
  }
  if (!present(ref.extract) && !present(ref.find) && !present(ref.sourceRef)) {
    errors.push(`${at}: either extract, find, or sourceRef must be set to dataFrom`);
  }
  errors.push(
    ...sourceRefErrors(
      ref.sourceRef,
      `${at}.sourceRef`,
      'generatorRef or storeRef must be set when using sourceRef in dataFrom',
    ),
    ...findErrors(ref.find, `${at}.find`),
  );
  const rewrites = Array.isArray(ref.rewrite) ? ref.rewrite : [];
  rewrites.forEach((r, i) => errors.push(...rewriteErrors(r, `${at}.rewrite[${i}]`)));
  return errors;
}

/** ESO refuses a repeated secretKey when the Secret is retained (deletionPolicy Retain, the default). */
function duplicateKeyErrors(data: unknown[], target: Obj): string[] {
  if ((target.deletionPolicy ?? 'Retain') !== 'Retain') return [];
  const seen = new Set<unknown>();
  return data.flatMap((d, i) => {
    if (!isObject(d) || typeof d.secretKey !== 'string') return [];
    const duplicate = seen.has(d.secretKey);
    seen.add(d.secretKey);
    return duplicate ? [`spec.data[${i}].secretKey: duplicate secretKey found: ${d.secretKey}`] : [];
  });
}

function storeRefErrors(spec: Obj, data: unknown[], dataFrom: unknown[]): string[] {
  const needsDefault = [...data, ...dataFrom].some(usesDefaultStore);
  const ref = isObject(spec.secretStoreRef) ? spec.secretStoreRef : {};
  return needsDefault && !nonEmpty(ref.name) ? ['spec.secretStoreRef.name: Required value'] : [];
}

/**
 * ExternalSecret rules that the schema does not express, as ESO's ExternalSecret webhook and CRD apply them:
 * the creation/deletion policy combinations ESO refuses (its messages verbatim), data or dataFrom present, no
 * privileged Secret types, a default store (`spec.secretStoreRef.name`) whenever an entry has no sourceRef of its
 * own, `refreshInterval` a Go duration, each dataFrom entry exactly one of extract / find / generator (or a
 * sourceRef), find with a name, path or tags, each rewrite exactly one operation with a regexp that compiles, and
 * no repeated secretKey when the Secret is retained. Absent policies count as ESO's defaults (Owner, Retain).
 * Pure and defensive: it never throws on a malformed spec (the schema reports that).
 * @param spec - the ExternalSecret's `spec`, unvalidated.
 * @returns errors as `field.path: problem`; empty when the spec is fine.
 */
export function externalSecretSpecErrors(spec: unknown): string[] {
  if (!isObject(spec)) return [];
  const target = isObject(spec.target) ? spec.target : {};
  const data = Array.isArray(spec.data) ? spec.data : [];
  const dataFrom = Array.isArray(spec.dataFrom) ? spec.dataFrom : [];
  const errors = [...policyErrors(target)];
  if (data.length === 0 && dataFrom.length === 0)
    errors.push('spec: either data or dataFrom should be specified');
  errors.push(
    ...privilegedTemplateErrors(target.template),
    ...storeRefErrors(spec, data, dataFrom),
    ...durationErrors(spec.refreshInterval, 'spec.refreshInterval'),
  );
  data.forEach((d, i) => {
    const at = `spec.data[${i}].sourceRef`;
    if (isObject(d))
      errors.push(...sourceRefErrors(d.sourceRef, at, 'exactly one of storeRef or generatorRef must be set'));
  });
  dataFrom.forEach((ref, i) => errors.push(...dataFromErrors(ref, `spec.dataFrom[${i}]`)));
  return [...errors, ...duplicateKeyErrors(data, target)];
}

/** Semantic checks per kind; a kind without an entry has only its schema. */
const SEMANTIC_CHECKS: Record<string, (spec: unknown) => string[]> = {
  Application: applicationSpecErrors,
  AppProject: appProjectSpecErrors,
  ExternalSecret: externalSecretSpecErrors,
  SecretStore: secretStoreSpecErrors,
  ClusterSecretStore: secretStoreSpecErrors,
};

/**
 * Validates a custom resource's `spec` (and `operation` when present) against its kind's CRD schema and the
 * kind's semantic rules. Metadata and status are not checked: the API server owns them.
 * @param kind - the resource kind, for example `Application`; a kind without a schema is reported invalid.
 * @param obj - the whole object as read from the cluster or rendered from git.
 * @returns `{ valid: true }`, or every problem found, each as `field.path: problem`
 *   (for example `spec.source.repoURL: Required value`, `spec.syncPolicy.retry.limit: must be integer`).
 */
export function validateResource(kind: string, obj: unknown): ValidationResult {
  const validate = validatorFor(kind);
  let errors: string[];
  if (!validate) errors = [`kind: no schema for kind ${JSON.stringify(kind)}`];
  else if (!isObject(obj)) errors = ['<root>: must be object'];
  else {
    const schemaErrors = validate(obj) ? [] : formatErrors(validate.errors);
    errors = [...schemaErrors, ...(SEMANTIC_CHECKS[kind]?.(obj.spec) ?? [])];
  }
  return errors.length === 0 ? { valid: true } : { valid: false, errors, message: errors.join('; ') };
}
