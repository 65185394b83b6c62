/**
 * The sprig functions ESO's template engine v2 exposes (ESO's `runtime/template/v2/sprig` fork of
 * Masterminds/sprig), with sprig's argument order: the value a pipeline passes comes last
 * (`{{ .x | trimPrefix "a" }}` is `trimPrefix "a" .x`).
 *
 * Left out on purpose (a template calling them gets `function "x" not defined`): the random ones
 * (`randAlpha`, `randAlphaNum`, `randAscii`, `randNumeric`, `randInt`, `randBytes`, `shuffle`: use
 * a generator), the key and certificate generators and password hashers (`genPrivateKey`, `genCA*`,
 * `genSelfSignedCert*`, `genSignedCert*`, `buildCustomCert`, `derivePassword`, `bcrypt`,
 * `htpasswd`), `encryptAES`/`decryptAES`, the date functions (`now`, `date`, `toDate`, `ago`,
 * `duration`, ...: a Secret that changes with the clock is rewritten at every refresh), `semver*`,
 * `urlParse`/`urlJoin`, `wrap`/`wrapWith`, `toDecimal`, the `os*` path functions, `hello`, and ESO's
 * `pemTruststoreToPKCS12*`.
 *
 * Where sprig swallows an error (`b64dec` of bad base64 returns the error text; `fromJson`,
 * `toYaml` return `""`), capstan reports a template error instead: a silent wrong value in a
 * Secret is worse than a condition.
 */
import crypto from 'node:crypto';
import { RE2JS } from 're2js';
import YAML from 'yaml';
import { goJson } from '../../providers/json';
import { GoTemplateError } from './errors';
import type { GoFunc } from './exec';
import {
  fromBytes,
  fromPlain,
  goQuote,
  isMap,
  sortedKeys,
  sprint,
  toBytes,
  toPlain,
  truth,
  typeName,
  type GoMap,
  type Value,
} from './values';

/** Go's `interface{}` argument as a string parameter: Go refuses anything but a string. */
export function str(v: Value | undefined, fn: string): string {
  if (typeof v === 'string') return v;
  throw new GoTemplateError(`${fn}: expected string; got ${typeName(v ?? null)}`);
}

/** sprig's `strval`: strings as they are, everything else as `%v`. */
function strval(v: Value): string {
  return typeof v === 'string' ? v : v === null ? '' : sprint(v);
}

/** sprig's `toInt64` (spf13/cast): numbers truncated, strings parsed, anything else 0. */
function toInt(v: Value): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^[+-]?\d+$/.test(s)) return BigInt(s);
    if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(s)) return BigInt(s.replace(/^([+-]?)0[xX]/, '$10x'));
    const f = Number(s);
    return s && Number.isFinite(f) ? BigInt(Math.trunc(f)) : 0n;
  }
  return 0n;
}

function toFloat(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const f = Number(v.trim());
    return v.trim() && Number.isFinite(f) ? f : 0;
  }
  return 0;
}

function n(args: Value[], want: number, fn: string): void {
  if (args.length !== want)
    throw new GoTemplateError(`wrong number of args for ${fn}: want ${want} got ${args.length}`);
}

function list(v: Value, fn: string): Value[] {
  if (Array.isArray(v)) return v;
  throw new GoTemplateError(`${fn}: cannot find ${fn} on type ${typeName(v)}`);
}

function map(v: Value, fn: string): GoMap {
  if (isMap(v)) return v;
  throw new GoTemplateError(`${fn}: expected map; got ${typeName(v)}`);
}

/** sprig's `empty`: nil, false, 0, "" and empty collections. */
export function empty(v: Value | undefined): boolean {
  return v === undefined || !truth(v);
}

/** A string function applied to the decoded text (case changes are per character, not per byte). */
function text(fn: string, f: (s: string) => string): GoFunc {
  return (a) => {
    n(a, 1, fn);
    return toBytes(f(fromBytes(str(a[0], fn))));
  };
}

/** A `(arg, s)` byte-string function. */
function two(fn: string, f: (a: string, s: string) => Value): GoFunc {
  return (a) => {
    n(a, 2, fn);
    return f(str(a[0], fn), str(a[1], fn));
  };
}

function re(pattern: string, fn: string): RE2JS {
  try {
    return RE2JS.compile(fromBytes(pattern));
  } catch {
    throw new GoTemplateError(`${fn}: invalid regular expression`);
  }
}

const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function b32enc(b: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  while (out.length % 8) out += '=';
  return out;
}

function b32dec(s: string): Buffer {
  const clean = s.replace(/=+$/, '');
  if (!/^[A-Z2-7]*$/.test(clean) || s.length % 8)
    throw new GoTemplateError('b32dec: the value is not valid base32');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of clean) {
    value = (value << 5) | B32.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function adler32(b: Buffer): number {
  let a = 1;
  let c = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    c = (c + a) % 65521;
  }
  return ((c << 16) | a) >>> 0;
}

/** Go's `strings.Title`: the first letter of each word upper-cased. */
function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase());
}

function words(s: string): string[] {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
}

function indent(spaces: bigint, s: string): string {
  const pad = ' '.repeat(Number(spaces));
  return pad + s.replace(/\n/g, '\n' + pad);
}

/** sigs.k8s.io/yaml's Marshal (via JSON): keys sorted, block style, no trailing newline (as ESO's toYaml). */
function toYaml(v: Value): string {
  const plain = toPlain(v);
  if (plain === null) return 'null';
  return toBytes(YAML.stringify(plain, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, ''));
}

function parseYaml(s: string, fn: string): unknown {
  try {
    // YAML 1.1 booleans are not needed: sigs.k8s.io/yaml uses go-yaml v2 (1.1) but ESO users write JSON-like YAML
    return YAML.parse(fromBytes(s), { maxAliasCount: 100 }) as unknown;
  } catch {
    throw new GoTemplateError(`${fn}: the value is not valid YAML`);
  }
}

function parseJson(s: string, fn: string): unknown {
  try {
    return JSON.parse(fromBytes(s)) as unknown;
  } catch {
    throw new GoTemplateError(`${fn}: the value is not valid JSON`);
  }
}

function dict(a: Value[]): GoMap {
  const m: GoMap = new Map();
  for (let i = 0; i < a.length; i += 2) m.set(strval(a[i]), i + 1 < a.length ? a[i + 1] : '');
  return m;
}

function equalDeep(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => equalDeep(x, b[i]));
  if (isMap(a) && isMap(b))
    return a.size === b.size && [...a].every(([k, x]) => b.has(k) && equalDeep(x, b.get(k)!));
  return a === b;
}

/** mergo.Merge (sprig's `merge`): fills keys missing in dst, recursing into maps; `overwrite` replaces. */
function mergeInto(dst: GoMap, src: GoMap, overwrite: boolean): void {
  for (const [k, v] of src) {
    const cur = dst.get(k);
    if (isMap(cur) && isMap(v)) mergeInto(cur, v, overwrite);
    else if (!dst.has(k) || empty(cur) || (overwrite && !empty(v))) dst.set(k, v);
  }
}

function deepCopy(v: Value): Value {
  if (Array.isArray(v)) return v.map(deepCopy);
  if (isMap(v)) return new Map([...v].map(([k, x]) => [k, deepCopy(x)]));
  return v;
}

/** reflect's Kind name of a value (sprig's `kindOf`). */
function kindOf(v: Value): string {
  if (v === null) return 'invalid';
  if (typeof v === 'bigint') return 'int';
  if (Array.isArray(v)) return 'slice';
  if (isMap(v)) return 'map';
  return typeName(v);
}

const MAX_ITEMS = 1_000_000;
function bounded(count: number, fn: string): void {
  if (count > MAX_ITEMS) throw new GoTemplateError(`${fn}: more than ${MAX_ITEMS} items`);
}

function seq(a: Value[]): string {
  const nums = a.map((x) => Number(toInt(x)));
  let [start, step, end] = [1, 1, 0];
  if (nums.length === 1) end = nums[0];
  else if (nums.length === 2) [start, end] = nums;
  else if (nums.length === 3) [start, step, end] = nums;
  else return '';
  if (nums.length < 3 && end < start) step = -1;
  if (step === 0 || (step > 0 && end < start) || (step < 0 && end > start)) return '';
  bounded(Math.abs((end - start) / step), 'seq');
  const out: number[] = [];
  for (let i = start; step > 0 ? i <= end : i >= end; i += step) out.push(i);
  return out.join(' ');
}

function untilStep(start: number, stop: number, step: number): Value[] {
  if (step === 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop)) return [];
  bounded(Math.abs((stop - start) / step), 'untilStep');
  const out: Value[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(BigInt(i));
  return out;
}

function hash(alg: string): GoFunc {
  return (a) => {
    n(a, 1, `${alg}sum`);
    return crypto
      .createHash(alg)
      .update(Buffer.from(str(a[0], `${alg}sum`), 'latin1'))
      .digest('hex');
  };
}

function floatOp(fn: (x: number, y: number) => number): GoFunc {
  return (a) => {
    if (!a.length) return 0;
    return a.slice(1).reduce<number>((acc, x) => fn(acc, toFloat(x)), toFloat(a[0]));
  };
}

function regexFindAll(r: RE2JS, s: string, limit: number): Value[] {
  const m = r.matcher(fromBytes(s));
  const out: Value[] = [];
  while ((limit < 0 || out.length < limit) && m.find()) out.push(toBytes(m.group() ?? ''));
  return out;
}

/** Go's `Regexp.ReplaceAllString`: `$1`, `${1}`, `$name`, `${name}` expand (unknown ones to ""), `$$` is `$`. */
function goReplaceAll(r: RE2JS, input: string, repl: string): string {
  const names = r.namedGroups();
  let out = '';
  let last = 0;
  for (const m of r.matchAll(input)) {
    const at = m.index ?? 0;
    out += input.slice(last, at);
    out += repl.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (tok, braced?: string, bare?: string) => {
      if (tok === '$$') return '$';
      const name = braced ?? bare ?? '';
      const idx = /^\d+$/.test(name) ? Number(name) : names[name];
      return idx === undefined ? '' : (m[idx] ?? '');
    });
    last = at + m[0].length;
    if (!m[0].length && last < input.length) {
      out += input[last];
      last++;
    }
  }
  return out + input.slice(last);
}

/** The sprig functions, by name. */
export const SPRIG: Record<string, GoFunc> = {
  // strings
  upper: text('upper', (s) => s.toUpperCase()),
  lower: text('lower', (s) => s.toLowerCase()),
  title: text('title', title),
  untitle: text('untitle', (s) =>
    s.replace(/(^|\s)(\S)/g, (_m, p: string, c: string) => p + c.toLowerCase()),
  ),
  swapcase: text('swapcase', (s) =>
    [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(''),
  ),
  snakecase: text('snakecase', (s) =>
    words(s)
      .map((w) => w.toLowerCase())
      .join('_'),
  ),
  kebabcase: text('kebabcase', (s) =>
    words(s)
      .map((w) => w.toLowerCase())
      .join('-'),
  ),
  camelcase: text('camelcase', (s) =>
    s
      .split(/[_\s-]+/)
      .filter(Boolean)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join(''),
  ),
  trim: text('trim', (s) => s.trim()),
  nospace: text('nospace', (s) => s.replace(/\s+/g, '')),
  initials: text('initials', (s) =>
    s
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => w[0])
      .join(''),
  ),
  trimAll: two('trimAll', (cut, s) => {
    const set = new Set(cut);
    let i = 0;
    let j = s.length;
    while (i < j && set.has(s[i])) i++;
    while (j > i && set.has(s[j - 1])) j--;
    return s.slice(i, j);
  }),
  trimPrefix: two('trimPrefix', (p, s) => (s.startsWith(p) ? s.slice(p.length) : s)),
  trimSuffix: two('trimSuffix', (p, s) => (p && s.endsWith(p) ? s.slice(0, -p.length) : s)),
  contains: two('contains', (sub, s) => s.includes(sub)),
  hasPrefix: two('hasPrefix', (p, s) => s.startsWith(p)),
  hasSuffix: two('hasSuffix', (p, s) => s.endsWith(p)),
  repeat: (a) => {
    n(a, 2, 'repeat');
    const count = Number(toInt(a[0]));
    const s = str(a[1], 'repeat');
    if (count < 0) throw new GoTemplateError('repeat: negative count');
    bounded(count * s.length, 'repeat');
    return s.repeat(count);
  },
  substr: (a) => {
    n(a, 3, 'substr');
    const s = str(a[2], 'substr');
    let start = Number(toInt(a[0]));
    let end = Number(toInt(a[1]));
    if (start < 0) return s.slice(0, end < 0 ? s.length : end);
    if (end < 0 || end > s.length) end = s.length;
    if (start > end) start = end;
    return s.slice(start, end);
  },
  trunc: (a) => {
    n(a, 2, 'trunc');
    const c = Number(toInt(a[0]));
    const s = str(a[1], 'trunc');
    if (c < 0 && s.length + c > 0) return s.slice(s.length + c);
    if (c >= 0 && s.length > c) return s.slice(0, c);
    return c < 0 ? s : s;
  },
  abbrev: (a) => {
    n(a, 2, 'abbrev');
    const w = Number(toInt(a[0]));
    const s = str(a[1], 'abbrev');
    if (w < 4 || s.length <= w) return s;
    return s.slice(0, w - 3) + '...';
  },
  quote: (a) =>
    a
      .filter((v) => v !== null)
      .map((v) => goQuote(strval(v)))
      .join(' '),
  squote: (a) =>
    a
      .filter((v) => v !== null)
      .map((v) => `'${strval(v)}'`)
      .join(' '),
  cat: (a) =>
    a
      .filter((v) => v !== null)
      .map(strval)
      .join(' '),
  indent: (a) => {
    n(a, 2, 'indent');
    return indent(toInt(a[0]), str(a[1], 'indent'));
  },
  nindent: (a) => {
    n(a, 2, 'nindent');
    return '\n' + indent(toInt(a[0]), str(a[1], 'nindent'));
  },
  replace: (a) => {
    n(a, 3, 'replace');
    const [o, nw, s] = [str(a[0], 'replace'), str(a[1], 'replace'), str(a[2], 'replace')];
    return s.split(o).join(nw);
  },
  plural: (a) => {
    n(a, 3, 'plural');
    return toInt(a[2]) === 1n ? str(a[0], 'plural') : str(a[1], 'plural');
  },
  toString: (a: Value[]): Value => {
    n(a, 1, 'toString');
    return strval(a[0]);
  },
  toStrings: (a) => {
    n(a, 1, 'toStrings');
    const v = a[0];
    return Array.isArray(v) ? v.filter((x) => x !== null).map(strval) : [strval(v)];
  },
  split: (a) => {
    n(a, 2, 'split');
    const parts = str(a[1], 'split').split(str(a[0], 'split'));
    return new Map(parts.map((p, i) => [`_${i}`, p]));
  },
  splitList: (a) => {
    n(a, 2, 'splitList');
    return str(a[1], 'splitList').split(str(a[0], 'splitList'));
  },
  splitn: (a) => {
    n(a, 3, 'splitn');
    const sep = str(a[0], 'splitn');
    const count = Number(toInt(a[1]));
    const parts = str(a[2], 'splitn').split(sep);
    const out =
      count > 0 && parts.length > count
        ? [...parts.slice(0, count - 1), parts.slice(count - 1).join(sep)]
        : parts;
    return new Map(out.map((p, i) => [`_${i}`, p]));
  },
  join: (a) => {
    n(a, 2, 'join');
    const v = a[1];
    const items = Array.isArray(v) ? v.filter((x) => x !== null).map(strval) : [strval(v)];
    return items.join(str(a[0], 'join'));
  },
  sortAlpha: (a) => {
    n(a, 1, 'sortAlpha');
    const v = a[0];
    const items = Array.isArray(v) ? v.map(strval) : [strval(v)];
    return items.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  },
  // conversions and numbers
  atoi: (a) => {
    n(a, 1, 'atoi');
    const s = str(a[0], 'atoi');
    return /^[+-]?\d+$/.test(s) ? BigInt(s) : 0n;
  },
  int: (a) => (n(a, 1, 'int'), toInt(a[0])),
  int64: (a) => (n(a, 1, 'int64'), toInt(a[0])),
  float64: (a) => (n(a, 1, 'float64'), toFloat(a[0])),
  add: (a) => a.reduce<bigint>((acc, x) => acc + toInt(x), 0n),
  add1: (a) => (n(a, 1, 'add1'), toInt(a[0]) + 1n),
  sub: (a) => (n(a, 2, 'sub'), toInt(a[0]) - toInt(a[1])),
  mul: (a) => a.slice(1).reduce<bigint>((acc, x) => acc * toInt(x), toInt(a[0] ?? 0n)),
  div: (a) => {
    n(a, 2, 'div');
    const d = toInt(a[1]);
    if (d === 0n) throw new GoTemplateError('div: division by zero');
    return toInt(a[0]) / d;
  },
  mod: (a) => {
    n(a, 2, 'mod');
    const d = toInt(a[1]);
    if (d === 0n) throw new GoTemplateError('mod: division by zero');
    return toInt(a[0]) % d;
  },
  max: (a) => a.slice(1).reduce<bigint>((m, x) => (toInt(x) > m ? toInt(x) : m), toInt(a[0] ?? 0n)),
  biggest: (a) => a.slice(1).reduce<bigint>((m, x) => (toInt(x) > m ? toInt(x) : m), toInt(a[0] ?? 0n)),
  min: (a) => a.slice(1).reduce<bigint>((m, x) => (toInt(x) < m ? toInt(x) : m), toInt(a[0] ?? 0n)),
  addf: floatOp((x, y) => x + y),
  add1f: (a) => (n(a, 1, 'add1f'), toFloat(a[0]) + 1),
  subf: floatOp((x, y) => x - y),
  mulf: floatOp((x, y) => x * y),
  divf: floatOp((x, y) => x / y),
  maxf: floatOp((x, y) => Math.max(x, y)),
  minf: floatOp((x, y) => Math.min(x, y)),
  floor: (a) => (n(a, 1, 'floor'), Math.floor(toFloat(a[0]))),
  ceil: (a) => (n(a, 1, 'ceil'), Math.ceil(toFloat(a[0]))),
  round: (a) => {
    const p = a.length > 1 ? Number(toInt(a[1])) : 0;
    const f = 10 ** p;
    return Math.round(toFloat(a[0]) * f) / f;
  },
  until: (a) => {
    n(a, 1, 'until');
    const c = Number(toInt(a[0]));
    return untilStep(0, c, c < 0 ? -1 : 1);
  },
  untilStep: (a) => (
    n(a, 3, 'untilStep'),
    untilStep(Number(toInt(a[0])), Number(toInt(a[1])), Number(toInt(a[2])))
  ),
  seq: (a) => seq(a),
  // defaults and flow
  default: (a) => {
    if (!a.length) throw new GoTemplateError('wrong number of args for default: want at least 1 got 0');
    return a.length < 2 || empty(a[1]) ? a[0] : a[1];
  },
  empty: (a) => (n(a, 1, 'empty'), empty(a[0])),
  coalesce: (a) => a.find((v) => !empty(v)) ?? null,
  all: (a) => a.every((v) => !empty(v)),
  any: (a) => a.some((v) => !empty(v)),
  ternary: (a) => (n(a, 3, 'ternary'), truth(a[2]) ? a[0] : a[1]),
  compact: (a) => (n(a, 1, 'compact'), list(a[0], 'compact').filter((v) => !empty(v))),
  fail: (a) => {
    n(a, 1, 'fail');
    throw new GoTemplateError('fail was called');
  },
  // JSON and YAML
  toJson: (a) => (n(a, 1, 'toJson'), toBytes(goJson(toPlain(a[0])))),
  toRawJson: (a) => (n(a, 1, 'toRawJson'), toBytes(goJson(toPlain(a[0]), { html: false }))),
  toPrettyJson: (a) => {
    n(a, 1, 'toPrettyJson');
    return toBytes(JSON.stringify(JSON.parse(goJson(toPlain(a[0]), { html: true })), null, '  '));
  },
  fromJson: (a) => (n(a, 1, 'fromJson'), fromPlain(parseJson(str(a[0], 'fromJson'), 'fromJson'))),
  mustFromJson: (a) => (
    n(a, 1, 'mustFromJson'),
    fromPlain(parseJson(str(a[0], 'mustFromJson'), 'mustFromJson'))
  ),
  toYaml: (a) => (n(a, 1, 'toYaml'), toYaml(a[0])),
  fromYaml: (a) => {
    n(a, 1, 'fromYaml');
    const v = fromPlain(parseYaml(str(a[0], 'fromYaml'), 'fromYaml'));
    if (v === null) return new Map();
    if (!isMap(v)) throw new GoTemplateError('fromYaml: the value is not a YAML map');
    return v;
  },
  // encodings and digests
  b64enc: (a) => (n(a, 1, 'b64enc'), Buffer.from(str(a[0], 'b64enc'), 'latin1').toString('base64')),
  b64dec: (a) => {
    n(a, 1, 'b64dec');
    const s = str(a[0], 'b64dec').replace(/[\r\n]/g, '');
    if (!STRICT_B64.test(s)) throw new GoTemplateError('b64dec: the value is not valid base64');
    return Buffer.from(s, 'base64').toString('latin1');
  },
  b32enc: (a) => (n(a, 1, 'b32enc'), b32enc(Buffer.from(str(a[0], 'b32enc'), 'latin1'))),
  b32dec: (a) => (n(a, 1, 'b32dec'), b32dec(str(a[0], 'b32dec')).toString('latin1')),
  hexdec: (a) => {
    n(a, 1, 'hexdec');
    const s = str(a[0], 'hexdec');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new GoTemplateError('hexdec: the value is not valid hex');
    return Buffer.from(s, 'hex').toString('latin1');
  },
  sha1sum: hash('sha1'),
  sha256sum: hash('sha256'),
  sha512sum: hash('sha512'),
  adler32sum: (a) => (n(a, 1, 'adler32sum'), String(adler32(Buffer.from(str(a[0], 'adler32sum'), 'latin1')))),
  uuidv4: (a) => (n(a, 0, 'uuidv4'), crypto.randomUUID()),
  // regular expressions (RE2, as Go's regexp)
  regexMatch: two('regexMatch', (r, s) => re(r, 'regexMatch').matcher(fromBytes(s)).find()),
  regexFind: two('regexFind', (r, s) => {
    const m = re(r, 'regexFind').matcher(fromBytes(s));
    return m.find() ? toBytes(m.group() ?? '') : '';
  }),
  regexFindAll: (a) => {
    n(a, 3, 'regexFindAll');
    return regexFindAll(
      re(str(a[0], 'regexFindAll'), 'regexFindAll'),
      str(a[1], 'regexFindAll'),
      Number(toInt(a[2])),
    );
  },
  regexReplaceAll: (a) => {
    n(a, 3, 'regexReplaceAll');
    const r = re(str(a[0], 'regexReplaceAll'), 'regexReplaceAll');
    return toBytes(
      goReplaceAll(r, fromBytes(str(a[1], 'regexReplaceAll')), fromBytes(str(a[2], 'regexReplaceAll'))),
    );
  },
  regexReplaceAllLiteral: (a) => {
    n(a, 3, 'regexReplaceAllLiteral');
    const r = re(str(a[0], 'regexReplaceAllLiteral'), 'regexReplaceAllLiteral');
    const repl = fromBytes(str(a[2], 'regexReplaceAllLiteral'));
    return toBytes(
      r.matcher(fromBytes(str(a[1], 'regexReplaceAllLiteral'))).replaceAll(RE2JS.quoteReplacement(repl)),
    );
  },
  regexSplit: (a) => {
    n(a, 3, 'regexSplit');
    const r = re(str(a[0], 'regexSplit'), 'regexSplit');
    const limit = Number(toInt(a[2]));
    const parts = r.split(fromBytes(str(a[1], 'regexSplit')), limit === 0 ? 0 : limit).map(toBytes);
    return limit === 0 ? [] : parts;
  },
  regexQuoteMeta: (a) => (
    n(a, 1, 'regexQuoteMeta'),
    toBytes(RE2JS.quote(fromBytes(str(a[0], 'regexQuoteMeta'))))
  ),
  // dicts
  dict,
  get: (a) => {
    n(a, 2, 'get');
    const m = map(a[0], 'get');
    const k = str(a[1], 'get');
    return m.has(k) ? m.get(k)! : '';
  },
  set: (a) => {
    n(a, 3, 'set');
    const m = map(a[0], 'set');
    m.set(str(a[1], 'set'), a[2]);
    return m;
  },
  unset: (a) => {
    n(a, 2, 'unset');
    const m = map(a[0], 'unset');
    m.delete(str(a[1], 'unset'));
    return m;
  },
  hasKey: (a) => (n(a, 2, 'hasKey'), map(a[0], 'hasKey').has(str(a[1], 'hasKey'))),
  keys: (a) => a.flatMap((m) => sortedKeys(map(m, 'keys'))),
  values: (a) => {
    n(a, 1, 'values');
    const m = map(a[0], 'values');
    return sortedKeys(m).map((k) => m.get(k)!);
  },
  pluck: (a) => {
    const k = str(a[0], 'pluck');
    return a
      .slice(1)
      .map((m) => map(m, 'pluck'))
      .filter((m) => m.has(k))
      .map((m) => m.get(k)!);
  },
  pick: (a) => {
    const m = map(a[0], 'pick');
    const ks = new Set(a.slice(1).map((k) => str(k, 'pick')));
    return new Map([...m].filter(([k]) => ks.has(k)));
  },
  omit: (a) => {
    const m = map(a[0], 'omit');
    const ks = new Set(a.slice(1).map((k) => str(k, 'omit')));
    return new Map([...m].filter(([k]) => !ks.has(k)));
  },
  merge: (a) => {
    const dst = map(a[0], 'merge');
    for (const src of a.slice(1)) mergeInto(dst, map(src, 'merge'), false);
    return dst;
  },
  mergeOverwrite: (a) => {
    const dst = map(a[0], 'mergeOverwrite');
    for (const src of a.slice(1)) mergeInto(dst, map(src, 'mergeOverwrite'), true);
    return dst;
  },
  deepCopy: (a) => (n(a, 1, 'deepCopy'), deepCopy(a[0])),
  dig: (a) => {
    if (a.length < 3) throw new GoTemplateError('dig needs keys, a default and a map');
    const m = map(a[a.length - 1], 'dig');
    const def = a[a.length - 2];
    let cur: Value = m;
    for (const k of a.slice(0, -2)) {
      if (!isMap(cur) || !cur.has(str(k, 'dig'))) return def;
      cur = cur.get(k as string)!;
    }
    return cur;
  },
  // lists
  list: (a) => [...a],
  tuple: (a) => [...a],
  first: (a) => (n(a, 1, 'first'), list(a[0], 'first')[0] ?? null),
  last: (a) => {
    n(a, 1, 'last');
    const l = list(a[0], 'last');
    return l.length ? l[l.length - 1] : null;
  },
  rest: (a) => (n(a, 1, 'rest'), list(a[0], 'rest').slice(1)),
  initial: (a) => (n(a, 1, 'initial'), list(a[0], 'initial').slice(0, -1)),
  append: (a) => (n(a, 2, 'append'), [...list(a[0], 'append'), a[1]]),
  push: (a) => (n(a, 2, 'push'), [...list(a[0], 'push'), a[1]]),
  prepend: (a) => (n(a, 2, 'prepend'), [a[1], ...list(a[0], 'prepend')]),
  concat: (a) => a.flatMap((l) => list(l, 'concat')),
  reverse: (a) => (n(a, 1, 'reverse'), [...list(a[0], 'reverse')].reverse()),
  uniq: (a) => {
    n(a, 1, 'uniq');
    const out: Value[] = [];
    for (const v of list(a[0], 'uniq')) if (!out.some((x) => equalDeep(x, v))) out.push(v);
    return out;
  },
  without: (a) => {
    const l = list(a[0], 'without');
    return l.filter((v) => !a.slice(1).some((x) => equalDeep(x, v)));
  },
  has: (a) => (n(a, 2, 'has'), a[1] === null ? false : list(a[1], 'has').some((v) => equalDeep(v, a[0]))),
  chunk: (a) => {
    n(a, 2, 'chunk');
    const size = Number(toInt(a[0]));
    if (size < 1) throw new GoTemplateError('chunk: size must be positive');
    const l = list(a[1], 'chunk');
    const out: Value[] = [];
    for (let i = 0; i < l.length; i += size) out.push(l.slice(i, i + size));
    return out;
  },
  // reflection
  typeOf: (a) => (n(a, 1, 'typeOf'), a[0] === null ? '<nil>' : typeName(a[0])),
  kindOf: (a) => (n(a, 1, 'kindOf'), kindOf(a[0])),
  kindIs: (a: Value[]): Value => (n(a, 2, 'kindIs'), kindOf(a[1]) === str(a[0], 'kindIs')),
  typeIs: (a) => (n(a, 2, 'typeIs'), typeName(a[1]) === str(a[0], 'typeIs')),
  deepEqual: (a) => (n(a, 2, 'deepEqual'), equalDeep(a[0], a[1])),
  // paths (path package: slash-separated)
  base: text('base', (s) => (s === '' ? '.' : s.replace(/\/+$/, '').split('/').pop() || '/')),
  dir: text('dir', (s) => {
    const i = s.lastIndexOf('/');
    return i < 0 ? '.' : i === 0 ? '/' : s.slice(0, i);
  }),
  ext: text('ext', (s) => {
    const m = /\.[^./]*$/.exec(s);
    return m ? m[0] : '';
  }),
  isAbs: (a) => (n(a, 1, 'isAbs'), str(a[0], 'isAbs').startsWith('/')),
};

// sprig's `must*` variants: capstan's plain ones already fail instead of swallowing errors
for (const name of [
  'toJson',
  'toRawJson',
  'toPrettyJson',
  'deepCopy',
  'compact',
  'first',
  'last',
  'rest',
  'initial',
  'reverse',
  'uniq',
  'without',
  'has',
  'append',
  'push',
  'prepend',
  'chunk',
  'merge',
  'mergeOverwrite',
  'regexMatch',
  'regexFind',
  'regexFindAll',
  'regexReplaceAll',
  'regexReplaceAllLiteral',
  'regexSplit',
]) {
  SPRIG[`must${name[0].toUpperCase()}${name.slice(1)}`] = SPRIG[name] as GoFunc;
}
SPRIG.trimall = SPRIG.trimAll;
