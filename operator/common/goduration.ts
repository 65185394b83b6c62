/**
 * Go's `time.ParseDuration`, because the API fields that hold durations are Go durations
 * (`metav1.Duration`: ESO's refreshInterval and webhook timeout, Argo CD's retry backoff).
 */
/** Milliseconds per Go duration unit (time.ParseDuration accepts both micro signs). */
const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
/** One `<number><unit>` component; the unit alternatives are ordered so that `ms` wins over `m`. */
const GO_DURATION_PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
/** The largest Go duration (int64 nanoseconds), in milliseconds. */
const GO_DURATION_MAX_MS = 9_223_372_036_854.775;

/**
 * Parses a duration as Go's `time.ParseDuration` does (ESO reads refreshInterval, webhook timeouts and retry
 * intervals with it): an optional sign and one or more `<decimal><unit>` parts with units ns, us (µs), ms, s, m,
 * h, such as `1h30m`, `1.5h`, `15s`; or a bare `0`.
 * @param text - the duration text.
 * @returns the duration in milliseconds (fractional below 1 ms, negative with a `-` sign), or undefined when Go
 *   would refuse the text.
 */
export function parseGoDuration(text: string): number | undefined {
  const signed = /^[-+]/.test(text);
  let rest = signed ? text.slice(1) : text;
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest !== '') {
    const part = GO_DURATION_PART.exec(rest);
    if (!part || (part[1] === '' && (part[2] ?? '') === '')) return undefined;
    total += Number(`${part[1] || '0'}.${part[2] || '0'}`) * GO_DURATION_UNITS[part[3]];
    rest = rest.slice(part[0].length);
  }
  if (total > GO_DURATION_MAX_MS) return undefined;
  return text.startsWith('-') ? -total : total;
}
