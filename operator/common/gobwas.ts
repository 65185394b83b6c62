/**
 * gobwas globs (github.com/gobwas/glob), the matcher Argo CD uses for projects and ignoreDifferences:
 * `*` (inside one segment when a separator is given), `**` (across segments), `?`, `[a-z]` / `[!a-z]`,
 * `{a,b}` and `\x`. Patterns are compiled to RE2 (re2js), so a match takes linear time whatever an
 * app author or project admin writes (a backtracking matcher froze the process on `*a*a*a*...ab`).
 */
import { RE2JS } from 're2js';

/** Compiled globs by separator and pattern; `null` for a malformed pattern. Bounded, cleared when full. */
const compiled = new Map<string, RE2JS | null>();

/**
 * Matches `text` against a gobwas glob, as Argo CD's `glob.Match(pattern, text, separators...)`.
 * Compiled to RE2 (re2js), so a match takes linear time whatever the pattern.
 * @param pattern - the glob; `*` alone matches everything (Argo CD's shortcut, also across separators).
 * @param separator - `'/'` for repository URLs, `''` for none.
 * @returns true when the whole text matches; false for a malformed pattern.
 */
export function gobwasMatch(pattern: string, text: string, separator: '' | '/' = ''): boolean {
  if (pattern === '*') return true;
  const key = `${separator}\u0000${pattern}`;
  let re = compiled.get(key);
  if (re === undefined) {
    re = compileGobwas(pattern, separator);
    if (compiled.size >= 2_000) compiled.clear();
    compiled.set(key, re);
  }
  return re !== null && re.matches(text);
}

/** The RE2 form of a gobwas glob, or null when it is malformed (unclosed `[` or `{`, trailing backslash). */
function compileGobwas(pattern: string, separator: string): RE2JS | null {
  const state = { i: 0, depth: 0, any: separator ? `[^${RE2JS.quote(separator)}]` : '.' };
  let out = '';
  for (; state.i < pattern.length; state.i++) {
    const piece = gobwasToken(pattern, state);
    if (piece === undefined) return null;
    out += piece;
  }
  if (state.depth > 0) return null;
  try {
    return RE2JS.compile(out, RE2JS.DOTALL);
  } catch {
    return null;
  }
}

/** The RE2 text of the token at `state.i` (advancing past it), or undefined when malformed. */
function gobwasToken(pattern: string, state: { i: number; depth: number; any: string }): string | undefined {
  const c = pattern[state.i];
  switch (c) {
    case '*': {
      // `**` crosses separators; `*` stays inside one segment (the same without a separator).
      const superStar = pattern[state.i + 1] === '*';
      while (pattern[state.i + 1] === '*') state.i++;
      return superStar ? '.*' : `${state.any}*`;
    }
    case '?':
      return state.any;
    case '\\':
      return state.i + 1 < pattern.length ? RE2JS.quote(pattern[++state.i]) : undefined;
    case '[': {
      const end = pattern.indexOf(']', state.i + 1);
      if (end < 0) return undefined;
      const body = pattern.slice(state.i + 1, end);
      state.i = end;
      return charClass(body);
    }
    case '{':
      state.depth++;
      return '(?:';
    case ',':
      return state.depth > 0 ? '|' : ',';
    case '}':
      if (state.depth === 0) return RE2JS.quote(c);
      state.depth--;
      return ')';
    default:
      return RE2JS.quote(c);
  }
}

/** A gobwas class body (`a-z`, `!abc`) as an RE2 class, or undefined when empty. */
function charClass(body: string): string | undefined {
  const negate = body.startsWith('!');
  const chars = negate ? body.slice(1) : body;
  if (chars === '') return undefined;
  let out = '';
  for (let k = 0; k < chars.length; k++) {
    const ch = chars[k];
    const range = ch === '-' && k > 0 && k < chars.length - 1;
    out += range || /[A-Za-z0-9]/.test(ch) ? ch : `\\${ch}`;
  }
  return `[${negate ? '^' : ''}${out}]`;
}
