/**
 * Generic targets (ESO's `spec.target.manifest`, "Targeting Custom Resources"): the ExternalSecret writes
 * an object of another namespaced kind instead of a Secret, for example a ConfigMap (pure parts).
 *
 * ```yaml
 * spec:
 *   target:
 *     name: app-config
 *     manifest: { apiVersion: v1, kind: ConfigMap }
 *     template:                                    # optional
 *       metadata: { labels: { team: a } }
 *       data: { url: "https://{{ .host }}" }       # -> the object's top-level data
 * ```
 *
 * As ESO (`externalsecret_controller_manifest.go`):
 * - only with the operator flag `--unsafe-allow-generic-targets` (a ConfigMap or custom resource is not
 *   encrypted at rest as a Secret may be); without it the ExternalSecret is Ready False with ESO's message;
 * - without a template the fetched keys go to `data` of a ConfigMap and to `spec.data` of other kinds;
 *   with one, `template.data` (and `templateFrom` entries targeting Data) go to the top-level `data`,
 *   values as plain strings; labels and annotations are the template's (without a template, the
 *   ExternalSecret's own, as ESO), plus `reconcile.external-secrets.io/managed: "true"` and the data-hash
 *   annotation, over a content hash;
 * - `manifest` naming `v1` `Secret` is the ordinary Secret target.
 *
 * Where capstan differs (README "Where capstan differs from ESO"): the object is written by server-side
 * apply (field manager `capstan`) with the same ownership rules as a Secret (an object capstan did not
 * create for this ExternalSecret is never taken over; creationPolicy Owner adds the controller
 * ownerReference, so the garbage collector deletes it with the ExternalSecret); creationPolicy Merge is
 * refused (capstan writes only objects it creates); `templateFrom[].target` paths such as `spec.x` are
 * not accepted (Data, Annotations, Labels only); drift is reverted at the next refresh, not at once
 * (capstan watches Secrets only).
 */
import type { RenderedSecret } from '../templates';
import type { KubeObject } from '../kube/object';
import {
  ANNOTATION_DATA_HASH,
  ANNOTATION_EXTERNAL_SECRET,
  LABEL_MANAGED,
  LABEL_MANAGED_VALUE,
  LABEL_OWNER,
} from './constants';
import { objectHash, ownerLabelValue } from './hash';
import { targetName } from './refs';
import { ownerReference } from './target';
import type { CreationPolicy, ExternalSecretObject } from './types';

/** `spec.target.manifest`: the kind an ExternalSecret writes instead of a Secret. */
export interface ManifestRef {
  /** apiVersion - e.g. `v1`. */
  apiVersion: string;
  /** kind - e.g. `ConfigMap`. */
  kind: string;
}

/** ESO's message when generic targets are not enabled. */
export const MSG_GENERIC_DISABLED =
  'generic targets are disabled. Enable with --unsafe-allow-generic-targets flag';

/** kubectl's annotation, never copied from the ExternalSecret onto its target. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The generic target of an ExternalSecret; undefined for a Secret target (none, or `v1` `Secret`). */
export function genericTargetOf(es: ExternalSecretObject): ManifestRef | undefined {
  const m = (es.spec.target as { manifest?: ManifestRef } | undefined)?.manifest;
  if (!m?.apiVersion || !m.kind) return undefined;
  if (m.apiVersion === 'v1' && m.kind === 'Secret') return undefined;
  return { apiVersion: m.apiVersion, kind: m.kind };
}

/**
 * Why capstan does not act on the ExternalSecret's generic target (terminal: Ready False, nothing written).
 * @param allowed - `--unsafe-allow-generic-targets`.
 * @returns problems as `field.path: problem`; empty when it may go on.
 */
export function genericTargetProblems(es: ExternalSecretObject, allowed: boolean): string[] {
  if (!genericTargetOf(es)) return [];
  if (!allowed) return [`spec.target.manifest: ${MSG_GENERIC_DISABLED}`];
  const problems: string[] = [];
  if (es.spec.target?.creationPolicy === 'Merge')
    problems.push(
      'spec.target.creationPolicy: Merge is not supported with spec.target.manifest (capstan writes only objects it creates)',
    );
  return problems;
}

/** The part of a generic target that holds the fetched or rendered values: `data` or `spec.data`. */
function contentOf(obj: Record<string, unknown>, kind: string, templated: boolean): unknown {
  if (kind === 'ConfigMap' || templated) return obj.data ?? {};
  return (obj.spec as Record<string, unknown> | undefined)?.data ?? {};
}

/** The data hash of a generic target: over the values it holds (see {@link contentOf}). */
export function contentHash(obj: Record<string, unknown>, kind: string, templated: boolean): string {
  return objectHash(contentOf(obj, kind, templated));
}

function strings(data: Record<string, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(data).sort()) out[k] = data[k].toString('utf8');
  return out;
}

/** Labels and annotations of the target before capstan's own (see the module comment). */
function sourceMetadata(
  es: ExternalSecretObject,
  rendered: RenderedSecret,
): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  if (es.spec.target?.template)
    return { labels: { ...rendered.labels }, annotations: { ...rendered.annotations } };
  const annotations = { ...(es.metadata.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  return { labels: { ...(es.metadata.labels ?? {}) }, annotations };
}

/** What {@link desiredObject} needs. */
export interface DesiredObjectInput {
  /** es - the ExternalSecret. */
  es: ExternalSecretObject;
  /** ref - its generic target. */
  ref: ManifestRef;
  /** rendered - the template's output (or the fetched keys). */
  rendered: RenderedSecret;
  /** policy - Owner or Orphan. */
  policy: Exclude<CreationPolicy, 'None' | 'Merge'>;
}

/** The object to server-side apply for a generic target (see the module comment). */
export function desiredObject({ es, ref, rendered, policy }: DesiredObjectInput): KubeObject {
  const templated = !!es.spec.target?.template;
  const values = strings(rendered.data);
  const body: Record<string, unknown> =
    ref.kind === 'ConfigMap' || templated ? { data: values } : { spec: { data: values } };
  const { labels, annotations } = sourceMetadata(es, rendered);
  labels[LABEL_MANAGED] = LABEL_MANAGED_VALUE;
  if (policy === 'Owner') labels[LABEL_OWNER] = ownerLabelValue(es.metadata.namespace, es.metadata.name);
  annotations[ANNOTATION_DATA_HASH] = contentHash(body, ref.kind, templated);
  annotations[ANNOTATION_EXTERNAL_SECRET] = es.metadata.name;
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: {
      name: targetName(es),
      namespace: es.metadata.namespace,
      labels,
      annotations,
      ...(policy === 'Owner' ? { ownerReferences: [ownerReference(es) as never] } : {}),
    },
    ...body,
  };
}

/**
 * ESO's `isSecretValid` for a generic target: it carries the managed label and its values still match
 * the data hash written with them (a hand edit of the values makes the ExternalSecret write again).
 */
export function objectInSync(obj: KubeObject | undefined, es: ExternalSecretObject, kind: string): boolean {
  if (!obj) return false;
  if (obj.metadata.labels?.[LABEL_MANAGED] !== LABEL_MANAGED_VALUE) return false;
  const hash = contentHash(obj as unknown as Record<string, unknown>, kind, !!es.spec.target?.template);
  return obj.metadata.annotations?.[ANNOTATION_DATA_HASH] === hash;
}

function subset(want: Record<string, string> | undefined, have: Record<string, string> | undefined): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
}

/** True when applying `desired` would change nothing that capstan writes (the write is skipped). */
export function objectUpToDate(existing: KubeObject, desired: KubeObject, es: ExternalSecretObject): boolean {
  const hash = contentHash(
    existing as unknown as Record<string, unknown>,
    desired.kind,
    !!es.spec.target?.template,
  );
  const ownerOk =
    !desired.metadata.ownerReferences?.length ||
    (existing.metadata.ownerReferences ?? []).some((r) => r.uid === es.metadata.uid && r.controller === true);
  return (
    hash === desired.metadata.annotations?.[ANNOTATION_DATA_HASH] &&
    subset(desired.metadata.labels, existing.metadata.labels) &&
    subset(desired.metadata.annotations, existing.metadata.annotations) &&
    ownerOk
  );
}
