/**
 * capstan's Go `text/template` engine: the template language of ESO's `engineVersion: v2`, of the
 * webhook provider's `url`/`headers`/`body`/`jsonPath` and of `rewrite[].transform.template`.
 *
 * ```
 * {{ .password | b64enc }}                         fields, pipelines (the piped value comes last)
 * {{ index . "tls.crt" | filterPEM "CERTIFICATE" }} keys that are not identifiers; ESO's PEM helpers
 * {{- $u := .user }}{{ if eq $u "admin" }}root{{ else }}{{ $u }}{{ end -}}   variables, blocks, trim
 * {{ range $k, $v := fromJson .config }}{{ $k }}={{ $v }}{{ "\n" }}{{ end }}  maps range in key order
 * ```
 *
 * Semantics are Go's with `missingkey=error`, as ESO executes templates (`parse.ts`, `exec.ts`);
 * functions are Go's predefined ones (`builtins.ts`), the sprig functions ESO exposes (`sprig.ts`,
 * which lists what is left out) and ESO's key and certificate helpers (`pki.ts`). Strings are byte
 * strings, so binary secrets (PKCS#12) pass through unchanged. Errors (`GoTemplateError`) name the
 * line, the action's text and the problem, never a data value.
 */
import { BUILTINS } from './builtins';
import { GoTemplateError } from './errors';
import { calledFunctions, execute, LAZY, rootFields, type GoFunc } from './exec';
import { parse, type Tree } from './parse';
import { PKI } from './pki';
import { SPRIG } from './sprig';
import { bufToBytes, fromBytes, markStringMap, toBytes, type GoMap, type Value } from './values';

export { GoTemplateError } from './errors';
export { queryEscape } from './builtins';
export { toBytes, fromBytes, fromPlain, markStringMap, type Value, type GoMap } from './values';

/** Every function a template may call: Go's, sprig's (as ESO), ESO's; later tables win as in ESO's FuncMap. */
export const FUNCTIONS: Readonly<Record<string, GoFunc>> = Object.freeze({ ...BUILTINS, ...SPRIG, ...PKI });

/** The function names, sorted (for messages and docs), `and`/`or` included. */
export const FUNCTION_NAMES: readonly string[] = [...Object.keys(FUNCTIONS), ...LAZY].sort();

/** A compiled Go template. */
export interface CompiledGoTemplate {
  /** The top-level fields the template reads (`.remoteRef`, `index . "x"`), for validation. */
  readonly roots: ReadonlySet<string>;
  /**
   * Executes the template.
   * @param data - the dot: a map (see `bytesContext` / `fromPlain`).
   * @returns the output as a byte string (`Buffer.from(out, 'latin1')` gives its bytes).
   * @throws GoTemplateError naming the line, the action and the problem.
   */
  execute(data: Value): string;
}

/** Compiled templates by source; bounded so that changing templates cannot grow memory without end. */
const cache = new Map<string, CompiledGoTemplate>();
const CACHE_MAX = 1000;

/**
 * Parses a template (cached by text).
 * @param text - the template as written (a JS string; converted to bytes).
 * @throws GoTemplateError for a syntax error or a call of an undefined function (as Go's parser).
 */
export function compile(text: string): CompiledGoTemplate {
  const hit = cache.get(text);
  if (hit) return hit;
  const tree: Tree = parse(toBytes(text));
  for (const name of calledFunctions(tree))
    if (!(name in FUNCTIONS) && !LAZY.has(name)) throw new GoTemplateError(`function "${name}" not defined`);
  const compiled: CompiledGoTemplate = {
    roots: rootFields(tree),
    execute: (data) => execute(tree, data, FUNCTIONS),
  };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(text, compiled);
  return compiled;
}

/** ESO's render context: `map[string]string` of the fetched keys, each value its bytes. */
export function bytesContext(values: Record<string, Buffer | string>): GoMap {
  const m: GoMap = new Map();
  for (const [k, v] of Object.entries(values))
    m.set(toBytes(k), typeof v === 'string' ? toBytes(v) : bufToBytes(v));
  return markStringMap(m);
}

/**
 * Compiles and executes once, for text in and text out (webhook, rewrite).
 * @returns the output decoded as UTF-8.
 */
export function renderText(text: string, data: Value): string {
  return fromBytes(compile(text).execute(data));
}
