/**
 * `dataFrom[].rewrite`: renaming fetched keys before they reach the Secret, as ESO's `RewriteMap`.
 * Operations apply in order; each one renames every key:
 *
 * ```yaml
 * dataFrom:
 *   - find: { name: { regexp: '^db-' } }
 *     rewrite:
 *       - regexp: { source: '^db-(.*)', target: 'DB_$1' }   # Go's ReplaceAllString: $1, ${1}, ${name}, $$
 *       - transform: { template: '{{ .value | lower }}' }    # a Go template over the key (.value)
 * ```
 *
 * Regular expressions are RE2 (re2js, linear time) and the target is expanded with Go's `Expand`
 * rules (`$1x` names the group `1x`, which does not exist, so it expands to nothing; write `${1}x`).
 * Unlike ESO, two keys rewritten to the same key are an error instead of an arbitrary winner.
 * `merge` is not supported (the spec check reports it). Errors name keys, never values.
 */
import { RE2JS } from 're2js';
import type { ExternalSecretRewrite } from '../../generated/externalsecret';
import { compileGoTemplate, GoTemplateError, type TemplateData } from '../providers/gotemplate';

/** A rewrite failed (invalid expression or template, key collision); not retryable. */
export class RewriteError extends Error {
  override name = 'RewriteError';
}

/** A match of a compiled expression: its groups by number and name. */
interface MatchGroups {
  group(i: number): string | null;
  named: Record<string, number>;
  count: number;
}

/** Splits `$name` / `${name}` at the start of `rest` (just after `$`), as Go's `extract`. */
function extractName(rest: string): { name: string; length: number } | undefined {
  const braced = /^\{([A-Za-z0-9_]+)\}/.exec(rest);
  if (braced) return { name: braced[1], length: braced[0].length };
  if (rest.startsWith('{')) return undefined;
  const bare = /^[A-Za-z0-9_]+/.exec(rest);
  return bare ? { name: bare[0], length: bare[0].length } : undefined;
}

/** The text of group `name` (a number or a group name); empty when out of range, unknown or unmatched. */
function groupText(m: MatchGroups, name: string): string {
  const index = /^\d+$/.test(name) ? Number(name) : m.named[name];
  if (index === undefined || index > m.count) return '';
  return m.group(index) ?? '';
}

/**
 * Go's `Regexp.Expand` of `template` for one match.
 * @param template - the replacement, e.g. `DB_${1}`.
 * @param m - the match's groups.
 */
export function goExpand(template: string, m: MatchGroups): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    const ref = extractName(template.slice(i + 1));
    if (!ref) {
      out += '$'; // malformed: Go keeps the `$` as text
      continue;
    }
    out += groupText(m, ref.name);
    i += ref.length;
  }
  return out;
}

/**
 * Go's `ReplaceAllString`: every non-overlapping match replaced by the expanded target; an empty match
 * right after a previous match is skipped, as Go does.
 */
export function goReplaceAll(re: RE2JS, input: string, target: string): string {
  const m = re.matcher(input);
  const named = re.namedGroups();
  const count = re.groupCount();
  let out = '';
  let last = 0;
  let prevEnd = -1;
  while (m.find()) {
    const start = m.start();
    const end = m.end();
    if (start === end && start === prevEnd) continue;
    out += input.slice(last, start) + goExpand(target, { group: (i) => m.group(i), named, count });
    last = end;
    prevEnd = end;
  }
  return out + input.slice(last);
}

function compile(source: string, at: string): RE2JS {
  try {
    return RE2JS.compile(source);
  } catch {
    throw new RewriteError(`${at}.regexp.source "${source}" is not a valid RE2 regular expression`);
  }
}

/** Renames every key with `rename`, refusing two keys that end up the same. */
function renameKeys<T>(
  input: Record<string, T>,
  rename: (key: string) => string,
  at: string,
): Record<string, T> {
  const out: Record<string, T> = {};
  const from: Record<string, string> = {};
  for (const key of Object.keys(input).sort()) {
    const next = rename(key);
    if (next in out)
      throw new RewriteError(`${at} rewrites keys "${from[next]}" and "${key}" both to "${next}"`);
    out[next] = input[key];
    from[next] = key;
  }
  return out;
}

function transformer(template: string, at: string): (key: string) => string {
  let compiled;
  try {
    compiled = compileGoTemplate(template);
  } catch (err) {
    throw new RewriteError(`${at}.transform.template: ${(err as Error).message}`);
  }
  return (key) => {
    try {
      return compiled.render({ value: key } as unknown as TemplateData);
    } catch (err) {
      const msg = err instanceof GoTemplateError ? err.message : 'failed';
      throw new RewriteError(`${at}.transform.template on key "${key}": ${msg}`);
    }
  };
}

/**
 * Applies `rewrite` operations in order to the keys of `input` (ESO `RewriteMap`).
 * @param rewrites - the operations; each sets regexp or transform (merge is refused).
 * @param input - fetched keys and values (values are never looked at).
 * @param at - the field path for messages, e.g. `spec.dataFrom[0].rewrite`.
 * @throws RewriteError naming the operation and keys.
 */
export function rewriteKeys<T>(
  rewrites: ExternalSecretRewrite[] | undefined,
  input: Record<string, T>,
  at: string,
): Record<string, T> {
  let out = input;
  (rewrites ?? []).forEach((op, i) => {
    const where = `${at}[${i}]`;
    if (op.regexp) {
      const re = compile(op.regexp.source, where);
      const target = op.regexp.target;
      out = renameKeys(out, (k) => goReplaceAll(re, k, target), where);
    } else if (op.transform) {
      out = renameKeys(out, transformer(op.transform.template, where), where);
    } else {
      throw new RewriteError(`${where}: only regexp and transform rewrites are supported by capstan`);
    }
  });
  return out;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Keys a Secret cannot hold (Kubernetes `IsConfigMapKey`: letters, digits, `-`, `_`, `.`, at most 253,
 * not `.` or `..`), sorted.
 */
export function invalidSecretKeys(keys: Iterable<string>): string[] {
  const bad: string[] = [];
  for (const k of keys) {
    if (!SECRET_KEY.test(k) || k.length > 253 || k === '.' || k === '..') bad.push(k);
  }
  return bad.sort();
}
