/**
 * Executes a parsed Go template as `text/template` does with `Option("missingkey=error")` (ESO's
 * setting): a missing map key is an error, `and`/`or` short-circuit, `if`/`with`/`range` use Go's
 * truth, variables are scoped to their block, maps range in sorted key order.
 *
 * Budgets (a namespace tenant writes templates; capstan must not be frozen by one): at most
 * {@link MAX_OUTPUT} bytes of output and in any one string, {@link MAX_ITEMS} items in a list,
 * {@link MAX_STEPS} range iterations and {@link MAX_DEPTH} nested `template` calls per execution.
 */
import { GoTemplateError } from './errors';
import type { Arg, BlockNode, Cmd, Node, Pipe, TemplateNode, Tree } from './parse';
import { isMap, sortedKeys, sprint, truth, typeName, type Value } from './values';

/** A template function: evaluated arguments in, a value out; throws GoTemplateError (no values in messages). */
export type GoFunc = (args: Value[]) => Value;

/** Output cap per execution: a Secret holds at most 1 MiB, so 4 MiB is generous. */
export const MAX_OUTPUT = 4 * 1024 * 1024;
/** Range iterations per execution. */
export const MAX_STEPS = 1_000_000;
/** Nested `{{template}}` calls, as Go's `maxExecDepth` stops runaway recursion. */
export const MAX_DEPTH = 100;

/** `break` / `continue` unwinding a range. */
class LoopControl {
  constructor(readonly kind: 'break' | 'continue') {}
}

/** The names `and`, `or` (lazy) and `fail` are handled here, not in the function table. */
export const LAZY = new Set(['and', 'or']);

class State {
  vars: Array<[string, Value]> = [];
  out: string[] = [];
  size = 0;
  steps = 0;
  depth = 0;
  pipe?: Pipe;
  constructor(
    readonly tree: Tree,
    readonly funcs: Record<string, GoFunc>,
  ) {}

  fail(msg: string): never {
    const p = this.pipe;
    throw new GoTemplateError(p ? `line ${p.line}: at <${p.src}>: ${msg}` : msg);
  }

  write(s: string): void {
    this.size += s.length;
    if (this.size > MAX_OUTPUT) this.fail(`output exceeds ${MAX_OUTPUT} bytes`);
    this.out.push(s);
  }

  lookupVar(name: string): Value {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i][0] === name) return this.vars[i][1];
    return this.fail(`undefined variable: ${name}`);
  }

  setVar(name: string, v: Value): void {
    for (let i = this.vars.length - 1; i >= 0; i--)
      if (this.vars[i][0] === name) {
        this.vars[i][1] = v;
        return;
      }
    this.fail(`undefined variable: ${name}`);
  }
}

/** Walks a list of nodes with `dot`. */
function walk(s: State, dot: Value, nodes: Node[]): void {
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        s.write(n.text);
        break;
      case 'action': {
        const v = evalPipe(s, dot, n.pipe);
        if (!n.pipe.decl.length) s.write(printable(v));
        break;
      }
      case 'if':
      case 'with':
        walkIfWith(s, dot, n as BlockNode);
        break;
      case 'range':
        walkRange(s, dot, n as BlockNode);
        break;
      case 'break':
      case 'continue':
        throw new LoopControl(n.t);
      case 'template':
        walkTemplate(s, dot, n);
        break;
    }
  }
}

/** Go prints a top-level nil (a JSON null, a missing `index`) as `<no value>`. */
function printable(v: Value): string {
  if (v === null) return '<no value>';
  return sprint(v);
}

function scoped<T>(s: State, fn: () => T): T {
  const mark = s.vars.length;
  try {
    return fn();
  } finally {
    s.vars.length = mark;
  }
}

function walkIfWith(s: State, dot: Value, n: BlockNode): void {
  scoped(s, () => {
    const v = evalPipe(s, dot, n.pipe);
    if (truth(v)) walk(s, n.t === 'with' ? v : dot, n.list);
    else if (n.elseList) walk(s, dot, n.elseList);
  });
}

function walkRange(s: State, dot: Value, n: BlockNode): void {
  scoped(s, () => {
    const decl = n.pipe.decl;
    const v = evalPipe(s, dot, { ...n.pipe, decl: [] });
    const items: Array<[Value, Value]> = [];
    if (Array.isArray(v)) v.forEach((x, i) => items.push([BigInt(i), x]));
    else if (isMap(v)) for (const k of sortedKeys(v)) items.push([k, v.get(k)!]);
    else if (typeof v === 'bigint') {
      if (v > BigInt(MAX_STEPS)) s.fail(`range over ${v} exceeds ${MAX_STEPS} iterations`);
      for (let i = 0n; i < v; i++) items.push([i, i]);
    } else if (v !== null) {
      s.pipe = n.pipe;
      s.fail(`range can't iterate over ${typeName(v)}`);
    }
    if (!items.length) {
      if (n.elseList) walk(s, dot, n.elseList);
      return;
    }
    for (const [k, x] of items) {
      if (++s.steps > MAX_STEPS) s.fail(`more than ${MAX_STEPS} range iterations`);
      const mark = s.vars.length;
      if (decl.length === 1) declare(s, n.pipe, decl[0], typeof v === 'bigint' ? k : x);
      if (decl.length === 2) {
        declare(s, n.pipe, decl[0], k);
        declare(s, n.pipe, decl[1], x);
      }
      try {
        walk(s, x, n.list);
      } catch (e) {
        if (!(e instanceof LoopControl)) throw e;
        if (e.kind === 'break') break;
      } finally {
        s.vars.length = mark;
      }
    }
  });
}

function declare(s: State, pipe: Pipe, name: string, v: Value): void {
  if (pipe.assign) s.setVar(name, v);
  else s.vars.push([name, v]);
}

function walkTemplate(s: State, dot: Value, n: TemplateNode): void {
  const body = s.tree.defines.get(n.name);
  if (!body) s.fail(`no such template "${n.name}"`);
  const arg = n.pipe ? evalPipe(s, dot, n.pipe) : null;
  if (++s.depth > MAX_DEPTH) s.fail(`exceeded maximum template depth (${MAX_DEPTH})`);
  const saved = s.vars;
  s.vars = [['$', arg]];
  try {
    walk(s, arg, body!);
  } finally {
    s.vars = saved;
    s.depth--;
  }
}

/** Evaluates a pipeline: each command's value is passed as the last argument of the next. */
function evalPipe(s: State, dot: Value, pipe: Pipe): Value {
  const prev = s.pipe;
  s.pipe = pipe.src ? pipe : (prev ?? pipe);
  let v: Value | undefined;
  for (const c of pipe.cmds) v = evalCmd(s, dot, c, v);
  for (const name of pipe.decl) declare(s, pipe, name, v ?? null);
  if (pipe.src) s.pipe = prev;
  return v ?? null;
}

function evalCmd(s: State, dot: Value, c: Cmd, final: Value | undefined): Value {
  const [first, ...rest] = c.args;
  if (first.t === 'ident') return call(s, dot, first.name, rest, final);
  if (rest.length || final !== undefined) {
    if (first.t === 'field' || (first.t === 'var' && first.path.length))
      s.fail(
        `${first.t === 'field' ? '.' + first.path.join('.') : first.name} is not a method but has arguments`,
      );
    s.fail(`can't give argument to non-function ${describe(first)}`);
  }
  if (first.t === 'nil') s.fail('nil is not a command');
  return evalArg(s, dot, first);
}

function describe(a: Arg): string {
  switch (a.t) {
    case 'string':
      return 'a string constant';
    case 'int':
    case 'float':
      return 'a number';
    case 'bool':
      return String(a.value);
    case 'dot':
      return '.';
    case 'var':
      return a.name;
    default:
      return a.t;
  }
}

function call(s: State, dot: Value, name: string, argNodes: Arg[], final: Value | undefined): Value {
  if (LAZY.has(name)) {
    // and/or: evaluate left to right, stop at the first falsy (and) or truthy (or) argument
    const all: Array<Arg | Value> = [...argNodes];
    if (final !== undefined) all.push(final);
    if (!all.length) s.fail(`wrong number of args for ${name}: want at least 1 got 0`);
    let v: Value = null;
    for (const a of all) {
      v = isArg(a) ? evalArg(s, dot, a) : a;
      if (truth(v) === (name === 'or')) return v;
    }
    return v;
  }
  const fn = s.funcs[name];
  if (!fn) s.fail(`function "${name}" not defined`);
  const args = argNodes.map((a) => evalArg(s, dot, a));
  if (final !== undefined) args.push(final);
  try {
    return bounded(s, fn(args));
  } catch (e) {
    if (e instanceof GoTemplateError) s.fail(`error calling ${name}: ${e.message}`);
    if (e instanceof LoopControl) throw e;
    return s.fail(`error calling ${name}: failed`);
  }
}

/** Most list items one value may hold (a doubling loop must not exhaust memory). */
export const MAX_ITEMS = 1_000_000;

/** A function's result within the budgets: a string at most MAX_OUTPUT bytes, a list at most MAX_ITEMS. */
function bounded(s: State, v: Value): Value {
  if (typeof v === 'string' && v.length > MAX_OUTPUT) s.fail(`a value exceeds ${MAX_OUTPUT} bytes`);
  if (Array.isArray(v) && v.length > MAX_ITEMS) s.fail(`a list exceeds ${MAX_ITEMS} items`);
  return v;
}

function isArg(a: Arg | Value): a is Arg {
  return typeof a === 'object' && a !== null && !Array.isArray(a) && !(a instanceof Map) && 't' in a;
}

function evalArg(s: State, dot: Value, a: Arg): Value {
  switch (a.t) {
    case 'dot':
      return dot;
    case 'string':
      return a.value;
    case 'int':
    case 'float':
    case 'bool':
      return a.value;
    case 'nil':
      return null;
    case 'ident':
      return call(s, dot, a.name, [], undefined);
    case 'field':
      return fields(s, dot, a.path, '');
    case 'var':
      return fields(s, s.lookupVar(a.name), a.path, a.name);
    case 'pipe':
      return fields(s, evalPipe(s, dot, a.pipe), a.path, '(...)');
  }
}

/** Follows `.a.b.c` from `v`; as missingkey=error, a missing key is an error naming the key. */
function fields(s: State, v: Value, path: string[], base: string): Value {
  let cur = v;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    if (isMap(cur)) {
      if (!cur.has(key)) s.fail(`map has no entry for key "${key}"`);
      cur = cur.get(key)!;
    } else if (cur === null) s.fail(`nil pointer evaluating ${base}.${path.slice(0, i + 1).join('.')}`);
    else s.fail(`can't evaluate field ${key} in type ${typeName(cur)}`);
  }
  return cur;
}

/**
 * Runs a template.
 * @param tree - the parsed template.
 * @param data - the data (`.` and `$`).
 * @param funcs - the function table.
 * @returns the output as a byte string.
 * @throws GoTemplateError naming the line, action and problem.
 */
export function execute(tree: Tree, data: Value, funcs: Record<string, GoFunc>): string {
  const s = new State(tree, funcs);
  s.vars.push(['$', data]);
  walk(s, data, tree.root);
  return s.out.join('');
}

/** Every function name a template calls, for a check at compile time (as Go's parser does). */
export function calledFunctions(tree: Tree): Set<string> {
  const names = new Set<string>();
  const args = (list: Arg[]): void => {
    for (const a of list) {
      if (a.t === 'ident') names.add(a.name);
      if (a.t === 'pipe') pipe(a.pipe);
    }
  };
  const pipe = (p: Pipe): void => p.cmds.forEach((c) => args(c.args));
  const nodes = (list: Node[]): void => {
    for (const n of list) {
      if (n.t === 'action') pipe(n.pipe);
      if (n.t === 'if' || n.t === 'with' || n.t === 'range') {
        pipe(n.pipe);
        nodes(n.list);
        if (n.elseList) nodes(n.elseList);
      }
      if (n.t === 'template' && n.pipe) pipe(n.pipe);
    }
  };
  nodes(tree.root);
  for (const d of tree.defines.values()) nodes(d);
  return names;
}

/** The top-level fields a template reads (`.remoteRef...`, `$.auth...` and `index . "x"`), for store validation. */
export function rootFields(tree: Tree): Set<string> {
  const roots = new Set<string>();
  const args = (list: Arg[], top: boolean): void => {
    list.forEach((a, i) => {
      if (a.t === 'field' && top) roots.add(a.path[0]);
      if (a.t === 'var' && a.name === '$' && a.path.length) roots.add(a.path[0]);
      if (a.t === 'pipe') a.pipe.cmds.forEach((c) => args(c.args, top));
      if (a.t === 'dot' && top && i === 1 && list[0].t === 'ident' && list[0].name === 'index') {
        const k = list[2];
        if (k?.t === 'string') roots.add(k.value);
      }
    });
  };
  const nodes = (list: Node[], top: boolean): void => {
    for (const n of list) {
      if (n.t === 'action') n.pipe.cmds.forEach((c) => args(c.args, top));
      if (n.t === 'if' || n.t === 'with' || n.t === 'range') {
        n.pipe.cmds.forEach((c) => args(c.args, top));
        nodes(n.list, top && n.t === 'if');
        if (n.elseList) nodes(n.elseList, top);
      }
    }
  };
  nodes(tree.root, true);
  return roots;
}
