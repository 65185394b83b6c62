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
 * replaced with `Replace=true`). Memory only, bounded; a restart dry-runs again.
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
    this.entries.add(key(uid, resourceVersion, desired));
  }

  /**
   * True when `live` is exactly what capstan's apply of `desired` stored: the comparison may call them
   * in sync without a dry-run.
   */
  matches(desired: KubeObject, live: KubeObject): boolean {
    const { uid, resourceVersion } = live.metadata;
    return !!uid && !!resourceVersion && this.entries.has(key(uid, resourceVersion, desired));
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }
}

function key(uid: string, resourceVersion: string, desired: KubeObject): string {
  return `${uid}|${resourceVersion}|${createHash('sha256').update(JSON.stringify(desired)).digest('hex')}`;
}

/** The process's record, written by the sync engine and read by the Application comparison. */
export const appliedStates = new AppliedStates();
