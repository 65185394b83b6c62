/**
 * ignoreDifferences and compare options, as Argo CD's "Diffing Customization".
 *
 * An Application lists fields that must not make a resource OutOfSync:
 *
 * ```yaml
 * spec:
 *   ignoreDifferences:
 *   - group: apps                # API group without version; "" or absent = core
 *     kind: Deployment
 *     name: guestbook            # optional, exact
 *     namespace: default         # optional, exact
 *     jsonPointers: [/spec/replicas]
 *     jqPathExpressions: ['.spec.template.spec.initContainers[] | select(.name == "istio-init")']
 *     managedFieldsManagers: [kube-controller-manager]
 * ```
 *
 * The same paths are removed from both sides of the comparison (the live object and the
 * server-side dry-run of the desired one) before they are compared; {@link mergeIgnoredFromLive}
 * implements the `RespectIgnoreDifferences=true` sync option. Every path source is turned into
 * concrete {@link Path}s on each object, so the three kinds of rules combine freely.
 */
import { gobwasMatch } from '../common/gobwas';
import { ResourceIgnoreDifferences } from '../../generated/application';
import { KubeObject, groupVersion } from '../kube/object';
import { JqPathError, compileJqPath } from './jqpath';
import { JqAbortError, JqJob, JqPool, JqResult, jqTimeout, sharedJqPool } from './jqworker';
import { managedFieldsPaths } from './managedfields';
import { Path, deletePaths, outermostPaths, parsePointer, resolveTokens, restorePath } from './paths';

/**
 * One `spec.ignoreDifferences[]` entry (the generated Application type): which resources it applies
 * to (`group`, `kind`, optional `name` and `namespace`) and which of their fields are ignored
 * (`jsonPointers`, `jqPathExpressions`, `managedFieldsManagers`).
 */
export type IgnoreRule = ResourceIgnoreDifferences;

/** Annotation with comma-separated compare options, such as `IgnoreExtraneous`. */
export const COMPARE_OPTIONS_ANNOTATION = 'argocd.argoproj.io/compare-options';

/**
 * An ignoreDifferences entry that cannot be applied: a malformed JSON pointer, a jq syntax error,
 * or a jq expression that is not a path expression (or uses a construct capstan cannot evaluate).
 * It is the user's to fix, so the caller reports it (a ComparisonError condition) rather than
 * retrying. The message names the rule's kind and the offending entry.
 */
export class IgnoreRuleError extends Error {
  /**
   * @param rule - the rule the entry belongs to.
   * @param field - `jsonPointers` or `jqPathExpressions`.
   * @param entry - the offending pointer or expression.
   * @param reason - what is wrong with it.
   */
  constructor(
    readonly rule: IgnoreRule,
    readonly field: 'jsonPointers' | 'jqPathExpressions',
    readonly entry: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `ignoreDifferences for ${ruleTarget(rule)}: ${field} entry ${JSON.stringify(entry)}: ${reason}`,
      options,
    );
    this.name = 'IgnoreRuleError';
  }
}

function ruleTarget(rule: IgnoreRule): string {
  const gk = rule.group ? `${rule.group}/${rule.kind}` : rule.kind;
  const ns = rule.namespace ? `${rule.namespace}/` : '';
  return rule.name ? `${gk} ${ns}${rule.name}` : gk;
}

const GLOB_CHARS = /[*?[\]{}\\]/;

/**
 * Argo CD matches a rule's group and kind as globs (`glob.Match`, gobwas/glob without separators):
 * `*` matches any text (the empty core group included), `?` one character, `[a-z]` / `[!a-z]` a
 * class, `{a,b}` alternatives, `\x` the character itself. The glob becomes an RE2 expression (re2js,
 * linear time): an app author writes these patterns, and a backtracking matcher (picomatch compiles
 * to a JavaScript RegExp) takes exponential time on `*a*a*a*a*a*a*a*ab` against a long name, which
 * froze the process for tens of seconds. A malformed pattern matches only its own literal text.
 */
function globMatch(pattern: string, text: string): boolean {
  if (pattern === text) return true;
  if (!GLOB_CHARS.test(pattern)) return false;
  return gobwasMatch(pattern, text);
}

/** True when `rule` applies to `obj`: group and kind as globs, name and namespace exact when set. */
export function ruleMatches(rule: IgnoreRule, obj: KubeObject): boolean {
  return (
    globMatch(rule.group ?? '', groupVersion(obj.apiVersion).group) &&
    globMatch(rule.kind, obj.kind) &&
    (!rule.name || rule.name === obj.metadata.name) &&
    (!rule.namespace || rule.namespace === (obj.metadata.namespace ?? ''))
  );
}

/**
 * The rules that apply to an object, as Argo CD's ignore normalizer selects them: the group (from
 * `apiVersion`, `''` for core) and kind match the rule's `group` (absent = `''`) and `kind` as globs
 * (`*` matches all, as in Argo CD's `group: "*"`, `kind: "*"`); `name` and `namespace`, when set,
 * equal the object's.
 * @param rules - the Application's `spec.ignoreDifferences` (plus any system-level rules).
 * @param obj - the desired or live object.
 * @returns the matching rules, in their order.
 */
export function rulesFor(rules: readonly IgnoreRule[], obj: KubeObject): IgnoreRule[] {
  return rules.filter((rule) => ruleMatches(rule, obj));
}

function pointerPaths(rule: IgnoreRule, doc: KubeObject): Path[] {
  const out: Path[] = [];
  for (const pointer of rule.jsonPointers ?? []) {
    let tokens: string[];
    try {
      tokens = parsePointer(pointer);
    } catch (err) {
      throw new IgnoreRuleError(rule, 'jsonPointers', pointer, (err as Error).message, { cause: err });
    }
    const path = resolveTokens(doc, tokens);
    if (path) out.push(path); // a pointer to a missing field is a no-op, as in Argo CD
  }
  return out;
}

/**
 * Where the jq path expressions' locations come from: the paths `expression` names in `doc`.
 * @throws JqPathError when the expression is unusable (a syntax error, not a path expression).
 */
export type JqPathSource = (expression: string, doc: KubeObject) => Path[];

/**
 * Evaluates on the calling thread, without a deadline: for tests and tools only. The operator passes
 * the source that {@link resolveJqPaths} returns, evaluated off the main thread with a deadline.
 */
export const evaluateJqHere: JqPathSource = (expression, doc) => compileJqPath(expression)(doc);

function jqPaths(rule: IgnoreRule, doc: KubeObject, jq: JqPathSource): Path[] {
  const out: Path[] = [];
  for (const expression of rule.jqPathExpressions ?? []) {
    try {
      out.push(...jq(expression, doc));
    } catch (err) {
      const reason = (err as { reason?: string }).reason ?? (err as Error).message;
      throw new IgnoreRuleError(rule, 'jqPathExpressions', expression, reason, { cause: err });
    }
  }
  return out;
}

/** How {@link resolveJqPaths} and {@link validateIgnoreRules} evaluate jq off the main thread. */
export interface JqOptions {
  /** Deadline of one evaluation in ms; default the process-wide `--jq-timeout` (1 s). */
  timeoutMs?: number;
  /** The worker pool; default the process-wide one. */
  pool?: JqPool;
}

/** One evaluation to run, with the rule it belongs to (for the error message). */
interface RuleJob {
  rule: IgnoreRule;
  expression: string;
  doc: KubeObject;
}

/**
 * Runs the jobs in one worker batch and returns them as a {@link JqPathSource} over the same objects
 * (looked up by identity). A job that failed with an unusable expression throws its JqPathError when
 * looked up, where {@link jqPaths} names the rule, as with synchronous evaluation.
 * @throws IgnoreRuleError naming the rule and the expression when one passes the deadline or the
 * worker's heap limit.
 */
async function runJobs(jobs: RuleJob[], opts: JqOptions): Promise<JqPathSource> {
  const docs: KubeObject[] = [];
  const index = new Map<KubeObject, number>();
  const wire: JqJob[] = jobs.map((j) => {
    let doc = index.get(j.doc);
    if (doc === undefined) {
      doc = docs.push(j.doc) - 1;
      index.set(j.doc, doc);
    }
    return { expression: j.expression, doc };
  });
  let results: JqResult[];
  try {
    results = await (opts.pool ?? sharedJqPool()).run(docs, wire, opts.timeoutMs ?? jqTimeout());
  } catch (err) {
    if (!(err instanceof JqAbortError)) throw err;
    const job = jobs[err.jobIndex];
    throw new IgnoreRuleError(job.rule, 'jqPathExpressions', job.expression, err.reason, { cause: err });
  }
  const byDoc = new Map<KubeObject, Map<string, JqResult>>();
  jobs.forEach((j, i) => {
    const forDoc = byDoc.get(j.doc) ?? new Map<string, JqResult>();
    forDoc.set(j.expression, results[i]);
    byDoc.set(j.doc, forDoc);
  });
  return (expression, doc) => {
    const result = byDoc.get(doc)?.get(expression);
    // A programming error: the caller evaluated other objects or rules than it resolved.
    if (!result)
      throw new Error(`jq expression ${JSON.stringify(expression)} was not resolved for this object`);
    if ('error' in result) throw new JqPathError(expression, result.error);
    return result.paths;
  };
}

/**
 * Evaluates, in one message to a jq worker thread and with a deadline per evaluation (Argo CD's
 * `controller.ignore.normalizer.jq.timeout`), every jq path expression of the rules that match each of
 * `docs`, so that the synchronous functions here ({@link applyIgnoreRules},
 * {@link mergeIgnoredFromLive}, `inSyncWith`) can then run without evaluating jq on the main thread.
 * Objects without a matching jq rule cost nothing (no message is sent).
 * @param docs - the objects that will be normalised, for example `[dryRun, live]`; `undefined`
 * entries (a missing live object) are skipped.
 * @param rules - all rules of the Application.
 * @returns the paths, to pass as the `jq` argument along with the very same objects.
 * @throws IgnoreRuleError naming the rule, the expression and the limit when an evaluation passes
 * the deadline (or the worker's heap limit); Error when the worker cannot run.
 */
export async function resolveJqPaths(
  docs: ReadonlyArray<KubeObject | undefined>,
  rules: readonly IgnoreRule[],
  opts: JqOptions = {},
): Promise<JqPathSource> {
  const jobs: RuleJob[] = [];
  for (const doc of new Set(docs)) {
    if (!doc) continue;
    for (const rule of rulesFor(rules, doc)) {
      for (const expression of rule.jqPathExpressions ?? []) jobs.push({ rule, expression, doc });
    }
  }
  return runJobs(jobs, opts);
}

/**
 * The concrete paths in `obj` that the matching rules ignore: JSON pointers that resolve, the
 * locations jq path expressions name, and the fields the listed managers own per the managedFields
 * of `live`. Paths may overlap; {@link deletePaths} and {@link restorePath} cope.
 * @param obj - the object to find the paths in.
 * @param rules - all rules; those not matching `obj` are skipped.
 * @param live - the live object whose managedFields decide `managedFieldsManagers` (default `obj`).
 * @param jq - where jq paths come from: {@link resolveJqPaths}' result for `obj` in the operator;
 * default {@link evaluateJqHere} (no deadline, tests only).
 * @throws IgnoreRuleError for a malformed pointer or an unusable jq expression.
 */
export function ignoredPaths(
  obj: KubeObject,
  rules: readonly IgnoreRule[],
  live: KubeObject = obj,
  jq: JqPathSource = evaluateJqHere,
): Path[] {
  const paths: Path[] = [];
  for (const rule of rulesFor(rules, obj)) {
    paths.push(...pointerPaths(rule, obj), ...jqPaths(rule, obj, jq));
    paths.push(...managedFieldsPaths(live, rule.managedFieldsManagers ?? [], obj));
  }
  return paths;
}

/**
 * A copy of `obj` without the fields the matching rules ignore. Apply it to both sides of a
 * comparison (see `inSyncWith` in normalize.ts): ignoring the field on one side only would make it
 * differ. Maps and lists left empty by a removal are removed as well (as Argo CD drops empty objects
 * after its ignore normalizer), so ignoring the only annotation equals having no annotations.
 *
 * Semantics followed (Argo CD, util/argo/normalizers/diff_normalizer.go and
 * util/argo/managedfields): `jsonPointers` are RFC 6901 (`~1` is `/`, `~0` is `~`) and a pointer to
 * a missing field is a no-op; `jqPathExpressions` remove every location the expression names (jq
 * `del(<expr>)`), and an expression that fails on this object's data removes nothing;
 * `managedFieldsManagers` remove the fields those managers own in the LIVE object's managedFields,
 * from whichever object is given. All paths refer to `obj` as it was (removed together, as jq's
 * `delpaths`), where Argo CD applies its patches one after another.
 * @param obj - the object; not modified.
 * @param rules - all rules; those not matching `obj` are skipped, so the caller may pass the whole
 * `spec.ignoreDifferences`.
 * @param live - the live object whose managedFields decide `managedFieldsManagers`; default `obj`
 * itself (right for the live side; pass the live object when normalizing the desired side).
 * @param jq - where jq paths come from (see {@link ignoredPaths}).
 * @returns the copy (a copy even when nothing is ignored).
 * @throws IgnoreRuleError for a malformed pointer or an unusable jq expression.
 */
export function applyIgnoreRules(
  obj: KubeObject,
  rules: readonly IgnoreRule[],
  live: KubeObject = obj,
  jq: JqPathSource = evaluateJqHere,
): KubeObject {
  const copy = structuredClone(obj);
  deletePaths(copy, ignoredPaths(obj, rules, live, jq));
  return copy;
}

/**
 * The desired object to apply under the `RespectIgnoreDifferences=true` sync option: a copy of
 * `desired` in which every ignored field takes the live object's value, or is absent when the live
 * object lacks it, so that a sync does not overwrite what the user asked to ignore (for example
 * `spec.replicas` under an HPA). Argo CD computes the same thing as "normalize both, then apply the
 * patch live -> normalized live to the normalized target" (controller/sync.go
 * normalizeTargetResources).
 *
 * List elements are matched by `name` where they have one (containers, env, volumes), else by
 * position: a field inside a list element is restored only when `desired` has that element, and an
 * ignored element of the live list is inserted at its live position (or replaces the desired element
 * with the same name). Argo CD matches list elements through strategic-merge-patch metadata, so for
 * lists without a `name` key capstan may line elements up differently.
 * @param desired - the object rendered from git; not modified.
 * @param live - the live object; undefined when the resource does not exist yet, in which case the
 * result is a plain copy of `desired`.
 * @param rules - all rules; those not matching `desired` are skipped.
 * @param jq - where jq paths come from (see {@link ignoredPaths}); for `desired` and `live`.
 * @returns the object to apply.
 * @throws IgnoreRuleError for a malformed pointer or an unusable jq expression.
 */
export function mergeIgnoredFromLive(
  desired: KubeObject,
  live: KubeObject | undefined,
  rules: readonly IgnoreRule[],
  jq: JqPathSource = evaluateJqHere,
): KubeObject {
  if (!live || rulesFor(rules, desired).length === 0) return structuredClone(desired);
  const result = applyIgnoreRules(desired, rules, live, jq);
  for (const path of outermostPaths(ignoredPaths(live, rules, live, jq))) restorePath(result, live, path);
  return result;
}

/**
 * {@link mergeIgnoredFromLive} with the jq expressions evaluated off the main thread under the jq
 * deadline ({@link resolveJqPaths}): what the operator runs for `RespectIgnoreDifferences=true`.
 * @throws IgnoreRuleError as {@link mergeIgnoredFromLive}, and when an expression passes the deadline.
 */
export async function mergeIgnoredFromLiveBounded(
  desired: KubeObject,
  live: KubeObject | undefined,
  rules: readonly IgnoreRule[],
  opts: JqOptions = {},
): Promise<KubeObject> {
  if (!live || rulesFor(rules, desired).length === 0) return structuredClone(desired);
  return mergeIgnoredFromLive(desired, live, rules, await resolveJqPaths([desired, live], rules, opts));
}

/**
 * The options listed in an object's `argocd.argoproj.io/compare-options` annotation: comma-separated,
 * surrounding whitespace trimmed, empty entries dropped.
 */
export function compareOptions(obj: KubeObject): string[] {
  const value = obj.metadata.annotations?.[COMPARE_OPTIONS_ANNOTATION] ?? '';
  return value
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
}

/**
 * True when the object's compare-options annotation lists `option` exactly, as Argo CD's
 * `HasAnnotationOption`. For example `hasCompareOption(obj, 'IgnoreExtraneous')` for
 * `argocd.argoproj.io/compare-options: IgnoreExtraneous`: the resource does not count towards the
 * app's sync status when it is extraneous (live but not in git), which the caller applies.
 * Options with a value are matched whole (`ServerSideDiff=true`).
 */
export function hasCompareOption(obj: KubeObject, option: string): boolean {
  return compareOptions(obj).includes(option);
}

/**
 * Checks every JSON pointer's syntax and every jq expression of `rules`, so that a bad entry is
 * reported once when the Application is read, not per resource: each expression is compiled (syntax)
 * and evaluated on an empty object of the rule's kind, in a jq worker under the deadline (as
 * {@link resolveJqPaths}), which finds most expressions that are not path expressions and every one
 * that is slow whatever the object. Expressions that fail only on some data are found when evaluated
 * on a resource.
 * @param opts - the deadline and pool (default the process-wide ones).
 * @throws IgnoreRuleError for the first bad entry (pointers and syntax first, in rule order).
 */
export async function validateIgnoreRules(rules: readonly IgnoreRule[], opts: JqOptions = {}): Promise<void> {
  const jobs: RuleJob[] = [];
  const stubs = new Map<IgnoreRule, KubeObject>();
  for (const rule of rules) {
    for (const pointer of rule.jsonPointers ?? []) {
      try {
        parsePointer(pointer);
      } catch (err) {
        throw new IgnoreRuleError(rule, 'jsonPointers', pointer, (err as Error).message, { cause: err });
      }
    }
    const stub: KubeObject = { apiVersion: 'v1', kind: rule.kind, metadata: {} };
    stubs.set(rule, stub);
    for (const expression of rule.jqPathExpressions ?? []) {
      try {
        compileJqPath(expression); // parsing only: linear in the text, safe on the main thread
      } catch (err) {
        const reason = (err as { reason?: string }).reason ?? (err as Error).message;
        throw new IgnoreRuleError(rule, 'jqPathExpressions', expression, reason, { cause: err });
      }
      jobs.push({ rule, expression, doc: stub });
    }
  }
  if (jobs.length === 0) return;
  const jq = await runJobs(jobs, opts);
  for (const [rule, stub] of stubs) jqPaths(rule, stub, jq);
}
