/**
 * Go's `fmt.Sprintf` for the verbs templates use: `%v %s %q %d %x %X %o %b %c %f %e %g %t %T %%`,
 * flags `-+# 0`, width and precision. A verb that does not fit its operand prints Go's
 * `%!d(string=...)` form into the *output* (as Go does), never into an error message.
 */
import { formatFloat, goQuote, sprint, typeName, type Value } from './values';

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width?: number;
  prec?: number;
}

function pad(s: string, f: Spec, numeric: boolean): string {
  if (f.width === undefined || s.length >= f.width) return s;
  const n = f.width - s.length;
  if (f.minus) return s + ' '.repeat(n);
  if (f.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(n) + s.slice(sign.length);
  }
  return ' '.repeat(n) + s;
}

function signed(s: string, f: Spec): string {
  if (s.startsWith('-')) return s;
  if (f.plus) return '+' + s;
  if (f.space) return ' ' + s;
  return s;
}

function bad(verb: string, v: Value): string {
  return `%!${verb}(${typeName(v)}=${sprint(v)})`;
}

function hex(v: Value, f: Spec, upper: boolean): string {
  let s: string;
  if (typeof v === 'bigint') {
    s = (v < 0n ? '-' : '') + (v < 0n ? -v : v).toString(16);
    if (f.sharp) s = s.replace(/^(-?)/, '$10x');
  } else if (typeof v === 'string') s = Buffer.from(v, 'latin1').toString('hex');
  else return bad(upper ? 'X' : 'x', v);
  return upper ? s.toUpperCase() : s;
}

function floatVerb(v: number, verb: string, f: Spec): string {
  const p = f.prec ?? 6;
  let s: string;
  if (verb === 'f' || verb === 'F') s = v.toFixed(p);
  else if (verb === 'e' || verb === 'E') {
    s = v.toExponential(p).replace(/e([+-])(\d)$/, 'e$10$2');
    if (verb === 'E') s = s.toUpperCase();
  } else s = f.prec === undefined ? formatFloat(v) : Number(v.toPrecision(p || 1)).toString();
  return signed(s, f);
}

/** One verb's formatting of one operand. */
type Verb = (v: Value, f: Spec, verb: string) => string;

/** An integer verb: the digits of a bigint, signed and padded with zeros when asked. */
const intVerb =
  (digits: (n: bigint, f: Spec) => string): Verb =>
  (v, f, verb) =>
    typeof v === 'bigint' ? pad(signed(digits(v, f), f), f, true) : bad(verb, v);

const floatVerbOf: Verb = (v, f, verb) =>
  typeof v === 'number' ? pad(floatVerb(v, verb, f), f, true) : bad(verb, v);

/** The verbs, as Go's fmt formats each operand type. */
const VERBS: Record<string, Verb> = {
  v: (v, f) => pad(f.plus && typeof v === 'bigint' ? signed(sprint(v), f) : sprint(v), f, false),
  s: (v, f) => {
    if (typeof v === 'string') return pad(f.prec !== undefined ? v.slice(0, f.prec) : v, f, false);
    return pad(typeof v === 'bigint' ? bad('s', v) : sprint(v), f, false);
  },
  q: (v, f) => {
    if (typeof v === 'string') return pad(goQuote(v), f, false);
    if (typeof v === 'bigint') return pad(`'${String.fromCodePoint(Number(v))}'`, f, false);
    return bad('q', v);
  },
  d: intVerb((n) => n.toString()),
  b: intVerb((n) => n.toString(2)),
  o: intVerb((n, f) => (f.sharp ? '0' : '') + n.toString(8)),
  x: (v, f) => pad(hex(v, f, false), f, true),
  X: (v, f) => pad(hex(v, f, true), f, true),
  c: (v, f) =>
    typeof v === 'bigint'
      ? pad(Buffer.from(String.fromCodePoint(Number(v)), 'utf8').toString('latin1'), f, false)
      : bad('c', v),
  t: (v, f) => (typeof v === 'boolean' ? pad(String(v), f, false) : bad('t', v)),
  T: (v, f) => pad(typeName(v), f, false),
  f: floatVerbOf,
  F: floatVerbOf,
  e: floatVerbOf,
  E: floatVerbOf,
  g: floatVerbOf,
  G: floatVerbOf,
};

function one(verb: string, v: Value, f: Spec): string {
  const fmt = VERBS[verb];
  return fmt ? fmt(v, f, verb) : bad(verb, v);
}

/**
 * Formats as Go's `fmt.Sprintf`.
 * @param format - the format (byte string).
 * @param args - the operands.
 * @returns the output (byte string), with Go's `%!verb(...)`, `%!(EXTRA ...)` and `%!v(MISSING)` marks.
 */
export function sprintf(format: string, args: Value[]): string {
  let out = '';
  let ai = 0;
  const re = /%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const verb = m[4];
    if (verb === '%') {
      out += '%';
      continue;
    }
    const flags = m[1];
    const f: Spec = {
      minus: flags.includes('-'),
      plus: flags.includes('+'),
      sharp: flags.includes('#'),
      zero: flags.includes('0'),
      space: flags.includes(' '),
      width: m[2] ? Number(m[2]) : undefined,
      prec: m[3] !== undefined ? Number(m[3] || 0) : undefined,
    };
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += one(verb, args[ai++], f);
  }
  out += format.slice(last);
  if (ai < args.length)
    out += `%!(EXTRA ${args
      .slice(ai)
      .map((a) => `${typeName(a)}=${sprint(a)}`)
      .join(', ')})`;
  return out;
}
