/**
 * Per-object AppProject checks, pure, as Argo CD's `IsGroupKindNamePermitted` and the permission validator
 * its sync runs on every object (controller/sync.go): an object an app renders may be deployed only when
 *
 * - cluster-scoped: some `clusterResourceWhitelist` entry matches its group, kind (and `name`, when the
 *   entry sets one), and no `clusterResourceBlacklist` entry does; an empty or absent whitelist permits
 *   no cluster-scoped kind at all;
 * - namespaced: `namespaceResourceWhitelist` is absent or has a matching entry (present but empty permits
 *   nothing), and no `namespaceResourceBlacklist` entry matches; and its own namespace (not only the app's
 *   `destination.namespace`) is a permitted destination of the project.
 *
 * Group and kind (and name) are matched as Go's `filepath.Match` patterns (`*`, `?`, `[a-z]`, `[^a-z]`,
 * `\x`), which is what Argo CD uses for these lists. Every kind counts the same: an Application,
 * AppProject or ExternalSecret rendered by an app is checked like a ConfigMap.
 */
import { RE2JS } from 're2js';
import {
  ClusterResourceItem,
  Destination,
  GroupKindItem,
  ProjectSpec,
  destinationPermitted,
} from './permissions';

/** The identity of one object as the checks need it. */
export interface ObjectIdentity {
  /** API group, `''` for the core group. */
  group: string;
  kind: string;
  name: string;
  /** The object's own namespace (after the destination namespace was filled in); `''` when cluster-scoped. */
  namespace: string;
  /**
   * Whether the kind is namespaced, from discovery. A kind the server does not serve yet (its CRD comes in
   * the same sync) counts as namespaced, as Argo CD does.
   */
  namespaced: boolean;
}

/**
 * Why the project refuses this object, in Argo CD's words, or undefined when it is permitted:
 * `resource <group>:<kind> is not permitted in project <project>` (the kind is not allowed) or
 * `namespace <ns> is not permitted in project '<project>'` (the object's own namespace is not a permitted
 * destination).
 * @param projectName - the project's name, for the message.
 * @param project - the project's spec.
 * @param obj - the object.
 * @param destination - the app's destination (server or name); the object's namespace replaces its namespace.
 */
export function resourceViolation(
  projectName: string,
  project: ProjectSpec,
  obj: ObjectIdentity,
  destination: Destination,
): string | undefined {
  if (!groupKindNamePermitted(project, obj)) {
    return `resource ${obj.group}:${obj.kind} is not permitted in project ${projectName}`;
  }
  if (obj.namespaced) {
    const dst = { server: destination.server, name: destination.name, namespace: obj.namespace };
    if (!destinationPermitted(project.destinations, dst)) {
      return `namespace ${obj.namespace} is not permitted in project '${projectName}'`;
    }
  }
  return undefined;
}

/**
 * True when the project's resource lists permit the object's group and kind (and, for cluster-scoped
 * kinds, its name), as Argo CD's `IsGroupKindNamePermitted`.
 */
export function groupKindNamePermitted(
  project: ProjectSpec,
  obj: Pick<ObjectIdentity, 'group' | 'kind' | 'name' | 'namespaced'>,
): boolean {
  if (obj.namespaced) {
    const white = project.namespaceResourceWhitelist;
    // Absent permits every namespaced kind; present and empty permits none (Argo CD: nil vs. []).
    const whitelisted = white === undefined || white === null || inList(white, obj);
    return whitelisted && !inList(project.namespaceResourceBlacklist ?? [], obj);
  }
  return (
    inList(project.clusterResourceWhitelist ?? [], obj) &&
    !inList(project.clusterResourceBlacklist ?? [], obj)
  );
}

function inList(
  list: ReadonlyArray<GroupKindItem | ClusterResourceItem>,
  obj: Pick<ObjectIdentity, 'group' | 'kind' | 'name'>,
): boolean {
  return list.some(
    (item) =>
      pathMatch(item.kind ?? '', obj.kind) &&
      pathMatch(item.group ?? '', obj.group) &&
      (!('name' in item) || !item.name || pathMatch(item.name, obj.name)),
  );
}

/** Compiled patterns; `null` for a malformed one (Go's `filepath.Match` returns an error: no match). */
const compiled = new Map<string, RE2JS | null>();

/**
 * Go's `filepath.Match` on a group, kind or name: `*` any run of characters but `/`, `?` one such
 * character, `[...]` a class (`^` negates), `\` escapes. RE2 (re2js), so linear time.
 */
export function pathMatch(pattern: string, text: string): boolean {
  if (pattern === text && !/[*?[\\]/.test(pattern)) return true;
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = compilePathPattern(pattern);
    if (compiled.size >= 2_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re !== null && re.matches(text);
}

function compilePathPattern(pattern: string): RE2JS | null {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) return null;
      out += RE2JS.quote(pattern[++i]);
    } else if (c === '[') {
      const parsed = pathClass(pattern, i + 1);
      if (!parsed) return null;
      out += parsed.re;
      i = parsed.end;
    } else out += RE2JS.quote(c);
  }
  try {
    return RE2JS.compile(out, RE2JS.DOTALL);
  } catch {
    return null;
  }
}

/** A `filepath.Match` class starting after `[` at `start`: its RE2 form and the index of its `]`. */
function pathClass(pattern: string, start: number): { re: string; end: number } | undefined {
  let i = start;
  const negate = pattern[i] === '^';
  if (negate) i++;
  let body = '';
  let first = true;
  for (; i < pattern.length; i++) {
    let c = pattern[i];
    if (c === ']' && !first) return { re: `[${negate ? '^' : ''}${body}]`, end: i };
    first = false;
    if (c === '\\') {
      if (++i >= pattern.length) return undefined;
      c = pattern[i];
    }
    if (c === '-' && body !== '' && pattern[i + 1] !== ']') {
      body += '-';
      continue;
    }
    body += /[A-Za-z0-9]/.test(c) ? c : `\\${c}`;
  }
  return undefined;
}
