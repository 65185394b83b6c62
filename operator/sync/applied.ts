/**
 * What capstan's own server-side applies stored, so that the comparison right after a sync does not
 * dry-run the objects it has just applied (issue 10 §2: about 5 of the 23 requests of a cold sync of a
 * 5-object app were those dry-runs).
 *
 * An apply answers with the object as stored; a dry-run of the same desired object against that stored
 * object would answer the same object again (server-side apply of an unchanged configuration by the
 * same field manager is idempotent), so desired and live are in sync for as long as the live object is
 * that stored one: same uid and resourceVersion. Any later write (another manager, a controller's
 * status update) moves the resourceVersion and the comparison dry-runs as before. Recorded only when
 * the desired object was applied as rendered (not rewritten for `RespectIgnoreDifferences`, not
 * replaced with `Replace=true`). Memory only, bounded. After a restart the comparison reads the same
 * fact from the live object's managedFields instead (kube/appliedconfig.ts: capstan's `Apply` entry owns
 * exactly the desired fields, with the desired values), which needs no record; this record still covers
 * what that cannot see, such as a value the server normalised on apply ("1000m" stored as "1").
 *
 * A kind whose API server bumps `metadata.generation` on every change outside metadata and status (a
 * Deployment, a CRD's custom resources) also stays in sync through writes to its status alone (a
 * controller reporting progress): same uid, same generation and the same values of the labels and
 * annotations git sets as stored mean the same desired fields. A kind without generation (a ConfigMap)
 * is matched by resourceVersion only.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/object';

/** Entries kept at most; the oldest half goes when full. */
const MAX_ENTRIES = 50_000;

/** The (uid, resourceVersion, desired object) triples capstan's applies produced. */
export class AppliedStates {
  private readonly entries = new Set<string>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  /**
   * Records that applying `desired` stored `stored` (the apply's answer).
   * @param desired - the object sent, exactly as the comparison rendered it.
   */
  record(desired: KubeObject, stored: KubeObject): void {
    const { uid, resourceVersion } = stored.metadata;
    if (!uid || !resourceVersion) return;
    if (this.entries.size >= this.maxEntries) {
      let drop = Math.floor(this.maxEntries / 2);
      for (const k of this.entries) {
        if (drop-- <= 0) break;
        this.entries.delete(k);
      }
    }
    const desiredHash = hash(desired);
    this.entries.add(`${uid}|${resourceVersion}|${desiredHash}`);
    const spec = specKey(stored, desired);
    if (spec) this.entries.add(`${spec}|${desiredHash}`);
  }

  /**
   * True when `live` is exactly what capstan's apply of `desired` stored: the comparison may call them
   * in sync without a dry-run.
   */
  matches(desired: KubeObject, live: KubeObject): boolean {
    const { uid, resourceVersion } = live.metadata;
    if (!uid || !resourceVersion) return false;
    const desiredHash = hash(desired);
    if (this.entries.has(`${uid}|${resourceVersion}|${desiredHash}`)) return true;
    const spec = specKey(live, desired);
    return !!spec && this.entries.has(`${spec}|${desiredHash}`);
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }
}

function hash(obj: unknown): string {
  return createHash('sha256').update(JSON.stringify(obj)).digest('hex');
}

/**
 * What identifies an object's spec without its resourceVersion: uid, generation, and the values of the
 * labels and annotations the desired object sets (others' labels, such as a controller's revision
 * annotation, are no drift); undefined for a kind without generation.
 */
function specKey(obj: KubeObject, desired: KubeObject): string | undefined {
  const { uid } = obj.metadata;
  const generation = (obj.metadata as { generation?: number }).generation;
  if (!uid || !generation) return undefined;
  const pick = (live: Record<string, string> | undefined, wanted: Record<string, string> | undefined) =>
    Object.keys(wanted ?? {}).map((k) => [k, live?.[k] ?? null]);
  const metadata = [
    pick(obj.metadata.labels, desired.metadata.labels),
    pick(obj.metadata.annotations, desired.metadata.annotations),
  ];
  return `gen|${uid}|${generation}|${hash(metadata)}`;
}

/** The process's record, written by the sync engine and read by the Application comparison. */
export const appliedStates = new AppliedStates();
