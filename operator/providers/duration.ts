/**
 * Go's `time.ParseDuration`, because ESO's fields (`timeout`, `refreshInterval`) are `metav1.Duration`:
 * a sequence of decimal numbers with units `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, e.g. `1h30m`, `1.5s`,
 * `500ms`; `0` alone is allowed; a leading sign too.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration.
 * @param text - e.g. `5s`, `1m30s`, `250ms`.
 * @returns milliseconds (fractional for sub-millisecond units), or undefined when `text` is not a Go duration.
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text.trim();
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  return pos === s.length ? sign * total : undefined;
}
