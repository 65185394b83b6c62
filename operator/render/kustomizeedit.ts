/**
 * `spec.source.kustomize` overrides, applied to a kustomization as Argo CD applies them: Argo CD runs
 * `kustomize edit set nameprefix|namesuffix|image|replicas|namespace`, `kustomize edit add
 * label|annotation|component` and appends `patches` in the app directory before `kustomize build`
 * (util/kustomize/kustomize.go, in that order). kubectl embeds no `kustomize edit`, so capstan makes the
 * same edits to the parsed kustomization here (pure functions on a plain object) and `kustomize.ts`
 * writes the result into a private copy of the checkout. Semantics kept from `kustomize edit`:
 *
 * - `commonLabels` / `commonAnnotations` fail on a key the kustomization already sets unless
 *   `forceCommonLabels` / `forceCommonAnnotations` (kustomize's `--force`);
 * - `labelWithoutSelector` adds the labels to a `labels:` entry without `includeSelectors` (so selectors
 *   are never changed), `labelIncludeTemplates` also sets `includeTemplates` (pod templates get them) and
 *   needs `labelWithoutSelector` (`--include-templates` without `--without-selector` is an error there);
 * - `images` and `commonLabels` values are always expanded with the build environment
 *   (`${ARGOCD_APP_REVISION}`), `commonAnnotations` only with `commonAnnotationsEnvsubst`;
 * - `components` that do not exist fail the build unless `ignoreMissingComponents` drops them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RenderError } from './errors';

/** Argo CD's `ApplicationSourceKustomize` fields that edit the kustomization. */
export interface KustomizeOptions {
  namePrefix?: string;
  nameSuffix?: string;
  images?: string[];
  replicas?: Array<{ name: string; count: number | string }>;
  commonLabels?: Record<string, string>;
  commonAnnotations?: Record<string, string>;
  forceCommonLabels?: boolean;
  forceCommonAnnotations?: boolean;
  labelWithoutSelector?: boolean;
  labelIncludeTemplates?: boolean;
  commonAnnotationsEnvsubst?: boolean;
  namespace?: string;
  patches?: unknown[];
  components?: string[];
  ignoreMissingComponents?: boolean;
  /** For kustomize's Helm inflation; read by `kustomize.ts`, not an edit. */
  kubeVersion?: string;
  /** For kustomize's Helm inflation; read by `kustomize.ts`, not an edit. */
  apiVersions?: string[];
  /** A kustomize binary version; capstan has only kubectl's, so a set value is refused by `kustomize.ts`. */
  version?: string;
}

/** A kustomization as parsed from YAML. */
export type Kustomization = Record<string, unknown>;

/**
 * Expands `$NAME` and `${NAME}` with `env` as Argo CD's `Env.Envsubst` (Go's `os.Expand`): unknown names
 * become empty, `$$` is a literal `$`, a `$` followed by anything else stays as it is.
 * @param value - the string to expand.
 * @param env - the build environment (`ARGOCD_APP_NAME`, ...).
 */
export function envsubst(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$(?:\{([^}]*)\}|([A-Za-z0-9_]+)|([*#$@!?-]))/g,
    (_m, braced?: string, bare?: string, special?: string) => {
      if (special === '$') return '$';
      const name = braced ?? bare ?? special ?? '';
      return env[name] ?? '';
    },
  );
}

/** True when the options change the kustomization (anything but kubeVersion, apiVersions, version). */
export function hasEdits(options: KustomizeOptions): boolean {
  const o = options;
  return Boolean(
    o.namePrefix ||
    o.nameSuffix ||
    o.images?.length ||
    o.replicas?.length ||
    Object.keys(o.commonLabels ?? {}).length ||
    Object.keys(o.commonAnnotations ?? {}).length ||
    o.namespace ||
    o.patches?.length ||
    o.components?.length,
  );
}

/**
 * Applies the overrides to a kustomization in Argo CD's order (prefix, suffix, images, replicas, labels,
 * annotations, namespace, patches, components).
 * @param k - the parsed kustomization; modified in place and returned.
 * @param options - `spec.source.kustomize`.
 * @param env - the build environment for `$VAR` expansion.
 * @param appDir - the (copied) app directory, to check that components exist.
 * @param repoRoot - the (copied) repository root: a component outside it is kept, for the scan to refuse.
 * @throws RenderError on a label or annotation the kustomization already sets (without force), on
 *   `labelIncludeTemplates` without `labelWithoutSelector`, on a bad image or replica count, and on a
 *   missing component (without `ignoreMissingComponents`).
 */
export function applyKustomizeOptions(
  k: Kustomization,
  options: KustomizeOptions,
  env: Record<string, string>,
  appDir: string,
  repoRoot: string,
): Kustomization {
  if (options.namePrefix) k.namePrefix = options.namePrefix;
  if (options.nameSuffix) k.nameSuffix = options.nameSuffix;
  for (const image of options.images ?? []) setImage(k, envsubst(image, env));
  for (const replica of options.replicas ?? []) setReplicas(k, replica);
  addLabels(k, options, env);
  addAnnotations(k, options, env);
  if (options.namespace) k.namespace = options.namespace;
  if (options.patches?.length) k.patches = [...list(k, 'patches'), ...structuredClone(options.patches)];
  addComponents(k, options, appDir, repoRoot);
  return k;
}

function list(k: Kustomization, field: string): unknown[] {
  const value = k[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new RenderError(`kustomization field ${field} is not a list`);
  return value;
}

function map(holder: Record<string, unknown>, field: string): Record<string, string> {
  const value = holder[field];
  if (value === undefined || value === null) return (holder[field] = {});
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new RenderError(`kustomization field ${field} is not a map`);
  }
  return value as Record<string, string>;
}

/** An image override as `kustomize edit set image` reads it. */
interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/**
 * Parses `name`, `name:tag`, `name@digest`, `name=newName`, `name=newName:tag`, `name=newName@digest`
 * (a `:` before the last `/` is a registry port, not a tag).
 * @throws RenderError on an empty name.
 */
export function parseImageOverride(arg: string): ImageOverride {
  const eq = arg.indexOf('=');
  const [name, target] = eq >= 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [undefined, arg];
  const split = splitImage(target);
  if (!(name ?? split.name)) throw new RenderError(`kustomize.images: "${arg}" names no image`);
  if (name === undefined) return { name: split.name, newTag: split.tag, digest: split.digest };
  return { name, newName: split.name || undefined, newTag: split.tag, digest: split.digest };
}

function splitImage(ref: string): { name: string; tag?: string; digest?: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), digest: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref };
}

function setImage(k: Kustomization, arg: string): void {
  const override = parseImageOverride(arg);
  const images = list(k, 'images') as Array<Record<string, unknown>>;
  const existing = images.find((i) => i && i.name === override.name);
  const entry = existing ?? { name: override.name };
  if (override.newName) entry.newName = override.newName;
  if (override.newTag !== undefined) {
    entry.newTag = override.newTag;
    delete entry.digest;
  }
  if (override.digest !== undefined) {
    entry.digest = override.digest;
    delete entry.newTag;
  }
  k.images = existing ? images : [...images, entry];
}

function setReplicas(k: Kustomization, replica: { name: string; count: number | string }): void {
  const count = typeof replica.count === 'number' ? replica.count : Number(replica.count);
  if (!Number.isInteger(count) || String(replica.count).trim() === '') {
    throw new RenderError(
      `kustomize.replicas: count "${replica.count}" of "${replica.name}" is not an integer`,
    );
  }
  const replicas = list(k, 'replicas') as Array<Record<string, unknown>>;
  const existing = replicas.find((r) => r && r.name === replica.name);
  if (existing) existing.count = count;
  else k.replicas = [...replicas, { name: replica.name, count }];
}

function writeAll(
  target: Record<string, string>,
  pairs: Record<string, string>,
  force: boolean | undefined,
  what: string,
): void {
  for (const [key, value] of Object.entries(pairs)) {
    if (key in target && !force) {
      throw new RenderError(
        `kustomize.common${what}s: ${what.toLowerCase()} "${key}" is already set by the kustomization; ` +
          `set forceCommon${what}s to override it`,
      );
    }
    target[key] = value;
  }
}

function addLabels(k: Kustomization, o: KustomizeOptions, env: Record<string, string>): void {
  const labels = Object.fromEntries(
    Object.entries(o.commonLabels ?? {}).map(([key, value]) => [key, envsubst(value, env)]),
  );
  if (!Object.keys(labels).length) return;
  if (o.labelIncludeTemplates && !o.labelWithoutSelector) {
    throw new RenderError(
      'kustomize.labelIncludeTemplates needs labelWithoutSelector (as kustomize edit add label)',
    );
  }
  if (!o.labelWithoutSelector) {
    writeAll(map(k, 'commonLabels'), labels, o.forceCommonLabels, 'Label');
    return;
  }
  // kustomize edit add label --without-selector [--include-templates]: the first `labels:` entry without
  // selectors and with the same includeTemplates takes the pairs, else a new entry is appended.
  const includeTemplates = Boolean(o.labelIncludeTemplates);
  const entries = list(k, 'labels') as Array<Record<string, unknown>>;
  let entry = entries.find(
    (e) => e && !e.includeSelectors && Boolean(e.includeTemplates) === includeTemplates,
  );
  if (!entry) {
    entry = includeTemplates ? { pairs: {}, includeTemplates: true } : { pairs: {} };
    k.labels = [...entries, entry];
  }
  writeAll(map(entry, 'pairs'), labels, o.forceCommonLabels, 'Label');
}

function addAnnotations(k: Kustomization, o: KustomizeOptions, env: Record<string, string>): void {
  const given = o.commonAnnotations ?? {};
  if (!Object.keys(given).length) return;
  const annotations = o.commonAnnotationsEnvsubst
    ? Object.fromEntries(Object.entries(given).map(([key, value]) => [key, envsubst(value, env)]))
    : given;
  writeAll(map(k, 'commonAnnotations'), annotations, o.forceCommonAnnotations, 'Annotation');
}

/** Remote forms are left to the remote-reference scan that runs on the edited kustomization. */
const REMOTE = /^[a-z][a-z0-9+.-]*:\/\/|^git@|^[a-z0-9.-]+\.[a-z]{2,}\//i;

function addComponents(k: Kustomization, o: KustomizeOptions, appDir: string, repoRoot: string): void {
  if (!o.components?.length) return;
  const components = list(k, 'components');
  for (const component of o.components) {
    const resolved = path.resolve(appDir, component);
    const inside = !path.relative(repoRoot, resolved).startsWith('..');
    if (!REMOTE.test(component) && inside && !fs.existsSync(resolved)) {
      if (o.ignoreMissingComponents) continue;
      throw new RenderError(
        `kustomize.components: "${component}" does not exist (set ignoreMissingComponents to skip missing components)`,
      );
    }
    if (!components.includes(component)) components.push(component);
  }
  k.components = components;
}
