/**
 * Values of the Go template engine and how Go prints them.
 *
 * Go strings are byte strings: a secret value may be binary (a PKCS#12 archive, a `b64dec` result),
 * and `len`, `substr`, `{{ .key }}` work on bytes. So every string here is a *byte string*: a JS
 * string with one char (code 0-255) per byte (Node's `latin1` encoding). Template text is turned into
 * one with `toBytes`, and output back with `Buffer.from(out, 'latin1')`. Functions that care about
 * characters (`upper`, regular expressions, JSON) decode UTF-8 first (`fromBytes`).
 *
 * Go types map as: string -> string (bytes), int -> bigint, float64 -> number, bool -> boolean,
 * nil -> null, slices -> arrays, maps -> `Map` (printed and ranged in sorted key order, as Go does).
 */
import { GoTemplateError } from './errors';

/** A value a template computes with. */
export type Value = string | bigint | number | boolean | null | Value[] | GoMap;
/** A Go map (`map[string]interface{}`); keys are byte strings. */
export type GoMap = Map<string, Value>;

/** A UTF-8 (JS) string as a byte string. */
export function toBytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** A byte string as a JS string (invalid UTF-8 becomes U+FFFD, as Go's conversions do). */
export function fromBytes(b: string): string {
  return Buffer.from(b, 'latin1').toString('utf8');
}

/** Binary data as a byte string. */
export function bufToBytes(b: Buffer): string {
  return b.toString('latin1');
}

/** Go's type name of a value, for messages (`string`, `int`, `float64`, `map[string]interface {}`). */
export function typeName(v: Value | undefined): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/**
 * Maps whose Go type is `map[string]string` (ESO's render context, the webhook's secrets): `index`
 * of a missing key gives "" there, where a `map[string]interface{}` (fromJson, dict) gives nil.
 */
const STRING_MAPS = new WeakSet<GoMap>();

/** Marks a map as `map[string]string` (see STRING_MAPS). */
export function markStringMap(m: GoMap): GoMap {
  STRING_MAPS.add(m);
  return m;
}

/** The zero value of a map's element type: "" for a string map, nil otherwise. */
export function zeroOf(m: GoMap): Value {
  return STRING_MAPS.has(m) ? '' : null;
}

/** Whether a value is a map. */
export function isMap(v: Value | undefined): v is GoMap {
  return v instanceof Map;
}

/** Go's truth (text/template `isTrue`): false, 0, nil and empty strings, slices and maps are false. */
export function truth(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  return v.size > 0;
}

/**
 * Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which `fmt`'s `%v` uses: the shortest digits, in
 * exponent form below 1e-04 and from 1e+06 (`1e+06`, `1.5e+07`), as Go prints JSON numbers in templates.
 */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, expText] = f.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  const neg = f < 0;
  const digits = mant.replace(/^-/, '').replace('.', '');
  const point = exp + 1;
  let s: string;
  if (point <= 0) s = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) s = digits + '0'.repeat(point - digits.length);
  else s = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (neg ? '-' : '') + s;
}

/** `fmt.Sprint` of one value (`%v`): maps as `map[k:v]`, slices as `[a b]`, nil as `<nil>`. */
export function sprint(v: Value): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return formatFloat(v);
  if (Array.isArray(v)) return `[${v.map(sprint).join(' ')}]`;
  return `map[${sortedKeys(v)
    .map((k) => `${k}:${sprint(v.get(k)!)}`)
    .join(' ')}]`;
}

/** The keys of a map in Go's order (bytewise). */
export function sortedKeys(m: GoMap): string[] {
  return [...m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A decoded JSON/YAML value (strings as JS strings) as a template value: strings become byte
 * strings, numbers float64 (as Go's `json.Unmarshal` into `interface{}`), objects maps.
 */
export function fromPlain(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return toBytes(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  if (Array.isArray(v)) return v.map(fromPlain);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [toBytes(String(k)), fromPlain(x)]));
  if (typeof v === 'object') {
    const m: GoMap = new Map();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) m.set(toBytes(k), fromPlain(x));
    return m;
  }
  throw new GoTemplateError(`cannot use a ${typeof v} value`);
}

/** A template value as plain JS data (JS strings, objects), for JSON/YAML encoding. */
export function toPlain(v: Value): unknown {
  if (typeof v === 'string') return fromBytes(v);
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) {
    const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const k of sortedKeys(v)) o[fromBytes(k)] = toPlain(v.get(k)!);
    return o;
  }
  return v;
}

/**
 * Go's `%q` of a byte string (`strconv.Quote`): printable UTF-8 kept, control characters and invalid
 * bytes escaped.
 */
export function goQuote(b: string): string {
  const buf = Buffer.from(b, 'latin1');
  let out = '"';
  const esc: Record<number, string> = {
    7: '\\a',
    8: '\\b',
    12: '\\f',
    10: '\\n',
    13: '\\r',
    9: '\\t',
    11: '\\v',
  };
  for (let i = 0; i < buf.length;) {
    const c = buf[i];
    if (c < 0x80) {
      if (c === 0x22) out += '\\"';
      else if (c === 0x5c) out += '\\\\';
      else if (esc[c]) out += esc[c];
      else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
      else out += String.fromCharCode(c);
      i++;
      continue;
    }
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    const seq = len ? buf.subarray(i, i + len) : undefined;
    const ch = seq && seq.length === len ? seq.toString('utf8') : '';
    if (!ch || ch.includes('\ufffd')) {
      out += `\\x${c.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (/[\p{C}\p{Zl}\p{Zp}]/u.test(ch) || (/\p{Z}/u.test(ch) && cp !== 0x20))
      out +=
        cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += toBytes(ch);
    i += len;
  }
  return out + '"';
}
