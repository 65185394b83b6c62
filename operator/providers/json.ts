/**
 * The JSON handling ESO's providers get from Go, reproduced so that capstan writes the same bytes:
 *
 * - `jsonGet` is the subset of gjson (`github.com/tidwall/gjson`) that `property` uses in practice: a
 *   dotted path, `\.` for a literal dot, numeric segments index arrays. The result is gjson's
 *   `Result.String()`: strings unquoted, objects and arrays as their raw text, integers as written,
 *   `null` as the empty string. Wildcards, queries (`#`) and modifiers (`@`) are not supported.
 * - `jsonRawMembers` splits a JSON object into its members' raw texts (Go's `json.RawMessage`), so that
 *   numbers keep their digits (a 20-digit id is not rounded through a float).
 * - `goJson` is Go's `json.Marshal` for decoded values: map keys sorted, compact, HTML escaped unless asked not to.
 *
 * All functions work on text that `JSON.parse` accepts; they return `undefined` for anything else.
 */

/** Index of the first non-whitespace character at or after `i`. */
function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++;
  return i;
}

/** Index just after the JSON string starting at `i` (which is a `"`). */
function stringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j + 1;
  }
  return s.length;
}

/** Index just after the JSON value starting at `i` (valid JSON assumed). */
function valueEnd(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return stringEnd(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === '"') j = stringEnd(s, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return s.length;
  }
  let j = i;
  while (j < s.length && !',}] \n\r\t'.includes(s[j])) j++;
  return j;
}

/** The raw members of the object starting at `i`, in document order (first occurrence of a key wins). */
function objectMembers(s: string, i: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let j = skipWs(s, i + 1);
  while (j < s.length && s[j] !== '}') {
    const keyEnd = stringEnd(s, j);
    const key = JSON.parse(s.slice(j, keyEnd)) as string;
    j = skipWs(s, skipWs(s, keyEnd) + 1); // past ':'
    const end = valueEnd(s, j);
    out.push([key, s.slice(j, end)]);
    j = skipWs(s, end);
    if (s[j] === ',') j = skipWs(s, j + 1);
  }
  return out;
}

/** The raw elements of the array starting at `i`. */
function arrayElements(s: string, i: number): string[] {
  const out: string[] = [];
  let j = skipWs(s, i + 1);
  while (j < s.length && s[j] !== ']') {
    const end = valueEnd(s, j);
    out.push(s.slice(j, end));
    j = skipWs(s, end);
    if (s[j] === ',') j = skipWs(s, j + 1);
  }
  return out;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Splits a gjson path on unescaped dots; `\.` is a literal dot. */
export function splitJsonPath(path: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < path.length; i++) {
    if (path[i] === '\\' && i + 1 < path.length) {
      cur += path[++i];
    } else if (path[i] === '.') {
      parts.push(cur);
      cur = '';
    } else cur += path[i];
  }
  parts.push(cur);
  return parts;
}

/** One step down from a raw value: an object member or an array element; undefined when absent. */
function child(raw: string, segment: string): string | undefined {
  if (raw[0] === '{') {
    const hit = objectMembers(raw, 0).find(([k]) => k === segment);
    return hit?.[1];
  }
  if (raw[0] === '[' && /^\d+$/.test(segment)) return arrayElements(raw, 0)[Number(segment)];
  return undefined;
}

/**
 * gjson's `Result.String()` of a raw JSON value: strings unquoted, `null` empty, integers as written,
 * other numbers in Go's shortest `'f'` form, objects/arrays/booleans as their raw text.
 */
export function gjsonString(raw: string): string {
  const c = raw[0];
  if (c === '"') return JSON.parse(raw) as string;
  if (c === 'n') return '';
  if (c === '-' || (c >= '0' && c <= '9')) return /^-?\d+$/.test(raw) ? raw : goFormatFloat(Number(raw));
  return raw;
}

/**
 * Reads `path` (gjson dotted subset) from a JSON document.
 * @param json - the document's text.
 * @param path - e.g. `db.password`, `hosts.0`, `tls\.crt`.
 * @returns the value as gjson's `String()`, or undefined when the text is not JSON or the path does not exist.
 */
export function jsonGet(json: string, path: string): string | undefined {
  if (!isJson(json)) return undefined;
  let raw: string | undefined = json.trim();
  for (const segment of splitJsonPath(path)) {
    raw = child(raw, segment);
    if (raw === undefined) return undefined;
  }
  return gjsonString(raw);
}

/**
 * The members of a JSON object with their raw value texts (Go's `map[string]json.RawMessage`).
 * @returns undefined when `json` is not a JSON object.
 */
export function jsonRawMembers(json: string): Array<[string, string]> | undefined {
  if (!isJson(json)) return undefined;
  const text = json.trim();
  if (text[0] !== '{') return undefined;
  return objectMembers(text, 0);
}

/**
 * Go's `strconv.FormatFloat(n, 'f', -1, 64)`: the shortest decimal that round-trips, never in exponent form.
 * @param n - a finite number.
 */
export function goFormatFloat(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const sign = s[0] === '-' ? '-' : '';
  const mantissa = s.slice(sign.length, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const point = (dot < 0 ? mantissa.length : dot) + exp;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Go's JSON string encoding: like JSON.stringify, plus `<`, `>`, `&`, U+2028 and U+2029 escaped when `html`. */
function goJsonString(s: string, html: boolean): string {
  let out = JSON.stringify(s)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  if (html) out = out.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return out;
}

/**
 * Go's `json.Marshal` of a decoded JSON value: object keys sorted bytewise, compact, numbers in Go's
 * float form (exponent only below 1e-6 or from 1e21).
 * @param value - a value from `JSON.parse` (or a plain string map).
 * @param opts - `html: false` for ESO's `esutils.JSONMarshal` (no HTML escaping); default true.
 */
export function goJson(value: unknown, opts: { html?: boolean } = {}): string {
  const html = opts.html ?? true;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goJsonString(value, html);
  if (typeof value === 'number') return goJsonNumber(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => goJson(v, opts)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort(compareBytes);
  return `{${keys.map((k) => `${goJsonString(k, html)}:${goJson(obj[k], opts)}`).join(',')}}`;
}

/** Go's float64 JSON encoding: 'f' format unless the exponent is < -6 or >= 21, then 'e' (`1e-7`, `1e+21`, as JS). */
function goJsonNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) return n.toExponential();
  return goFormatFloat(n);
}

/** Bytewise (UTF-8) comparison, as Go sorts map keys. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
