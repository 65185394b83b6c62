/**
 * The checks an ExternalSecret passes before anything is fetched: the CRD schema and ESO's webhook
 * rules (`validateResource`), plus what capstan accepts in the API but does not implement (`rewrite.merge`;
 * `generatorRef` in `data[]`, which ESO deprecated and never implemented: generators go in `dataFrom`). A problem is terminal until the spec changes: Ready False, nothing written.
 */
import { validateResource } from '../validation/validate';
import { syncWindowProblems } from './syncwindows';
import type { ExternalSecretObject } from './types';

/**
 * The problems of an ExternalSecret's spec, each as `field.path: problem`.
 * @returns an empty list when capstan can act on it.
 */
export function specProblems(es: ExternalSecretObject): string[] {
  const result = validateResource('ExternalSecret', es);
  const problems = result.valid ? [] : [...result.errors];
  (es.spec.data ?? []).forEach((d, i) => {
    if (d.sourceRef?.generatorRef)
      problems.push(
        `spec.data[${i}].sourceRef.generatorRef: generators are only supported in dataFrom (as ESO)`,
      );
  });
  (es.spec.dataFrom ?? []).forEach((d, i) => {
    (d.rewrite ?? []).forEach((r, j) => {
      if (r.merge)
        problems.push(`spec.dataFrom[${i}].rewrite[${j}].merge: rewrite.merge is not supported by capstan`);
    });
  });
  problems.push(...syncWindowProblems(es));
  return problems;
}
