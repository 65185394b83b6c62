/**
 * capstan's Handlebars engine for `engineVersion: handlebars` templates (capstan-native; ESO's
 * engine is Go's, see `gotemplate/`): strict mode (a missing variable is an error, as ESO's
 * `missingkey=error`), no HTML escaping, and exactly the documented helpers (`helpers.ts`).
 */
import type Handlebars from 'handlebars';
import { BUILTIN_HELPERS, HELPER_NAMES, HELPERS, HelperError } from './helpers';
import { TemplateError } from './errors';

/**
 * Handlebars' runtime hooks: the runtime moves them out of the helpers when a template runs (so a
 * template cannot call them by name) and uses them for sections on values; they must stay registered.
 */
const HOOKS = ['helperMissing', 'blockHelperMissing'];

/**
 * capstan's own Handlebars environment with exactly the documented helpers. `Handlebars.create()`
 * registers every built-in, `log` included, which prints its arguments to stdout: `{{log password}}`
 * would put a secret into the process's log. So every built-in that is not documented is removed.
 */
function createEnvironment(): typeof Handlebars {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const env = (require('handlebars') as typeof Handlebars).create();
  for (const name of Object.keys(env.helpers)) {
    if (!BUILTIN_HELPERS.includes(name) && !HOOKS.includes(name)) env.unregisterHelper(name);
  }
  for (const [name, fn] of Object.entries(HELPERS)) env.registerHelper(name, fn);
  return env;
}

let environment: typeof Handlebars | undefined;

/**
 * The environment, made (and handlebars loaded) on the first template rather than at start: issue 10
 * §2 P2, about 8 MiB of RSS that a process with no handlebars template does not need.
 */
function hb(): typeof Handlebars {
  return (environment ??= createEnvironment());
}
/**
 * `knownHelpersOnly` makes a call of any other helper a compile error ("unknown helper"). The
 * compiler treats its built-ins as known unless told otherwise, so each one is listed: true for the
 * documented names, false for the rest (`log`, the hooks).
 */
const COMPILE_OPTIONS: CompileOptions = {
  noEscape: true,
  strict: true,
  knownHelpersOnly: true,
  knownHelpers: {
    ...Object.fromEntries(['log', ...HOOKS].map((n) => [n, false])),
    ...Object.fromEntries(HELPER_NAMES.map((n) => [n, true])),
  } as KnownHelpers,
};

/** Compiled templates by text; bounded so that changing templates cannot grow memory without end. */
const cache = new Map<string, HandlebarsTemplateDelegate>();
const CACHE_MAX = 1000;

function compiled(text: string): HandlebarsTemplateDelegate {
  let t = cache.get(text);
  if (!t) {
    t = hb().compile(text, COMPILE_OPTIONS);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(text, t);
  }
  return t;
}

function location(err: { lineNumber?: number; column?: number }): string {
  return typeof err.lineNumber === 'number'
    ? ` (line ${err.lineNumber}, column ${(err.column ?? 0) + 1})`
    : '';
}

/**
 * A Handlebars or helper error as a sentence without values. Handlebars puts the context into some
 * messages (`"x" not defined in <context>`, `Cannot use 'in' operator to search for 'x' in <value>`)
 * and the template source into parse errors, so messages are rebuilt from their parts.
 */
export function describeTemplateError(err: unknown): string {
  if (err instanceof HelperError) return err.message;
  const e = err as { message?: unknown; lineNumber?: number; column?: number; name?: string };
  const msg = typeof e?.message === 'string' ? e.message : '';
  let m = /^"([^"]*)" not defined in /.exec(msg);
  if (m) return `"${m[1]}" is not defined${location(e)}`;
  m = /^Cannot use 'in' operator to search for '([^']*)' in /.exec(msg);
  if (m) return `"${m[1]}" cannot be looked up in a string value`;
  m = /unknown helper ([^\s]+)/.exec(msg);
  if (m) return `unknown helper "${m[1]}"${location(e)}; helpers: ${HELPER_NAMES.join(', ')}`;
  if (msg.startsWith('Parse error') || msg.startsWith('Lexical error')) {
    const lines = msg.split('\n');
    const expecting = lines.find((l) => l.startsWith('Expecting'));
    return [lines[0].replace(/:$/, ''), expecting].filter(Boolean).join(': ');
  }
  if (err instanceof hb().Exception)
    return msg
      .split('\n')[0]
      .replace(/ in .*$/, '')
      .slice(0, 200);
  return `rendering failed (${e?.name ?? 'error'})`;
}

/**
 * The context's prototype: no Object.prototype members (so strict mode reports `{{ constructor }}` as
 * not defined), but a `toString`, which Handlebars uses to word its strict-mode error.
 */
export const CONTEXT_PROTO: object = Object.freeze(
  Object.create(null, { toString: { value: () => '[context]' } }),
);

/** The render context: each key as a string own property (so `__proto__` is just a key), on CONTEXT_PROTO. */
export function contextOf(values: Record<string, Buffer | string>): Record<string, string> {
  const ctx = Object.create(CONTEXT_PROTO) as Record<string, string>;
  for (const [k, v] of Object.entries(values)) {
    const value = typeof v === 'string' ? v : v.toString('utf8');
    Object.defineProperty(ctx, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return ctx;
}

/**
 * Renders one template text.
 * @param text - Handlebars source.
 * @param context - the fetched secret as strings (see `renderTemplate`).
 * @param templateKey - for the error message.
 * @throws TemplateError naming `templateKey` and the problem, never a value.
 */
export function renderString(text: string, context: Record<string, string>, templateKey: string): string {
  const ctx = Object.getPrototypeOf(context) === CONTEXT_PROTO ? context : contextOf(context);
  try {
    return compiled(text)(ctx);
  } catch (err) {
    throw new TemplateError(templateKey, describeTemplateError(err));
  }
}
