/**
 * The plan of a multi-source Application (`spec.sources[]`), as Argo CD's multi-source apps
 * (docs: user-guide/multiple_sources.md; controller `GetRefSources`, repo-server `getResolvedValueFiles`):
 *
 * ```yaml
 * sources:
 *   - repoURL: https://git.example.com/charts.git    # renders: a chart
 *     path: charts/web
 *     helm: { valueFiles: [$values/web/prod.yaml] }  # a file of the source whose ref is `values`
 *   - repoURL: https://git.example.com/config.git    # ref only (no path, no chart): renders nothing
 *     targetRevision: main
 *     ref: values
 * ```
 *
 * - every source is resolved to its own revision; all of them are the app's revisions, in `spec.sources`
 *   order (`status.sync.revisions`, `syncResult.revisions`, `history[].revisions`);
 * - a source with `ref` and no `path` (and no `chart`) renders nothing: it only provides files;
 * - `$<ref>/<path>` in a Helm source's `valueFiles` is a file of the source with that `ref`, at that
 *   source's own revision, relative to its repository root (even when it sets `path`);
 * - a `ref` is letters, digits, `_` and `-`, unique in the app, and never on a `chart` source (Argo CD's rules).
 *
 * capstan refuses one thing Argo CD lets through: a `$name/...` value file of a multi-source app whose name is
 * no source's `ref`. Argo CD's repo-server then expands `$name` as an (unset) environment variable and reads
 * `/...` from the chart's own repository root, a silent wrong render; capstan names the unknown ref instead
 * (InvalidSpecError; nothing is applied or pruned).
 *
 * Pure functions only: the comparison (`compare.ts`) resolves, checks out and renders.
 */
import type { SourceSpec } from '../render';

/** Argo CD's rule for a `ref` key (`GetRefSources`). */
export const REF_NAME = /^[a-zA-Z0-9_-]+$/;

/** `$<name>/<path>` at the start of a value file (Argo CD: `$values` may only start the path). */
const REF_VALUE_FILE = /^\$([^/]+)\/(.*)$/;

/** A multi-source spec Argo CD refuses (or that capstan refuses, see the module comment). */
export class SourcesError extends Error {
  override name = 'SourcesError';
}

/**
 * The ref a value file names: `$values/env/prod.yaml` -> `values`; undefined for any other file (relative,
 * absolute or a URL).
 */
export function valueFileRef(valueFile: string): string | undefined {
  return REF_VALUE_FILE.exec(valueFile)?.[1];
}

/** True for a source that only provides files to the others (`ref` without `path` or `chart`): it renders nothing. */
export function isRefOnly(source: SourceSpec): boolean {
  return !!source.ref && !source.path && !source.chart;
}

/** The distinct refs a source's Helm value files name, in order of first use. */
export function refsNamedBy(source: SourceSpec): string[] {
  const names = (source.helm?.valueFiles ?? []).map(valueFileRef).filter((n): n is string => !!n);
  return [...new Set(names)];
}

/**
 * What is wrong with a list of sources, one message per problem (empty when none). Only multi-source lists are
 * checked: a single `spec.source` has no refs to resolve (a `$x/...` value file there stays a relative path,
 * as Argo CD).
 * @param sources - `spec.sources`, or an operation's `sync.sources` (a rollback).
 * @param field - the field named in messages, e.g. `spec.sources`.
 */
export function sourcesProblems(sources: SourceSpec[] | undefined, field = 'spec.sources'): string[] {
  if (!sources?.length) return [];
  const problems: string[] = [];
  const declared = new Map<string, number>();
  sources.forEach((s, i) => {
    if (s.ref === undefined || s.ref === '') return;
    if (!REF_NAME.test(s.ref)) {
      problems.push(
        `${field}[${i}].ref ${JSON.stringify(s.ref.slice(0, 80))}: cannot contain any special characters except '_' and '-'`,
      );
      return;
    }
    if (s.chart) {
      problems.push(
        `${field}[${i}]: a source with ref cannot set chart (value files come from git sources only, as Argo CD)`,
      );
    }
    const first = declared.get(s.ref);
    if (first !== undefined) {
      problems.push(
        `${field}[${i}].ref "${s.ref}": multiple sources had the same ref key (${field}[${first}])`,
      );
      return;
    }
    declared.set(s.ref, i);
  });
  const known = [...declared.keys()];
  sources.forEach((s, i) => {
    (s.helm?.valueFiles ?? []).forEach((file, j) => {
      const name = valueFileRef(file);
      if (name === undefined || declared.has(name)) return;
      const refs = known.length ? `refs: ${known.map((k) => `$${k}`).join(', ')}` : 'no source sets ref';
      problems.push(
        `${field}[${i}].helm.valueFiles[${j}] ${JSON.stringify(file.slice(0, 120))}: no source of this app has ` +
          `ref "${name.slice(0, 80)}" (${refs})`,
      );
    });
  });
  return problems;
}

/**
 * Throws when {@link sourcesProblems} finds any.
 * @throws SourcesError with every problem, joined by `; `.
 */
export function assertSourcesValid(sources: SourceSpec[] | undefined, field = 'spec.sources'): void {
  const problems = sourcesProblems(sources, field);
  if (problems.length) throw new SourcesError(problems.join('; '));
}

/** The source a ref names, at the revision the comparison resolved for it. */
export interface RefTarget {
  /** Index in the sources list. */
  index: number;
  repoURL: string;
  /** Resolved commit SHA. */
  revision: string;
}

/**
 * The ref sources by name, each at its own resolved revision (Argo CD's `RefTargetRevisionMapping`; a
 * rollback's revisions therefore move the values with the chart).
 * @param sources - the sources compared.
 * @param revisions - their resolved revisions, same order.
 */
export function refTargets(sources: SourceSpec[], revisions: string[]): Map<string, RefTarget> {
  const out = new Map<string, RefTarget>();
  sources.forEach((s, index) => {
    if (s.ref && !out.has(s.ref)) out.set(s.ref, { index, repoURL: s.repoURL, revision: revisions[index] });
  });
  return out;
}

/**
 * The revision one source is compared at: the operation's revision for that position when set (an empty
 * entry means "this source's targetRevision", as `argocd app sync --revisions ... --source-positions`), else a
 * single-source override, else the source's `targetRevision`.
 */
export function sourceRevision(
  source: SourceSpec,
  index: number,
  opts: { revisionOverride?: string; revisionOverrides?: string[] },
): string | undefined {
  return opts.revisionOverrides?.[index] || opts.revisionOverride || source.targetRevision;
}
