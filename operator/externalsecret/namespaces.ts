/**
 * Which namespaces may use a ClusterSecretStore: ESO's `spec.conditions[]`. A namespace may use the
 * store when the list is empty or when any condition matches it; inside one condition the fields are
 * ORed (ESO `ClusterSecretStore.conditions`):
 *
 * ```yaml
 * spec:
 *   conditions:
 *     - namespaces: [team-a]                 # by name
 *     - namespaceRegexes: ['^team-b-']       # RE2, unanchored as Go's regexp.MatchString
 *     - namespaceSelector:                   # by label; {} matches every namespace
 *         matchLabels: { secrets: allowed }
 *         matchExpressions: [{ key: tier, operator: In, values: [prod] }]
 * ```
 */
import { RE2JS } from 're2js';
import type { ClusterSecretStoreCondition, LabelSelector } from '../../generated/clustersecretstore';

/** The parts of a namespace the conditions look at. */
export interface NamespaceInfo {
  /** name - the namespace's name. */
  name: string;
  /** labels - its labels (only read when a condition has a namespaceSelector). */
  labels?: Record<string, string>;
}

/** True when some condition has a namespaceSelector, so the namespace's labels must be read. */
export function conditionsNeedLabels(conditions: ClusterSecretStoreCondition[] | undefined): boolean {
  return (conditions ?? []).some((c) => c.namespaceSelector !== undefined && c.namespaceSelector !== null);
}

type Requirement = NonNullable<LabelSelector['matchExpressions']>[number];

/** One matchExpression (In, NotIn, Exists, DoesNotExist; an unknown operator selects nothing, as apimachinery refuses it). */
function requirementMatches(e: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, e.key);
  const values = e.values ?? [];
  switch (e.operator) {
    case 'In':
      return has && values.includes(labels[e.key]);
    case 'NotIn':
      return !has || !values.includes(labels[e.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}

/**
 * Kubernetes label selector semantics: every matchLabels pair and every matchExpression holds; an
 * empty selector matches everything.
 */
export function labelSelectorMatches(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  return (
    Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
    (selector.matchExpressions ?? []).every((e) => requirementMatches(e, labels))
  );
}

/** An RE2 match anywhere in `name`; an expression that does not compile matches nothing. */
function regexMatches(re: string, name: string): boolean {
  try {
    return RE2JS.compile(re).matcher(name).find();
  } catch {
    return false;
  }
}

function conditionMatches(c: ClusterSecretStoreCondition, ns: NamespaceInfo): boolean {
  if ((c.namespaces ?? []).includes(ns.name)) return true;
  if ((c.namespaceRegexes ?? []).some((re) => regexMatches(re, ns.name))) return true;
  return !!c.namespaceSelector && labelSelectorMatches(c.namespaceSelector, ns.labels);
}

/**
 * Whether ExternalSecrets of namespace `ns` may use a ClusterSecretStore with these conditions.
 * @param conditions - the store's `spec.conditions`; empty or unset allows every namespace.
 * @param ns - the namespace's name and (when a selector is used) labels.
 */
export function namespaceAllowed(
  conditions: ClusterSecretStoreCondition[] | undefined,
  ns: NamespaceInfo,
): boolean {
  if (!conditions?.length) return true;
  return conditions.some((c) => conditionMatches(c, ns));
}
