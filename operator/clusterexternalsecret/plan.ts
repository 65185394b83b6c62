/**
 * The pure part of a ClusterExternalSecret reconcile, as ESO's controller: which namespaces are
 * targets, what ExternalSecret each gets, and one decision per namespace.
 *
 * Targets (ESO `GetTargetNamespaces`): the namespaces named in `spec.namespaces` plus those whose labels
 * match any of `spec.namespaceSelectors` (or the deprecated `spec.namespaceSelector`); terminating
 * namespaces are left alone. A namespace that was provisioned and is no longer a target loses its
 * ExternalSecret; an ExternalSecret of the same name that this ClusterExternalSecret does not control
 * is never touched (the namespace fails with ESO's "external secret already exists in namespace").
 */
import type { ClusterExternalSecret, LabelSelector } from '../../generated/clusterexternalsecret';
import { labelSelectorMatches } from '../externalsecret/namespaces';
import type { KubeObject } from '../kube/object';
import { ANNOTATION_FORCE_SYNC, CES_API_VERSION, CES_KIND, MSG_ALREADY_EXISTS } from './constants';

/** A namespace as the plan needs it. */
export interface NamespaceView {
  name: string;
  labels?: Record<string, string>;
  /** terminating - it has a deletionTimestamp. */
  terminating?: boolean;
}

/** One decision per namespace: the single decision type of this operator. */
export type NamespaceDecision =
  | { action: 'apply'; namespace: string; desired: KubeObject }
  | { action: 'delete'; namespace: string; name: string }
  | { action: 'conflict'; namespace: string; reason: string };

/** The name of the ExternalSecrets: `spec.externalSecretName`, else the ClusterExternalSecret's name. */
export function externalSecretName(ces: ClusterExternalSecret): string {
  return ces.spec.externalSecretName || String(ces.metadata.name);
}

/** Every selector of the spec (the deprecated single one first, as ESO). */
export function selectorsOf(ces: ClusterExternalSecret): LabelSelector[] {
  return [
    ...(ces.spec.namespaceSelector ? [ces.spec.namespaceSelector] : []),
    ...(ces.spec.namespaceSelectors ?? []),
  ];
}

/**
 * The target namespaces, sorted (ESO `GetTargetNamespaces`).
 * @param all - every namespace of the cluster.
 */
export function targetNamespaces(ces: ClusterExternalSecret, all: NamespaceView[]): string[] {
  const named = new Set(ces.spec.namespaces ?? []);
  const selectors = selectorsOf(ces);
  return all
    .filter((ns) => !ns.terminating)
    .filter((ns) => named.has(ns.name) || selectors.some((s) => labelSelectorMatches(s, ns.labels ?? {})))
    .map((ns) => ns.name)
    .sort();
}

/** True when `es` is controlled by the ClusterExternalSecret `cesName` (ESO `isExternalSecretOwnedBy`). */
export function controlledBy(es: KubeObject | undefined, cesName: string): boolean {
  const owner = es?.metadata.ownerReferences?.find((r) => r.controller === true);
  return (
    !!owner &&
    owner.kind === CES_KIND &&
    String(owner.apiVersion).split('/')[0] === CES_API_VERSION.split('/')[0] &&
    owner.name === cesName
  );
}

/**
 * The ExternalSecret a namespace gets (ESO `createOrUpdateExternalSecret`): the spec, the metadata of
 * `externalSecretMetadata`, ESO's `external-secrets.io/force-sync` annotation copied over, and a
 * controller reference to the ClusterExternalSecret (so the garbage collector removes it with its owner).
 */
export function desiredExternalSecret(ces: ClusterExternalSecret, namespace: string): KubeObject {
  const annotations: Record<string, string> = { ...(ces.spec.externalSecretMetadata?.annotations ?? {}) };
  const force = ces.metadata.annotations?.[ANNOTATION_FORCE_SYNC];
  if (force !== undefined) annotations[ANNOTATION_FORCE_SYNC] = force;
  return {
    apiVersion: CES_API_VERSION,
    kind: 'ExternalSecret',
    metadata: {
      name: externalSecretName(ces),
      namespace,
      labels: { ...(ces.spec.externalSecretMetadata?.labels ?? {}) },
      annotations,
      ownerReferences: [
        {
          apiVersion: CES_API_VERSION,
          kind: CES_KIND,
          name: String(ces.metadata.name),
          uid: String(ces.metadata.uid),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: ces.spec.externalSecretSpec,
  } as unknown as KubeObject;
}

/**
 * One decision per namespace (ESO `deleteOutdatedExternalSecrets` + `gatherProvisionedNamespaces`).
 * @param targets - the target namespaces.
 * @param existing - namespace -> the ExternalSecret of that name there (undefined: none).
 * @param provisioned - `status.provisionedNamespaces` (where this ClusterExternalSecret wrote before).
 * @param previousName - `status.externalSecretName`, when it differs from today's name (a rename).
 */
export function decide(
  ces: ClusterExternalSecret,
  targets: string[],
  existing: Map<string, KubeObject | undefined>,
  provisioned: string[],
  previousName?: string,
): NamespaceDecision[] {
  const name = externalSecretName(ces);
  const cesName = String(ces.metadata.name);
  const decisions: NamespaceDecision[] = [];
  if (previousName && previousName !== name) {
    for (const ns of provisioned) decisions.push({ action: 'delete', namespace: ns, name: previousName });
  }
  const targetSet = new Set(targets);
  for (const ns of provisioned) {
    if (!targetSet.has(ns)) decisions.push({ action: 'delete', namespace: ns, name });
  }
  for (const ns of targets) {
    const es = existing.get(ns);
    if (es && !controlledBy(es, cesName)) {
      decisions.push({ action: 'conflict', namespace: ns, reason: MSG_ALREADY_EXISTS });
    } else {
      decisions.push({ action: 'apply', namespace: ns, desired: desiredExternalSecret(ces, ns) });
    }
  }
  return decisions;
}
