/**
 * Prints the README's Performance table from a results file of `make bench`:
 * `node --import tsx bench/table.ts bench/results/<date>.json [before.json]` (with a second file, a
 * column with that run's capstan figure, e.g. before a change).
 */
import fs from 'node:fs';

interface Entry {
  value?: number;
  baseline?: number | null;
  ratio?: number | null;
  unit?: string;
  n?: number;
  reads?: string;
  error?: string;
  [k: string]: unknown;
}

const TITLES: Record<string, string> = {
  p1: 'P1 cold sync, N apps x 5 objects (objects/s; baseline raw SSA at concurrency 10)',
  p2: 'P2 operator RSS after the idle wait (MiB)',
  p3: 'P3 drift revert p99, 1 object (ms; baseline the raw watch)',
  p4: 'P4 commit -> applied via refresh annotation, p50 (ms)',
  p5: 'P5 no-op refresh of every app, until every reconciledAt moved (s; baseline the annotate requests)',
  p6: "P6 Helm compare of capstan's chart, cold (ms; baseline bare helm template)",
  p7: 'P7 ExternalSecrets on one fake store (Secrets/s; baseline creating the Secrets)',
  p8: 'P8 cold start to the first full pass (s; baseline raw LIST + P5)',
};

/** Extra figures per scenario that the table shows next to the value. */
function extras(key: string, e: Entry): string {
  const f = (k: string, label: string, unit = ''): string =>
    e[k] === undefined ? '' : `${label} ${String(e[k])}${unit}`;
  const parts: string[] = [];
  if (key === 'p1') {
    const s = (e.sizes as Array<Record<string, number>> | undefined)?.at(-1);
    if (s)
      parts.push(
        `${s.appsPerS} apps/s`,
        `${s.requestsPerApp} requests/app`,
        `${s.statusPatchesPerApp} status patches/app`,
        `${s.lsRemote} ls-remote`,
      );
  }
  if (key === 'p2')
    parts.push(
      f('idleNoAppsMiB', 'no apps', ' MiB'),
      f('peakMiB', 'peak', ' MiB'),
      f('heapUsedMiB', 'heap', ' MiB'),
    );
  if (key === 'p3')
    parts.push(
      f('manyP99', `${String(e.many ?? 100)} at once p99`, ' ms'),
      f('requestsPerRevert', 'requests/revert'),
    );
  if (key === 'p4')
    parts.push(
      f('p99', 'p99', ' ms'),
      f('webhookP50', 'via webhook p50', ' ms'),
      f('webhookP99', 'p99', ' ms'),
    );
  if (key === 'p5')
    parts.push(
      f('objectWrites', 'object writes'),
      f('statusWritesPerApp', 'status writes/app'),
      f('lsRemote', 'ls-remote'),
      f('webhookS', 'one webhook push', ' s'),
      f('webhookWritesPerApp', 'writes/app'),
    );
  if (key === 'p6') parts.push(f('cachedMs', 'cached', ' ms'));
  if (key === 'p7') parts.push(f('requestsPerExternalSecret', 'requests/ES'));
  if (key === 'p8') parts.push(f('peakRssMiB', 'peak RSS', ' MiB'));
  return parts.filter(Boolean).join(', ');
}

function main(): void {
  const [file, beforeFile] = process.argv.slice(2);
  if (!file) throw new Error('usage: bench/table.ts <results.json> [before.json]');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Entry>;
  const before = beforeFile
    ? (JSON.parse(fs.readFileSync(beforeFile, 'utf8')) as Record<string, Entry>)
    : undefined;
  const head = ['scenario (n)', ...(before ? ['before'] : []), 'capstan', 'baseline', 'ratio', 'details'];
  const rows = [head, head.map(() => '---')];
  for (const key of Object.keys(TITLES)) {
    const e = doc[key];
    if (!e) continue;
    const b = before?.[key];
    const cell = (x: Entry | undefined): string =>
      x?.error ? `failed: ${x.error}` : x?.value === undefined ? '-' : `${x.value}`;
    rows.push([
      `${TITLES[key]} (n=${e.n ?? '-'})`,
      ...(before ? [cell(b)] : []),
      cell(e),
      e.baseline === null || e.baseline === undefined ? '-' : String(e.baseline),
      e.ratio === null || e.ratio === undefined ? '-' : `${e.ratio}x`,
      e.error ? '' : extras(key, e),
    ]);
  }
  process.stdout.write(rows.map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n');
}

main();
