/**
 * Globs for `spec.source.directory.include` / `exclude`, with Argo CD's exact semantics.
 *
 * Argo CD matches these with gobwas/glob compiled without separators (`glob.Match(pattern, relPath)` in
 * `reposerver/repository`), so `*` matches any run of characters *including `/`*: `*.yaml` selects
 * `sub/dir/x.yaml` too, which users of `recurse: true` rely on. picomatch and minimatch are path-segment
 * globs (`*` stops at `/`, `**` and a leading `!` are special, dotfiles are hidden); used here they would
 * silently select fewer files than Argo CD and an automated sync would prune the rest. Hence this small
 * translator of the gobwas syntax to a RegExp:
 *
 * | syntax          | matches                                                   |
 * |-----------------|-----------------------------------------------------------|
 * | `*`, `**`       | any sequence of characters, `/` and leading dots included |
 * | `?`             | any single character                                      |
 * | `[abc]` `[a-z]` | one character from the class; `[!abc]` negates            |
 * | `{a,b*,c}`      | any of the alternatives (which may nest)                  |
 * | `\x`            | the character `x` literally                               |
 */
import { RE2JS } from 're2js';
import { RenderError } from './errors';

/**
 * Compiles a gobwas-style glob into an RE2 expression (re2js), matched against whole paths. RE2 runs in
 * linear time: the app author writes the glob and the repository's paths, and a backtracking
 * JavaScript RegExp took 50 s on `*a*a*a*a*a*a*a*ab` against a 60-character path, freezing the process.
 * @param pattern - the glob, for example `{config.json,env-usw2/*}`.
 * @returns the compiled expression; `matches(path)` tests a whole path (relative, `/`-separated).
 * @throws RenderError when the pattern is malformed (an unclosed `[` or `{`, a trailing `\`). Argo CD
 *   logs and treats such a pattern as matching nothing; capstan refuses it, because an include that
 *   matches nothing renders an empty app and would prune everything.
 */
export function globToRegExp(pattern: string): RE2JS {
  const parser = new GlobParser(pattern);
  const source = parser.sequence(false);
  // DOTALL: `.` also matches newlines; RE2 matches code points, as gobwas matches runes.
  return RE2JS.compile(source, RE2JS.DOTALL);
}

/** Compiled globs by pattern (compiling costs about 60 µs, a match a few µs; one app tests every file). */
const compiledGlobs = new Map<string, RE2JS>();

/**
 * Tests a path against a glob.
 * @param pattern - the glob (see {@link globToRegExp}).
 * @param relPath - the path relative to the app path, `/`-separated.
 * @returns whether the whole path matches.
 * @throws RenderError when the pattern is malformed.
 */
export function globMatch(pattern: string, relPath: string): boolean {
  let re = compiledGlobs.get(pattern);
  if (!re) {
    re = globToRegExp(pattern);
    if (compiledGlobs.size >= 1_000) compiledGlobs.clear();
    compiledGlobs.set(pattern, re);
  }
  return re.matches(relPath);
}

/** Recursive-descent translator; `pos` walks `pattern`. */
class GlobParser {
  private pos = 0;

  constructor(private readonly pattern: string) {}

  /** Translates up to the end, or (inside braces) up to the next unnested `,` or `}`. */
  sequence(inBraces: boolean): string {
    let out = '';
    while (this.pos < this.pattern.length) {
      const c = this.pattern[this.pos];
      if (inBraces && (c === ',' || c === '}')) return out;
      this.pos++;
      out += this.token(c);
    }
    if (inBraces) this.fail('an unclosed "{"');
    return out;
  }

  private token(c: string): string {
    switch (c) {
      case '*':
        while (this.pattern[this.pos] === '*') this.pos++;
        return '.*';
      case '?':
        return '.';
      case '[':
        return this.charClass();
      case '{':
        return this.alternatives();
      case '\\':
        return escapeRegExp(this.escaped());
      default:
        return escapeRegExp(c);
    }
  }

  private escaped(): string {
    if (this.pos >= this.pattern.length) this.fail('a trailing "\\"');
    return this.pattern[this.pos++];
  }

  private charClass(): string {
    const negate = this.pattern[this.pos] === '!';
    if (negate) this.pos++;
    let body = '';
    while (this.pos < this.pattern.length && this.pattern[this.pos] !== ']') {
      const c = this.pattern[this.pos++];
      if (c === '-' && body !== '' && this.pattern[this.pos] !== ']') body += '-';
      else body += escapeClassChar(c === '\\' ? this.escaped() : c);
    }
    if (this.pos >= this.pattern.length || body === '') this.fail('an unclosed or empty "["');
    this.pos++;
    return `[${negate ? '^' : ''}${body}]`;
  }

  private alternatives(): string {
    const options: string[] = [];
    for (;;) {
      options.push(this.sequence(true));
      const c = this.pattern[this.pos++];
      if (c === '}') return `(?:${options.join('|')})`;
    }
  }

  private fail(what: string): never {
    throw new RenderError(`invalid glob "${this.pattern}": ${what}`);
  }
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function escapeClassChar(c: string): string {
  return c.replace(/[\]\\^-]/g, '\\$&');
}
