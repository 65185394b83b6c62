/**
 * jq path expressions for `ignoreDifferences[].jqPathExpressions`, evaluated with jqjs
 * (`@michaelhomer/jqjs`, a pure-JavaScript jq). Argo CD compiles `del(<expression>)` with gojq;
 * capstan evaluates `path(<expression>)` instead, which yields the same locations as concrete
 * {@link Path}s, so that the same paths can be removed from both sides of a comparison or restored
 * from the live object (RespectIgnoreDifferences).
 *
 * Why jqjs: it is real jq (pipes, `[]`, `[]?`, `select`, `and`/`or`, `startswith`, `test`, `has`,
 * `..`), synchronous, compiled once per expression, about 10 microseconds per evaluation and
 * without dependencies. jq-web / jq-wasm (jq in WebAssembly) are asynchronous to load and cost
 * 1.5-2 ms per call, which at a few thousand resources per refresh is seconds of CPU.
 *
 * Known differences from jq (each reported as a {@link JqPathError}, not silently ignored):
 * `if`, `//`, `first(f)`, `getpath`, `recurse(f)` and `try` are not supported inside a path
 * expression; regular expressions (`test`) are JavaScript's, not Oniguruma's.
 */
import { compile, JqProgram } from '@michaelhomer/jqjs';
import { Path } from './paths';

/** Why a jq path expression cannot be used: a syntax error or a construct that is not a path. */
export class JqPathError extends Error {
  /**
   * @param expression - the expression as the user wrote it.
   * @param reason - what is wrong, a sentence fragment without the expression.
   */
  constructor(
    readonly expression: string,
    readonly reason: string,
  ) {
    super(`jq path expression ${JSON.stringify(expression)}: ${reason}`);
    this.name = 'JqPathError';
  }
}

/** Evaluates a compiled path expression on one document; see {@link compileJqPath}. */
export type JqPathEvaluator = (doc: unknown) => Path[];

/** More outputs than this is a runaway expression (such as `recurse(.)`), not a set of fields. */
const MAX_PATHS = 10_000;
const CACHE_MAX = 1_000;
const cache = new Map<string, JqPathEvaluator>();

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isPath(v: unknown): v is Path {
  return Array.isArray(v) && v.every((s) => typeof s === 'string' || typeof s === 'number');
}

/**
 * jqjs reports a construct it cannot follow as a path ("no paths for tostring/0") or fails inside
 * its evaluator (a TypeError "... is not iterable"); these hold for every input, so they are the
 * expression's fault. Other errors depend on the input ("Cannot read properties of null" when
 * `startswith` meets a missing field), like jq's runtime errors.
 */
function unsupportedReason(err: unknown): string | undefined {
  const message = messageOf(err);
  const fn = /^no paths for (.+)$/.exec(message);
  if (fn) return `${fn[1]} is not a path expression (it computes values, not locations)`;
  if (err instanceof TypeError && /is not (iterable|a function)/.test(message)) {
    return 'uses a construct that capstan cannot evaluate as a path (if, //, try, first, getpath, recurse)';
  }
  return undefined;
}

function evaluator(expression: string, program: JqProgram): JqPathEvaluator {
  return (doc) => {
    const paths: Path[] = [];
    try {
      for (const out of program(doc)) {
        if (!isPath(out)) throw new JqPathError(expression, 'is not a path expression');
        if (paths.length === MAX_PATHS) {
          throw new JqPathError(expression, `yields more than ${MAX_PATHS} paths`);
        }
        paths.push(out);
      }
    } catch (err) {
      if (err instanceof JqPathError) throw err;
      const reason = unsupportedReason(err);
      if (reason) throw new JqPathError(expression, reason);
      // As Argo CD: an expression that fails on this object ignores nothing in it.
      return [];
    }
    return paths;
  };
}

/**
 * Compiles a jq path expression (cached by its text).
 * @param expression - for example `.spec.template.spec.initContainers[] | select(.name == "istio-init")`
 * or `.metadata.annotations."foo/bar"`.
 * @returns a function from a document to the concrete paths the expression names in it (possibly
 * paths that do not exist, such as `.spec.replicas` on an object without it; removing those is a
 * no-op). An expression that fails on a particular document (a type error in its data) yields no
 * paths, as Argo CD skips it.
 * @throws JqPathError on a syntax error; the returned function throws JqPathError when the
 * expression is not a path expression or uses an unsupported construct.
 */
export function compileJqPath(expression: string): JqPathEvaluator {
  const cached = cache.get(expression);
  if (cached) return cached;
  let program: JqProgram;
  try {
    // A newline before ")" so that a trailing jq comment cannot swallow it.
    program = compile(`path(${expression}\n)`);
  } catch (err) {
    throw new JqPathError(expression, `syntax error: ${messageOf(err)}`);
  }
  const evaluate = evaluator(expression, program);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(expression, evaluate);
  return evaluate;
}
