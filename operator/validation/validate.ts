/**
 * Validation of capstan's custom resources before any operator acts on them: the same openAPIV3Schema the CRD
 * carries (generated/schemas.ts, compiled once per kind with ajv), plus the rules of Argo CD's Application and
 * AppProject validation that a schema cannot express. A failure becomes a clear condition (InvalidSpecError)
 * instead of a half-applied sync.
 *
 * Unknown fields are accepted, not reported: the API server prunes fields a structural schema does not declare
 * (it rejects them only when a client asks for strict field validation), so an object read from the cluster
 * never has any, and rejecting them here would make capstan stricter than the cluster that stored the object.
 */
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
  if (!hasSource && sources.length === 0) errors.push('spec: one of "source" or "sources" is required');
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

/** Semantic checks per kind; a kind without an entry has only its schema. */
const SEMANTIC_CHECKS: Record<string, (spec: unknown) => string[]> = {
  Application: applicationSpecErrors,
  AppProject: appProjectSpecErrors,
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
