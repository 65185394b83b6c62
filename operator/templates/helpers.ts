/**
 * The Handlebars helpers capstan's ExternalSecret templates may use: a small, documented set covering
 * what ESO templates do most (base64, JSON, YAML, case, trimming, defaults). Helpers take their input
 * as the last argument, in sprig's order, so `{{ default "5432" port }}` reads like ESO's
 * `{{ .port | default "5432" }}`. `fromJson`/`fromYaml` return objects for subexpressions:
 * `{{ lookup (fromJson config) "host" }}`, `{{#with (fromYaml config)}}{{ user }}{{/with}}`.
 *
 * | helper | example | result |
 * |---|---|---|
 * | `b64enc s` | `{{ b64enc password }}` | base64 of the UTF-8 text |
 * | `b64dec s` | `{{ b64dec cert }}` | text of strict base64 (error otherwise) |
 * | `toJson v` | `{{ toJson (fromYaml cfg) }}` | compact JSON |
 * | `fromJson s` | `{{ lookup (fromJson cfg) "host" }}` | the parsed value |
 * | `toYaml v` | `{{ toYaml (fromJson cfg) }}` | YAML without the final newline (as sprig) |
 * | `fromYaml s` | `{{ lookup (fromYaml cfg) "user" }}` | the parsed value |
 * | `upper s` / `lower s` / `trim s` | `{{ upper region }}` | case / surrounding whitespace |
 * | `default d v` | `{{ default "5432" port }}` | `v`, or `d` when `v` is empty or not defined |
 * | `quote s` | `{{ quote password }}` | a double-quoted, escaped string |
 *
 * Handlebars' own helpers that stay available: `if`, `unless`, `each`, `with` (block helpers) and
 * `lookup` ({@link BUILTIN_HELPERS}). Every other built-in is removed from capstan's environment and is
 * an unknown helper when a template names it: above all `log`, which would print its arguments (secret
 * values) to the process's stdout, and `helperMissing` / `blockHelperMissing`, which Handlebars keeps only
 * as internal hooks (a mustache section on a value, `{{#key}}...{{/key}}`, still works through them).
 *
 * A helper argument that is not defined is an error (except for `default`), as a missing variable is
 * in strict mode. Helper errors never quote the value they failed on.
 */
import YAML from 'yaml';

/** A helper failed; the message names the helper and the problem, never the value. */
export class HelperError extends Error {
  override name = 'HelperError';
}

type HelperFn = (...args: unknown[]) => unknown;

/** Wraps a helper: drops Handlebars' options argument, checks the arity and that arguments are defined. */
function helper(name: string, arity: number, fn: HelperFn, allowUndefined = false): HelperFn {
  return (...all: unknown[]) => {
    const args = all.slice(0, -1); // the last argument is Handlebars' options object
    if (args.length !== arity)
      throw new HelperError(`${name} takes ${arity} argument${arity === 1 ? '' : 's'}, got ${args.length}`);
    if (!allowUndefined && args.some((a) => a === undefined))
      throw new HelperError(`${name}: an argument is not defined`);
    return fn(...args);
  };
}

function text(name: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new HelperError(`${name} expects a string`);
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The helpers, by name (registered on capstan's own Handlebars environment, never the global one). */
export const HELPERS: Record<string, HelperFn> = {
  b64enc: helper('b64enc', 1, (v) => Buffer.from(text('b64enc', v)).toString('base64')),
  b64dec: helper('b64dec', 1, (v) => {
    const s = text('b64dec', v).replace(/[\r\n]/g, '');
    if (!STRICT_BASE64.test(s)) throw new HelperError('b64dec: the value is not valid base64');
    return Buffer.from(s, 'base64').toString('utf8');
  }),
  toJson: helper('toJson', 1, (v) => JSON.stringify(v)),
  fromJson: helper('fromJson', 1, (v) => {
    try {
      return JSON.parse(text('fromJson', v)) as unknown;
    } catch {
      throw new HelperError('fromJson: the value is not valid JSON');
    }
  }),
  toYaml: helper('toYaml', 1, (v) => YAML.stringify(v).replace(/\n$/, '')),
  fromYaml: helper('fromYaml', 1, (v) => {
    try {
      return YAML.parse(text('fromYaml', v)) as unknown;
    } catch {
      throw new HelperError('fromYaml: the value is not valid YAML');
    }
  }),
  upper: helper('upper', 1, (v) => text('upper', v).toUpperCase()),
  lower: helper('lower', 1, (v) => text('lower', v).toLowerCase()),
  trim: helper('trim', 1, (v) => text('trim', v).trim()),
  default: helper('default', 2, (d, v) => (v === undefined || v === null || v === '' ? d : v), true),
  quote: helper('quote', 1, (v) => JSON.stringify(text('quote', v))),
};

/**
 * Handlebars' built-in helpers that templates may use (documented in README.md): the block helpers
 * `if`, `unless`, `each`, `with` and the `lookup` helper. Any other built-in (`log`, and whatever a
 * later Handlebars version adds) is unregistered by the engine.
 */
export const BUILTIN_HELPERS: readonly string[] = ['each', 'if', 'lookup', 'unless', 'with'];

/** The helper names a template may call, capstan's and the kept built-ins, sorted (for messages and docs). */
export const HELPER_NAMES = [...Object.keys(HELPERS), ...BUILTIN_HELPERS].sort();
