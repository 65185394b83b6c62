/**
 * The words of the Application reconcile: log lines and condition messages, in one place (Argo CD's
 * wording where Argo CD has one), as the ExternalSecret operator's constants.ts.
 */
import type { RepeatedResource } from './targets';

/** Logged when the spec is invalid (InvalidSpecError). */
export const LOG_INVALID_SPEC = 'Application spec is invalid; nothing will be applied.';
/** Logged when the comparison failed (ComparisonError). */
export const LOG_COMPARISON_FAILED = 'Comparison failed; nothing in the cluster changes.';

/** ComparisonError's message, as Argo CD's. */
export function comparisonErrorMessage(error: string): string {
  return `Failed to load target state: ${error}`;
}

/** SharedResourceWarning's message, as Argo CD's. */
export function sharedResourceMessage(kind: string, name: string, owner: string, instance: string): string {
  return `${kind}/${name} is part of applications ${owner} and ${instance}`;
}

/** RepeatedResourceWarning's message, as Argo CD's; a multi-source app also names the sources. */
export function repeatedResourceMessage(r: RepeatedResource, multiSource: boolean): string {
  return (
    `Resource ${r.key} appeared ${r.count} times among application resources.` +
    (multiSource ? ` Rendered by spec.sources ${r.sources.join(', ')}; the last one is applied.` : '')
  );
}
