/**
 * AppProject validation: the CRD schema (through validation/validate.ts, the same ajv check every capstan CR
 * gets) plus the rules of Argo CD's `AppProject.ValidateProject` and `SyncWindow.Validate` that a schema
 * cannot express: no `!*` (a deny of everything), no duplicate destinations, source repositories, source
 * namespaces, roles or destination service accounts, deny patterns only where Argo CD has them and with one
 * leading `!`, globs that compile, sync windows that the sync window evaluator (syncwindows.ts) parses: kind, 5-field
 * cron schedule, Go duration, known time zone and at least one of applications/namespaces/clusters.
 *
 * Every problem is worded `field.path: problem`, so that the project's condition and the `InvalidSpecError`
 * of its apps ("project X is invalid: ...") name the field to fix.
 */
import { validateResource } from '../validation/validate';
import { syncWindowProblems, type SyncWindowSpec } from './syncwindows';

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s) => typeof s === 'string') : []);
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.map((o) => (isObject(o) ? o : {})) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Why a glob does not compile (gobwas syntax, which Argo CD's `util/glob` uses): an unclosed `[` or `{`, an
 * unmatched `]` or `}`, or a trailing `\`; undefined when it compiles.
 */
export function globProblem(pattern: string): string | undefined {
  let inClass = false;
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (i === pattern.length - 1) return 'ends with an unescaped \\';
      i++;
    } else if (inClass) {
      inClass = c !== ']';
    } else if (c === '[') inClass = true;
    else if (c === '{') braces++;
    else if (c === '}') {
      if (--braces < 0) return "has a '}' without its '{'";
    }
  }
  if (inClass) return "has an unclosed '['";
  if (braces > 0) return "has an unclosed '{'";
  return undefined;
}

/**
 * Problems of one pattern of a list where Argo CD accepts deny entries (sourceRepos, destinations'
 * server/name/namespace, sourceNamespaces, destinationServiceAccounts' server/namespace).
 * @param field - e.g. `spec.sourceRepos[2]`; `label` is Argo CD's word in its message ("source repository").
 */
function denyPatternProblems(value: string, field: string, label: string): string[] {
  if (value === '!*') {
    // As Argo CD: a deny of everything is refused ("... has an invalid format, '!*'"), it would allow nothing.
    return [`${field}: ${label} has an invalid format, '!*' (a deny of every value allows nothing)`];
  }
  if (value.startsWith('!!') || value === '!') {
    return [`${field}: ${JSON.stringify(value)}: a deny pattern is one '!' followed by a glob`];
  }
  const problem = globProblem(value.startsWith('!') ? value.slice(1) : value);
  return problem ? [`${field}: ${JSON.stringify(value)} is not a valid glob: it ${problem}`] : [];
}

/** `already added` problems for repeated keys, as Argo CD words them ("destination 'x' already added"). */
function duplicates(keys: string[], field: (i: number) => string, label: string): string[] {
  const seen = new Set<string>();
  return keys.flatMap((k, i) => {
    if (seen.has(k)) return [`${field(i)}: ${label} '${k}' already added`];
    seen.add(k);
    return [];
  });
}

function destinationProblems(spec: Obj): string[] {
  const dests = objects(spec.destinations);
  const out = dests.flatMap((d, i) =>
    (['server', 'name', 'namespace'] as const).flatMap((k) =>
      typeof d[k] === 'string' ? denyPatternProblems(d[k] as string, `spec.destinations[${i}].${k}`, k) : [],
    ),
  );
  // Argo CD keys a destination by server/namespace, or name/namespace when only the name is set.
  const keys = dests.map(
    (d) => `${str(d.server) === '' && str(d.name) !== '' ? str(d.name) : str(d.server)}/${str(d.namespace)}`,
  );
  return [...out, ...duplicates(keys, (i) => `spec.destinations[${i}]`, 'destination')];
}

function sourceProblems(spec: Obj): string[] {
  const repos = strings(spec.sourceRepos);
  const namespaces = strings(spec.sourceNamespaces);
  return [
    ...repos.flatMap((r, i) => denyPatternProblems(r, `spec.sourceRepos[${i}]`, 'source repository')),
    ...duplicates(repos, (i) => `spec.sourceRepos[${i}]`, 'source repository'),
    ...namespaces.flatMap((n, i) =>
      denyPatternProblems(n, `spec.sourceNamespaces[${i}]`, 'source namespace'),
    ),
    ...duplicates(namespaces, (i) => `spec.sourceNamespaces[${i}]`, 'source namespace'),
  ];
}

const RESOURCE_LISTS = [
  'clusterResourceWhitelist',
  'clusterResourceBlacklist',
  'namespaceResourceWhitelist',
  'namespaceResourceBlacklist',
] as const;

/** Resource lists take globs but no deny entries (Argo CD matches `!` there literally: never what was meant). */
function resourceListProblems(spec: Obj): string[] {
  return RESOURCE_LISTS.flatMap((list) =>
    objects(spec[list]).flatMap((e, i) =>
      (['group', 'kind', 'name'] as const).flatMap((k) => {
        const v = e[k];
        if (typeof v !== 'string') return [];
        const at = `spec.${list}[${i}].${k}`;
        if (v.startsWith('!'))
          return [
            `${at}: ${JSON.stringify(v)}: resource lists have no '!' deny entries; use the ${list.startsWith('cluster') ? 'clusterResourceBlacklist' : 'namespaceResourceBlacklist'}`,
          ];
        const problem = globProblem(v);
        return problem ? [`${at}: ${JSON.stringify(v)} is not a valid glob: it ${problem}`] : [];
      }),
    ),
  );
}

function windowRuleProblems(spec: Obj): string[] {
  const windows = Array.isArray(spec.syncWindows) ? spec.syncWindows : [];
  const out: string[] = [];
  const seen = new Set<string>();
  windows.forEach((w, i) => {
    if (!isObject(w)) return;
    const at = `spec.syncWindows[${i}]`;
    const id = `'${str(w.kind)}':'${str(w.schedule)}':'${str(w.duration)}'`;
    if (seen.has(id)) out.push(`${at}: window ${id} already exists`);
    seen.add(id);
    if (![w.applications, w.namespaces, w.clusters].some((l) => strings(l).length > 0))
      out.push(`${at}: window ${id} requires one of applications, clusters or namespaces`);
  });
  // Kind, schedule (5-field cron as Argo CD's parser), duration and time zone: the sync window evaluator's
  // own parser, so that a window the validator accepts is one the evaluator can run.
  const parsed = syncWindowProblems(windows.map((w) => (isObject(w) ? w : {})) as SyncWindowSpec[]).map(
    (p) => `spec.${p}`,
  );
  return [...out, ...parsed];
}

function serviceAccountProblems(spec: Obj): string[] {
  const entries = objects(spec.destinationServiceAccounts);
  const out = entries.flatMap((e, i) => {
    const at = `spec.destinationServiceAccounts[${i}]`;
    return [
      ...(['server', 'namespace'] as const).flatMap((k) =>
        typeof e[k] === 'string' ? denyPatternProblems(e[k] as string, `${at}.${k}`, k) : [],
      ),
      ...(str(e.defaultServiceAccount).trim() === '' ? [`${at}.defaultServiceAccount: Required value`] : []),
    ];
  });
  const keys = entries.map((e) => `${str(e.server)}/${str(e.namespace)}`);
  return [
    ...out,
    ...duplicates(keys, (i) => `spec.destinationServiceAccounts[${i}]`, 'destinationServiceAccount'),
  ];
}

function roleProblems(spec: Obj): string[] {
  const names = objects(spec.roles).map((r) => str(r.name));
  return duplicates(names, (i) => `spec.roles[${i}].name`, 'role');
}

/**
 * Argo CD's project rules that the schema cannot express (see the module comment). Pure and defensive: it
 * never throws on a malformed spec (the schema reports that).
 * @param spec - the AppProject's `spec`, unvalidated.
 * @returns problems as `field.path: problem`; empty when the spec is fine.
 */
export function projectRuleProblems(spec: unknown): string[] {
  if (!isObject(spec)) return [];
  return [
    ...sourceProblems(spec),
    ...destinationProblems(spec),
    ...resourceListProblems(spec),
    ...windowRuleProblems(spec),
    ...serviceAccountProblems(spec),
    ...roleProblems(spec),
  ];
}

/** The field path a `field.path: problem` line names. */
const fieldOf = (problem: string): string => problem.slice(0, Math.max(0, problem.indexOf(': ')));

/**
 * Every problem of an AppProject: its schema (and the AppProject checks of validation/validate.ts) and Argo
 * CD's project rules, without repeats.
 * @param obj - the AppProject as read from the cluster.
 * @returns problems as `field.path: problem`; empty when the project is valid.
 */
export function projectProblems(obj: unknown): string[] {
  const schema = validateResource('AppProject', obj);
  const schemaErrors = schema.valid ? [] : schema.errors;
  // One problem per field: a field the schema checks already (a window's duration) is not reported twice.
  const fields = new Set(schemaErrors.map(fieldOf));
  const rules = projectRuleProblems(isObject(obj) ? obj.spec : undefined).filter(
    (p) => !fields.has(fieldOf(p)),
  );
  return [...new Set([...schemaErrors, ...rules])];
}
