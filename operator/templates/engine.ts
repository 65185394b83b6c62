/**
 * Renders an ExternalSecret's `spec.target.template` into the target Secret's data, labels,
 * annotations and type, with ESO's merge semantics (`pkg/controllers/templating`, `runtime/template/v2`)
 * and Handlebars as the template language (capstan's documented difference from ESO's Go templates).
 *
 * Order, as ESO: with `mergePolicy: Merge` the fetched keys come first; then each `templateFrom` entry
 * in order (its ConfigMap items, its Secret items, its literal); then `template.data` (highest
 * precedence); then `metadata.labels` and `metadata.annotations`. With neither `data` nor `templateFrom`
 * the fetched keys are the data whatever the merge policy. A template item `templateAs: Values`
 * renders to the value of the item's key; `KeysAndValues` (and every `literal`) renders to a YAML map
 * whose entries are applied. `target` (Data, Annotations, Labels; default Data) says where they go.
 *
 * The context of every template is the fetched secret: `{{ password }}`, `{{ [tls.crt] }}` for keys
 * that are not identifiers. Strict mode: a missing variable is an error (as ESO's `missingkey=error`);
 * `{{#if key}}` and `default` test optional ones. No HTML escaping. Errors (`TemplateError`) name the
 * template and the problem, never a value.
 */
import Handlebars from 'handlebars';
import YAML from 'yaml';
import { BUILTIN_HELPERS, HELPER_NAMES, HELPERS, HelperError } from './helpers';

/** One item of a `templateFrom` ConfigMap/Secret: which key holds a template, and how to read it. */
export interface TemplateRefItem {
  /** key - the ConfigMap/Secret key holding the template. */
  key: string;
  /** templateAs - `Values` (default): the output is the value of `key`; `KeysAndValues`: the output is a YAML map. */
  templateAs?: 'Values' | 'KeysAndValues';
}

/** A ConfigMap or Secret holding templates. */
export interface TemplateRef {
  /** name - the object's name, in the ExternalSecret's namespace. */
  name: string;
  /** items - the keys to use. */
  items?: TemplateRefItem[];
}

/** One `spec.target.template.templateFrom[]` entry. */
export interface TemplateFrom {
  /** configMap - templates from a ConfigMap. */
  configMap?: TemplateRef;
  /** secret - templates from a Secret. */
  secret?: TemplateRef;
  /** target - where the output goes: `Data` (default), `Annotations` or `Labels`. */
  target?: string;
  /** literal - an inline template rendering to a YAML map (always KeysAndValues). */
  literal?: string;
}

/** `spec.target.template` (ESO `ExternalSecretTemplate`). */
export interface ExternalSecretTemplate {
  /** type - the Secret's type (`kubernetes.io/tls`, ...). */
  type?: string;
  /** engineVersion - ESO's Go template version; ignored, capstan always uses Handlebars. */
  engineVersion?: string;
  /** mergePolicy - `Replace` (default): template output only; `Merge`: output over the fetched keys. */
  mergePolicy?: 'Replace' | 'Merge';
  /** metadata - templated labels and annotations of the Secret. */
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  /** data - templated values by key. */
  data?: Record<string, string>;
  /** templateFrom - templates kept in ConfigMaps, Secrets or literals. */
  templateFrom?: TemplateFrom[];
}

/** The ConfigMaps and Secrets that `templateFrom` names, fetched by the caller from the ExternalSecret's namespace. */
export interface TemplateSources {
  /** configMaps - ConfigMap name -> its `data`. */
  configMaps?: Record<string, Record<string, string>>;
  /** secrets - Secret name -> its decoded `data`. */
  secrets?: Record<string, Record<string, Buffer>>;
}

/** What the template makes of the target Secret. */
export interface RenderedSecret {
  /** data - the Secret's data. */
  data: Record<string, Buffer>;
  /** labels - the template's labels (the controller adds its own). */
  labels: Record<string, string>;
  /** annotations - the template's annotations. */
  annotations: Record<string, string>;
  /** type - the Secret type from `template.type`, if set. */
  type?: string;
}

/** A template failed to compile or render; terminal until the ExternalSecret or its sources change. */
export class TemplateError extends Error {
  override name = 'TemplateError';
  /**
   * @param templateKey - which template: `data.password`, `templateFrom[0].configMap.tpl/config.yaml`, `metadata.labels.app`.
   * @param problem - the Handlebars or capstan problem, free of values.
   */
  constructor(
    readonly templateKey: string,
    readonly problem: string,
  ) {
    super(`template ${templateKey}: ${problem}`);
  }
}

/**
 * Handlebars' runtime hooks: the runtime moves them out of the helpers when a template runs (so a
 * template cannot call them by name) and uses them for sections on values; they must stay registered.
 */
const HOOKS = ['helperMissing', 'blockHelperMissing'];

/**
 * capstan's own Handlebars environment with exactly the documented helpers. `Handlebars.create()`
 * registers every built-in, `log` included, which prints its arguments to stdout: `{{log password}}`
 * would put a secret into the process's log. So every built-in that is not documented is removed.
 */
function createEnvironment(): typeof Handlebars {
  const env = Handlebars.create();
  for (const name of Object.keys(env.helpers)) {
    if (!BUILTIN_HELPERS.includes(name) && !HOOKS.includes(name)) env.unregisterHelper(name);
  }
  for (const [name, fn] of Object.entries(HELPERS)) env.registerHelper(name, fn);
  return env;
}

const hb = createEnvironment();
/**
 * `knownHelpersOnly` makes a call of any other helper a compile error ("unknown helper"). The
 * compiler treats its built-ins as known unless told otherwise, so each one is listed: true for the
 * documented names, false for the rest (`log`, the hooks).
 */
const COMPILE_OPTIONS: CompileOptions = {
  noEscape: true,
  strict: true,
  knownHelpersOnly: true,
  knownHelpers: {
    ...Object.fromEntries(['log', ...HOOKS].map((n) => [n, false])),
    ...Object.fromEntries(HELPER_NAMES.map((n) => [n, true])),
  } as KnownHelpers,
};

/** Compiled templates by text; bounded so that changing templates cannot grow memory without end. */
const cache = new Map<string, HandlebarsTemplateDelegate>();
const CACHE_MAX = 1000;

function compiled(text: string): HandlebarsTemplateDelegate {
  let t = cache.get(text);
  if (!t) {
    t = hb.compile(text, COMPILE_OPTIONS);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(text, t);
  }
  return t;
}

function location(err: { lineNumber?: number; column?: number }): string {
  return typeof err.lineNumber === 'number'
    ? ` (line ${err.lineNumber}, column ${(err.column ?? 0) + 1})`
    : '';
}

/**
 * A Handlebars or helper error as a sentence without values. Handlebars puts the context into some
 * messages (`"x" not defined in <context>`, `Cannot use 'in' operator to search for 'x' in <value>`)
 * and the template source into parse errors, so messages are rebuilt from their parts.
 */
export function describeTemplateError(err: unknown): string {
  if (err instanceof HelperError) return err.message;
  const e = err as { message?: unknown; lineNumber?: number; column?: number; name?: string };
  const msg = typeof e?.message === 'string' ? e.message : '';
  let m = /^"([^"]*)" not defined in /.exec(msg);
  if (m) return `"${m[1]}" is not defined${location(e)}`;
  m = /^Cannot use 'in' operator to search for '([^']*)' in /.exec(msg);
  if (m) return `"${m[1]}" cannot be looked up in a string value`;
  m = /unknown helper ([^\s]+)/.exec(msg);
  if (m) return `unknown helper "${m[1]}"${location(e)}; helpers: ${HELPER_NAMES.join(', ')}`;
  if (msg.startsWith('Parse error') || msg.startsWith('Lexical error')) {
    const lines = msg.split('\n');
    const expecting = lines.find((l) => l.startsWith('Expecting'));
    return [lines[0].replace(/:$/, ''), expecting].filter(Boolean).join(': ');
  }
  if (err instanceof hb.Exception)
    return msg
      .split('\n')[0]
      .replace(/ in .*$/, '')
      .slice(0, 200);
  return `rendering failed (${e?.name ?? 'error'})`;
}

/**
 * The context's prototype: no Object.prototype members (so strict mode reports `{{ constructor }}` as
 * not defined), but a `toString`, which Handlebars uses to word its strict-mode error.
 */
const CONTEXT_PROTO: object = Object.freeze(Object.create(null, { toString: { value: () => '[context]' } }));

/** The render context: each key as a string own property (so `__proto__` is just a key), on CONTEXT_PROTO. */
function contextOf(values: Record<string, Buffer | string>): Record<string, string> {
  const ctx = Object.create(CONTEXT_PROTO) as Record<string, string>;
  for (const [k, v] of Object.entries(values)) {
    const value = typeof v === 'string' ? v : v.toString('utf8');
    Object.defineProperty(ctx, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return ctx;
}

/** Go template syntax (`{{ .key }}`) in a Handlebars template: the usual slip when moving from ESO. */
const GO_SYNTAX = /\{\{-?\s*(\.|index\s|printf?\s)/;
const GO_SYNTAX_HINT =
  'capstan templates are Handlebars: write {{ password }} or {{ [my-key] }}, not {{ .password }}';

/**
 * Renders one template text.
 * @param text - Handlebars source.
 * @param context - the fetched secret as strings (see `renderTemplate`).
 * @param templateKey - for the error message.
 * @throws TemplateError naming `templateKey` and the problem, never a value.
 */
export function renderString(text: string, context: Record<string, string>, templateKey: string): string {
  const ctx = Object.getPrototypeOf(context) === CONTEXT_PROTO ? context : contextOf(context);
  try {
    return compiled(text)(ctx);
  } catch (err) {
    const hint = GO_SYNTAX.test(text) ? ` (${GO_SYNTAX_HINT})` : '';
    throw new TemplateError(templateKey, describeTemplateError(err) + hint);
  }
}

type Target = 'data' | 'labels' | 'annotations';

function targetOf(target: string | undefined, templateKey: string): Target {
  const t = (target ?? 'Data').toLowerCase();
  if (t === 'data' || t === 'labels' || t === 'annotations') return t;
  throw new TemplateError(templateKey, `target "${target}" is not supported (Data, Annotations, Labels)`);
}

/** Parses a KeysAndValues output: a YAML map of scalars (numbers and booleans become text). */
function keysAndValues(output: string, templateKey: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = YAML.parse(output);
  } catch {
    throw new TemplateError(
      templateKey,
      'the output is not valid YAML (KeysAndValues needs a map of strings)',
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new TemplateError(
      templateKey,
      'the output is not a YAML map (KeysAndValues needs a map of strings)',
    );
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object')
      throw new TemplateError(templateKey, `the value of "${k}" is not a string`);
    out[k] = v === null || v === undefined ? '' : String(v);
  }
  return out;
}

/** The Secret being built. */
class Builder {
  readonly out: RenderedSecret = { data: {}, labels: {}, annotations: {} };
  constructor(readonly context: Record<string, string>) {}

  set(target: Target, key: string, value: string): void {
    if (target === 'data') this.out.data[key] = Buffer.from(value, 'utf8');
    else this.out[target][key] = value;
  }

  /** One template whose output is the value of `key` (templateAs: Values). */
  values(target: Target, key: string, text: string, templateKey: string): void {
    this.set(target, key, renderString(text, this.context, templateKey));
  }

  /** One template whose output is a YAML map of keys and values (templateAs: KeysAndValues). */
  keysAndValues(target: Target, text: string, templateKey: string): void {
    const out = keysAndValues(renderString(text, this.context, templateKey), templateKey);
    for (const [k, v] of Object.entries(out)) this.set(target, k, v);
  }
}

/** Applies one ConfigMap/Secret `templateFrom` reference. */
function applyRef(
  b: Builder,
  ref: TemplateRef,
  kind: 'configMap' | 'secret',
  entry: { target: Target; at: string },
  sources: TemplateSources,
): void {
  const data = kind === 'configMap' ? sources.configMaps?.[ref.name] : sources.secrets?.[ref.name];
  const what = kind === 'configMap' ? 'ConfigMap' : 'Secret';
  if (!data)
    throw new TemplateError(`${entry.at}.${kind}.${ref.name}`, `${what} "${ref.name}" was not found`);
  for (const item of ref.items ?? []) {
    const key = `${entry.at}.${kind}.${ref.name}/${item.key}`;
    const raw = data[item.key];
    if (raw === undefined) throw new TemplateError(key, `${what} "${ref.name}" has no key "${item.key}"`);
    const text = typeof raw === 'string' ? raw : raw.toString('utf8');
    if ((item.templateAs ?? 'Values') === 'KeysAndValues') b.keysAndValues(entry.target, text, key);
    else b.values(entry.target, item.key, text, key);
  }
}

/**
 * Renders `spec.target.template` (see the module comment for the order and merge semantics).
 * @param template - the template; undefined means none (the fetched keys become the data).
 * @param secrets - the fetched keys and values (after decoding), which are also the render context.
 * @param sources - the ConfigMaps and Secrets `templateFrom` names (see `templateSourceNames`).
 * @returns data, labels, annotations and type of the target Secret.
 * @throws TemplateError naming the template (`data.<key>`, `templateFrom[i]...`, `metadata.labels.<key>`).
 */
export function renderTemplate(
  template: ExternalSecretTemplate | undefined,
  secrets: Record<string, Buffer>,
  sources: TemplateSources = {},
): RenderedSecret {
  if (!template) return { data: { ...secrets }, labels: {}, annotations: {} };
  const b = new Builder(contextOf(secrets));
  if (template.mergePolicy === 'Merge') Object.assign(b.out.data, secrets);
  const templateFrom = template.templateFrom ?? [];
  templateFrom.forEach((tf, i) => applyTemplateFrom(b, tf, `templateFrom[${i}]`, sources));
  const data = template.data ?? {};
  applyValues(b, 'data', data, 'data');
  applyValues(b, 'labels', template.metadata?.labels ?? {}, 'metadata.labels');
  applyValues(b, 'annotations', template.metadata?.annotations ?? {}, 'metadata.annotations');
  // as ESO: with nothing templated into data, the fetched keys are the data whatever the merge policy
  if (!Object.keys(data).length && !templateFrom.length) b.out.data = { ...secrets };
  if (template.type) b.out.type = template.type;
  return b.out;
}

/** One `templateFrom` entry: its ConfigMap items, its Secret items, then its literal. */
function applyTemplateFrom(b: Builder, tf: TemplateFrom, at: string, sources: TemplateSources): void {
  const entry = { target: targetOf(tf.target, at), at };
  if (tf.configMap) applyRef(b, tf.configMap, 'configMap', entry, sources);
  if (tf.secret) applyRef(b, tf.secret, 'secret', entry, sources);
  if (tf.literal !== undefined) b.keysAndValues(entry.target, tf.literal, `${at}.literal`);
}

/** A map of templates whose outputs are the values of their keys. */
function applyValues(b: Builder, target: Target, templates: Record<string, string>, at: string): void {
  for (const [k, v] of Object.entries(templates)) b.values(target, k, v, `${at}.${k}`);
}

/**
 * The ConfigMaps and Secrets a template's `templateFrom` reads, for the caller to fetch (and watch).
 * @returns sorted, de-duplicated names.
 */
export function templateSourceNames(template: ExternalSecretTemplate | undefined): {
  configMaps: string[];
  secrets: string[];
} {
  const cms = new Set<string>();
  const secs = new Set<string>();
  for (const tf of template?.templateFrom ?? []) {
    if (tf.configMap?.name) cms.add(tf.configMap.name);
    if (tf.secret?.name) secs.add(tf.secret.name);
  }
  return { configMaps: [...cms].sort(), secrets: [...secs].sort() };
}
