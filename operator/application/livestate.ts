/**
 * Compare pipeline steps "read live" and "diff": the live object of a desired resource and whether it is in
 * sync with git.
 *
 * Live objects come from the live cache only (kube/livecache.ts: informers of the objects carrying
 * capstan's managed label), overlaid with capstan's own writes the cache has not seen yet
 * (sync/recent.ts). An object the cache lacks is not managed by capstan: it is missing, or it exists
 * without capstan's label (created by hand, by another tool, or before capstan managed it). No GET tells
 * the two apart (issue 10 §2: a GET per new object was a third of a cold sync's requests). Either way it
 * is OutOfSync (an unlabelled object always differs from the desired one, which carries the label), its
 * health is Missing, and a sync writes it: server-side apply takes an existing object over, a
 * `Replace=true` create that meets it reads and replaces it, and `FailOnSharedResource=true` reads it
 * before writing (sync/sync.ts). Once applied it carries the label and the cache holds it.
 *
 * The diff is a server-side dry-run of the desired object compared with the live one (diff/normalize.ts),
 * skipped when the live object is what capstan's own apply of this very object stored: recorded at the
 * apply (sync/applied.ts), or read from the object's managedFields (capstan's `Apply` entry owns exactly
 * the desired object's fields, with the desired values: kube/appliedconfig.ts), which survives a restart
 * (issue 10 P8). Otherwise it is cached by desired hash and live resourceVersion, so a no-op refresh costs
 * no dry-run.
 */
import { createHash } from 'node:crypto';
import { FIELD_MANAGER, serverSideApply } from '../kube/apply';
import { appliedDigest, desiredDigestOf } from '../kube/appliedconfig';
import { ResourceType } from '../kube/discovery';
import { KubeObject } from '../kube/object';
import { LiveCache } from '../kube/livecache';
import { KubeClient } from '../kube/client';
import { inSyncWith } from '../diff/normalize';
import { IgnoreRule, IgnoreRuleError, resolveJqPaths, rulesFor } from '../diff/ignore';
import type { ResourceSyncStatus } from '../sync/resource';
import { appliedStates } from '../sync/applied';
import { recentWrites } from '../sync/recent';

/** The message of a desired object the live cache does not hold. */
export const MSG_NOT_MANAGED = 'missing (or not managed by capstan yet: a sync applies it)';
/** The message of a desired object that differs from its live object. */
export const MSG_DIFFERS = 'live state differs from git';

const dryRunCache = new Map<string, boolean>();
const DRY_RUN_CACHE_MAX = 20_000;

/**
 * The live object of a desired resource: the live cache's, or capstan's own newer write.
 * @returns undefined when capstan does not manage such an object (see the module comment).
 */
export async function readLive(
  live: LiveCache,
  rt: ResourceType,
  target: KubeObject,
): Promise<KubeObject | undefined> {
  const { namespace, name = '' } = target.metadata;
  return recentWrites.resolve(rt, namespace, name, await live.get(rt, namespace, name));
}

/**
 * Whether a desired object is in sync with its live object.
 * @param client - the client of the dry-run.
 * @throws IgnoreRuleError (a jq path of ignoreDifferences that fails): a ComparisonError.
 */
export async function diffOne(
  client: KubeClient,
  rt: ResourceType,
  target: KubeObject,
  live: KubeObject | undefined,
  ignore: IgnoreRule[],
): Promise<{ status: ResourceSyncStatus; message?: string }> {
  if (!live) return { status: 'OutOfSync', message: MSG_NOT_MANAGED };
  // Live is what capstan's own apply of this very object stored: in sync, no dry-run (sync/applied.ts).
  if (appliedStates.matches(target, live)) return { status: 'Synced' };
  // Live holds exactly what an apply of this object by capstan stored, read from the object itself: in
  // sync, no dry-run, after a restart too (kube/appliedconfig.ts).
  if (appliedDigest(live, FIELD_MANAGER) === desiredDigestOf(target)) return { status: 'Synced' };
  const rules = rulesFor(ignore, target);
  const key = `${live.metadata.uid}|${live.metadata.resourceVersion}|${hashObject(target)}|${rules.length ? hashObject(rules) : ''}`;
  let same = dryRunCache.get(key);
  if (same === undefined) {
    try {
      const dry = await serverSideApply(client, rt, target, { dryRun: true });
      // jq runs in a worker under the jq deadline (--jq-timeout): one message for both objects.
      same = inSyncWith(dry, live, rules, await resolveJqPaths([dry, live], rules));
    } catch (err) {
      if (err instanceof IgnoreRuleError) throw err;
      // A dry-run the server refuses (invalid object, immutable field) is drift the sync will report.
      return { status: 'OutOfSync', message: (err as Error).message };
    }
    if (dryRunCache.size >= DRY_RUN_CACHE_MAX) dryRunCache.clear();
    dryRunCache.set(key, same);
  }
  return same ? { status: 'Synced' } : { status: 'OutOfSync', message: MSG_DIFFERS };
}

function hashObject(obj: unknown): string {
  return createHash('sha256').update(JSON.stringify(obj)).digest('hex');
}
