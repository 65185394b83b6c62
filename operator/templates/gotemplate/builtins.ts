/**
 * Go `text/template`'s predefined functions (https://pkg.go.dev/text/template#hdr-Functions):
 * `not`, `len`, `index`, `slice`, `print`, `printf`, `println`, `html`, `js`, `urlquery` and the
 * comparisons `eq`, `ne`, `lt`, `le`, `gt`, `ge` (`and`/`or` short-circuit in `exec.ts`).
 */
import { GoTemplateError } from './errors';
import type { GoFunc } from './exec';
import { sprintf } from './printf';
import { fromBytes, isMap, sprint, truth, typeName, zeroOf, type Value } from './values';

function arity(name: string, args: Value[], n: number): void {
  if (args.length !== n)
    throw new GoTemplateError(`wrong number of args for ${name}: want ${n} got ${args.length}`);
}

function toIndex(v: Value, what: string): number {
  if (typeof v === 'bigint') return Number(v);
  throw new GoTemplateError(`cannot index slice/array with type ${typeName(v)} (${what})`);
}

/** `index x 1 2` / `index m "k"`: as Go, a missing map key gives the zero value (nil), not an error. */
function index(args: Value[]): Value {
  if (!args.length) throw new GoTemplateError('wrong number of args for index: want at least 1 got 0');
  let cur = args[0];
  for (const k of args.slice(1)) {
    if (isMap(cur)) {
      if (typeof k !== 'string') throw new GoTemplateError(`value has type ${typeName(k)}; should be string`);
      cur = cur.has(k) ? cur.get(k)! : zeroOf(cur);
    } else if (Array.isArray(cur) || typeof cur === 'string') {
      const i = toIndex(k, 'index');
      if (i < 0 || i >= cur.length) throw new GoTemplateError(`index out of range: ${i}`);
      cur = typeof cur === 'string' ? BigInt(cur.charCodeAt(i)) : cur[i];
    } else if (cur === null) throw new GoTemplateError('index of untyped nil');
    else throw new GoTemplateError(`can't index item of type ${typeName(cur)}`);
  }
  return cur;
}

function slice(args: Value[]): Value {
  if (!args.length) throw new GoTemplateError('wrong number of args for slice: want at least 1 got 0');
  const [x, ...idx] = args;
  if (typeof x !== 'string' && !Array.isArray(x))
    throw new GoTemplateError(`can't slice item of type ${typeName(x)}`);
  if (idx.length > 2) throw new GoTemplateError('too many slice indexes');
  const from = idx.length > 0 ? toIndex(idx[0], 'slice') : 0;
  const to = idx.length > 1 ? toIndex(idx[1], 'slice') : x.length;
  if (from < 0 || to < from || to > x.length) throw new GoTemplateError(`slice index out of range`);
  return x.slice(from, to);
}

/** `fmt.Sprint`: a space between operands when neither is a string. */
export function goSprint(args: Value[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += sprint(a);
  });
  return out;
}

type Kind = 'string' | 'int' | 'float' | 'bool' | 'nil' | 'other';
function kind(v: Value): Kind {
  if (v === null) return 'nil';
  const t = typeof v;
  if (t === 'string') return 'string';
  if (t === 'bigint') return 'int';
  if (t === 'number') return 'float';
  if (t === 'boolean') return 'bool';
  return 'other';
}

/** Go's `eq` on two values: same basic kind, or an error (`incompatible types for comparison`). */
function equal(a: Value, b: Value): boolean {
  const ka = kind(a);
  const kb = kind(b);
  if (ka === 'nil' || kb === 'nil') return ka === kb;
  if (ka === 'other' || kb === 'other') throw new GoTemplateError('invalid type for comparison');
  if (ka !== kb) throw new GoTemplateError('incompatible types for comparison');
  return a === b;
}

function less(a: Value, b: Value): boolean {
  const ka = kind(a);
  const kb = kind(b);
  if (ka === 'bool' || ka === 'nil' || ka === 'other' || kb === 'other' || kb === 'nil')
    throw new GoTemplateError('invalid type for comparison');
  if (ka !== kb) throw new GoTemplateError('incompatible types for comparison');
  return (a as string | number | bigint) < (b as string | number | bigint);
}

function htmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&#34;')
    .replace(/'/g, '&#39;')
    .replace(/\0/g, '\ufffd');
}

function jsEscape(s: string): string {
  return s.replace(/[\\'"<>&=\n\r\t\0]/g, (c) => {
    const m: Record<string, string> = {
      '\\': '\\\\',
      "'": "\\'",
      '"': '\\"',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
    };
    return m[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

/** Go's `url.QueryEscape` of a byte string: spaces become `+`, everything but `A-Za-z0-9-_.~` is percent-encoded. */
export function queryEscape(b: string): string {
  let out = '';
  for (const c of Buffer.from(b, 'latin1')) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The predefined functions of `text/template`. */
export const BUILTINS: Record<string, GoFunc> = {
  not: (a) => {
    arity('not', a, 1);
    return !truth(a[0]);
  },
  len: (a) => {
    arity('len', a, 1);
    const v = a[0];
    if (typeof v === 'string' || Array.isArray(v)) return BigInt(v.length);
    if (isMap(v)) return BigInt(v.size);
    throw new GoTemplateError(`len of type ${typeName(v)}`);
  },
  index,
  slice,
  print: (a) => goSprint(a),
  println: (a) => a.map(sprint).join(' ') + '\n',
  printf: (a) => {
    if (!a.length || typeof a[0] !== 'string') throw new GoTemplateError('printf needs a format string');
    return sprintf(a[0], a.slice(1));
  },
  html: (a) => htmlEscape(goSprint(a)),
  js: (a) => jsEscape(goSprint(a)),
  urlquery: (a) => queryEscape(goSprint(a)),
  eq: (a) => {
    if (a.length < 2) throw new GoTemplateError('missing argument for comparison');
    return a.slice(1).some((b) => equal(a[0], b));
  },
  ne: (a) => {
    arity('ne', a, 2);
    return !equal(a[0], a[1]);
  },
  lt: (a) => {
    arity('lt', a, 2);
    return less(a[0], a[1]);
  },
  le: (a) => {
    arity('le', a, 2);
    return less(a[0], a[1]) || equal(a[0], a[1]);
  },
  gt: (a) => {
    arity('gt', a, 2);
    return !less(a[0], a[1]) && !equal(a[0], a[1]);
  },
  ge: (a) => {
    arity('ge', a, 2);
    return !less(a[0], a[1]);
  },
};

/** For messages: a value's kind without its content. */
export function describeValue(v: Value): string {
  return typeof v === 'string' ? `string of ${fromBytes(v).length} characters` : typeName(v);
}
