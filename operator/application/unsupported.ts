/**
 * Fields of Argo CD's Application that capstan accepts (so that Argo CD manifests apply unchanged) but
 * cannot honour yet. Each one is reported instead of ignored: the app gets an `InvalidSpecError` naming
 * the field and nothing of it is applied or pruned, because deploying without the field would deploy
 * something other than what Argo CD would.
 */
import type { App } from './api';

/**
 * The problems of an app that uses an unsupported field; empty when it uses none.
 * - `spec.sourceHydrator` (Argo CD's source hydrator renders `drySource`, commits the result to
 *   `syncSource.targetBranch` and deploys from there): capstan does not hydrate, so deploying
 *   `spec.source` (or nothing) would be wrong;
 * - `tagPrefix` on a source: in Argo CD it filters the git tags a semver `targetRevision` range picks
 *   from; capstan resolves no semver ranges for git sources yet.
 * @param app - the Application.
 */
export function unsupportedSpecProblems(app: App): string[] {
  const problems: string[] = [];
  if (app.spec.sourceHydrator) {
    problems.push(
      'spec.sourceHydrator is not supported by capstan yet: capstan does not render drySource and commit ' +
        'the result to syncSource.targetBranch; nothing is applied (hydrate with Argo CD or CI, then point ' +
        'spec.source at syncSource.targetBranch and syncSource.path)',
    );
  }
  const sources = app.spec.sources?.length
    ? app.spec.sources.map((s, i) => ({ s, field: `spec.sources[${i}]` }))
    : app.spec.source
      ? [{ s: app.spec.source, field: 'spec.source' }]
      : [];
  for (const { s, field } of sources) {
    if (s.tagPrefix) {
      problems.push(
        `${field}.tagPrefix is not supported by capstan yet: it filters the tags of a semver targetRevision ` +
          'range, and capstan resolves no semver ranges for git sources; name a tag or branch instead',
      );
    }
  }
  return problems;
}
