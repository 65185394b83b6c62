/**
 * Diff normalisation: what is removed from both sides before a live object is compared with the
 * server-side dry-run of its desired state. Server-written bookkeeping (managedFields,
 * resourceVersion, generation, uid, creationTimestamp) and `status` never make an app OutOfSync.
 * Fields defaulted by the API server or mutated by admission are on both sides already, because the
 * desired side IS the server's answer to a dry-run apply.
 */
import { isDeepStrictEqual } from 'node:util';
import { KubeObject } from '../kube/object';
import { IgnoreRule, JqPathSource, applyIgnoreRules, evaluateJqHere, rulesFor } from './ignore';

const VOLATILE_METADATA = [
  'managedFields',
  'resourceVersion',
  'generation',
  'uid',
  'creationTimestamp',
  'selfLink',
];

/** Returns a deep copy of `obj` without the fields that never count as drift. */
export function normalizeForDiff(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  for (const key of VOLATILE_METADATA) delete copy.metadata[key];
  delete copy.status;
  return copy;
}

/** True when `live` already is what applying the desired state would produce (`dryRun`). */
export function inSync(dryRun: KubeObject, live: KubeObject): boolean {
  return isDeepStrictEqual(normalizeForDiff(dryRun), normalizeForDiff(live));
}

/**
 * {@link inSync} under an Application's `spec.ignoreDifferences`: the ignored fields are removed from
 * both sides first, on the raw objects, because `managedFieldsManagers` reads the live object's
 * managedFields, which {@link normalizeForDiff} drops. The desired side's owned fields are found
 * with the live object's managedFields too, as Argo CD does.
 * @param dryRun - the server-side dry-run of the desired object.
 * @param live - the live object.
 * @param rules - the Application's ignoreDifferences; rules for other resources are skipped.
 * @param jq - where jq paths come from: in the operator, `resolveJqPaths([dryRun, live], rules)`
 * (./ignore), evaluated off the main thread under the jq deadline; default evaluated here (tests).
 * @returns true when the two objects are equal apart from volatile and ignored fields.
 * @throws IgnoreRuleError (./ignore) for a malformed pointer or an unusable jq expression.
 */
export function inSyncWith(
  dryRun: KubeObject,
  live: KubeObject,
  rules: readonly IgnoreRule[],
  jq: JqPathSource = evaluateJqHere,
): boolean {
  if (rulesFor(rules, live).length === 0) return inSync(dryRun, live);
  return isDeepStrictEqual(
    normalizeForDiff(applyIgnoreRules(dryRun, rules, live, jq)),
    normalizeForDiff(applyIgnoreRules(live, rules, live, jq)),
  );
}
