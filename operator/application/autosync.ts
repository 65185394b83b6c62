/**
 * When automated sync runs, as Argo CD's `autoSync`: only when the app is OutOfSync; not again for a
 * revision (and source) already synced, unless self-heal is on; not after a failed attempt at the same
 * revision (a new commit or a manual sync moves on); never when it would delete every resource and
 * `allowEmpty` is off.
 */
import { isDeepStrictEqual } from 'node:util';
import { App } from './api';
import { Comparison } from './compare';

/** A sync to run, manual (the `operation` field) or automated. */
export interface SyncRequest {
  manual: boolean;
  /** Revision to sync to instead of targetRevision (manual only). */
  revision?: string;
  prune: boolean;
  dryRun: boolean;
  /** Selective sync: only these resources. */
  resources?: Array<{ group?: string; kind: string; name: string; namespace?: string }>;
  initiatedBy: { username?: string; automated?: boolean };
  /** Set when automated sync decided not to run, with the reason (reported as SyncError). */
  skipReason?: string;
}

/**
 * Decides whether automated sync runs now.
 * @returns a request, a request carrying `skipReason` (reported as a condition), or undefined (nothing to do).
 */
export function automatedSyncDecision(app: App, cmp: Comparison): SyncRequest | undefined {
  const automated = app.spec.syncPolicy?.automated;
  if (!automated || automated.enabled === false || cmp.status === 'Synced') return undefined;
  const last = app.status?.operationState;
  const sameTarget = lastSyncedSameTarget(app, cmp);
  if (sameTarget && last?.phase !== 'Succeeded' && last?.phase !== 'Running') {
    return { ...base(automated.prune), skipReason: `Failed sync attempt to ${cmp.revisions[0]}: ${last?.message ?? ''}` };
  }
  if (sameTarget && !automated.selfHeal) return undefined;
  const targets = cmp.resources.filter((r) => r.target).length;
  const prunes = cmp.resources.filter((r) => r.requiresPruning).length;
  if (automated.prune && !automated.allowEmpty && targets === 0 && prunes > 0) {
    return { ...base(true), skipReason: 'auto-sync will wipe out all resources: refused because allowEmpty is false' };
  }
  return base(automated.prune);
}

/** True when the last operation synced the revisions and sources the comparison is at. */
function lastSyncedSameTarget(app: App, cmp: Comparison): boolean {
  const last = app.status?.operationState?.syncResult;
  if (!last) return false;
  return app.spec.sources?.length
    ? isDeepStrictEqual(last.revisions, cmp.revisions) && isDeepStrictEqual(last.sources, app.spec.sources)
    : last.revision === cmp.revisions[0] && isDeepStrictEqual(last.source, app.spec.source);
}

function base(prune: boolean | undefined): SyncRequest {
  return { manual: false, prune: !!prune, dryRun: false, initiatedBy: { automated: true } };
}
