/**
 * Renders an ExternalSecret's `spec.target.template` into the target Secret's data, labels,
 * annotations and type, with ESO's merge semantics (`pkg/controllers/templating`, `runtime/template/v2`).
 * The language is chosen by `engineVersion` (`syntax.ts`): Go templates as ESO (`v2`, the default)
 * or capstan's Handlebars (`handlebars`).
 *
 * Order, as ESO: with `mergePolicy: Merge` the fetched keys come first; then each `templateFrom` entry
 * in order (its ConfigMap items, its Secret items, its literal); then `template.data` (highest
 * precedence); then `metadata.labels` and `metadata.annotations`. With neither `data` nor `templateFrom`
 * the fetched keys are the data whatever the merge policy. A template item `templateAs: Values`
 * renders to the value of the item's key; `KeysAndValues` (and every `literal`) renders to a YAML map
 * whose entries are applied. `target` (Data, Annotations, Labels; default Data) says where they go.
 *
 * `valuesDecodingStrategy` of a `templateFrom` entry (None, Base64, Base64URL, Auto) decodes the values
 * that entry renders, as ESO.
 *
 * The context of every template is the fetched secret: Go `{{ .password }}`, `{{ index . "tls.crt" }}`;
 * Handlebars `{{ password }}`, `{{ [tls.crt] }}`. A missing key is an error in both (as ESO's
 * `missingkey=error`). No HTML escaping. Errors (`TemplateError`) name the template and the problem,
 * never a value.
 */
import YAML from 'yaml';
import { decodeValue } from '../providers/decoding';
import type { DecodingStrategy } from '../providers/types';
import { TemplateError } from './errors';
import { bytesContext, compile, GoTemplateError, type GoMap } from './gotemplate';
import { contextOf, renderString } from './handlebars';
import { checkSyntax, engineOf, goErrorHint, type EngineChoice } from './syntax';

export { TemplateError } from './errors';

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
  /** valuesDecodingStrategy - how to decode the rendered values: None (default), Base64, Base64URL, Auto. */
  valuesDecodingStrategy?: string;
}

/** `spec.target.template` (ESO `ExternalSecretTemplate`). */
export interface ExternalSecretTemplate {
  /** type - the Secret's type (`kubernetes.io/tls`, ...). */
  type?: string;
  /** engineVersion - `v2` (default): Go templates as ESO; `handlebars`: capstan's Handlebars engine. */
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

/** Renders one template text to its output bytes. */
type Render = (text: string, templateKey: string) => Buffer;

/** The renderer of the chosen engine over the fetched secret. */
function renderer(choice: EngineChoice, secrets: Record<string, Buffer>): Render {
  if (choice.engine === 'handlebars') {
    const ctx = contextOf(secrets);
    return (text, key) => {
      checkSyntax(text, choice, key);
      return Buffer.from(renderString(text, ctx, key), 'utf8');
    };
  }
  let ctx: GoMap | undefined;
  return (text, key) => {
    checkSyntax(text, choice, key);
    try {
      ctx ??= bytesContext(secrets);
      return Buffer.from(compile(text).execute(ctx), 'latin1');
    } catch (err) {
      const problem = err instanceof GoTemplateError ? err.message : 'rendering failed';
      throw new TemplateError(key, goErrorHint(problem, choice));
    }
  };
}

/** The Secret being built. */
class Builder {
  readonly out: RenderedSecret = { data: {}, labels: {}, annotations: {} };
  constructor(readonly render: Render) {}

  set(target: Target, key: string, value: Buffer, decoding: Decoding): void {
    const v = decoding.strategy ? decoded(value, decoding, key) : value;
    if (target === 'data') this.out.data[key] = v;
    else this.out[target][key] = v.toString('utf8');
  }

  /** One template whose output is the value of `key` (templateAs: Values). */
  values(target: Target, key: string, text: string, templateKey: string, decoding: Decoding = {}): void {
    this.set(target, key, this.render(text, templateKey), { ...decoding, at: templateKey });
  }

  /** One template whose output is a YAML map of keys and values (templateAs: KeysAndValues). */
  keysAndValues(target: Target, text: string, templateKey: string, decoding: Decoding = {}): void {
    const out = keysAndValues(this.render(text, templateKey).toString('utf8'), templateKey);
    for (const [k, v] of Object.entries(out))
      this.set(target, k, Buffer.from(v, 'utf8'), { ...decoding, at: templateKey });
  }
}

/** A templateFrom entry's `valuesDecodingStrategy`, and where it applies (for errors). */
interface Decoding {
  strategy?: string;
  at?: string;
}

function decoded(value: Buffer, d: Decoding, key: string): Buffer {
  if (!['None', 'Base64', 'Base64URL', 'Auto'].includes(d.strategy!))
    throw new TemplateError(
      d.at ?? key,
      `valuesDecodingStrategy "${d.strategy}" is not supported (None, Base64, Base64URL, Auto)`,
    );
  try {
    return decodeValue(value, d.strategy as DecodingStrategy, key);
  } catch {
    throw new TemplateError(
      d.at ?? key,
      `valuesDecodingStrategy ${d.strategy}: the value of "${key}" is not valid ${d.strategy}`,
    );
  }
}

/** Applies one ConfigMap/Secret `templateFrom` reference. */
function applyRef(
  b: Builder,
  ref: TemplateRef,
  kind: 'configMap' | 'secret',
  entry: { target: Target; at: string; decoding: Decoding },
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
    if ((item.templateAs ?? 'Values') === 'KeysAndValues')
      b.keysAndValues(entry.target, text, key, entry.decoding);
    else b.values(entry.target, item.key, text, key, entry.decoding);
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
  const b = new Builder(renderer(engineOf(template.engineVersion), secrets));
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
  const decoding: Decoding = { strategy: tf.valuesDecodingStrategy };
  const entry = { target: targetOf(tf.target, at), at, decoding };
  if (tf.configMap) applyRef(b, tf.configMap, 'configMap', entry, sources);
  if (tf.secret) applyRef(b, tf.secret, 'secret', entry, sources);
  if (tf.literal !== undefined) b.keysAndValues(entry.target, tf.literal, `${at}.literal`, decoding);
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
