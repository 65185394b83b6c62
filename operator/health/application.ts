/**
 * Health of a child Application (`argoproj.io` Application), for app of apps: capstan's addition.
 *
 * Argo CD assessed child Applications until 1.8 and then removed it (argo-cd#3781: a parent should not
 * turn Degraded with each child). Its docs give a Lua script to restore it for app of apps with sync
 * waves, which copies `status.health` alone: a parent then moves on to its next wave while a child is
 * still OutOfSync, or before the child has even compared the new source the parent just gave it (its
 * `status.health` still describes the old one), and it reads a brand-new child Healthy for a moment
 * (argo-cd#6708). capstan has the check built in and makes it strict, so that a wave of child
 * Applications is done only when every child has actually rolled out what the parent gave it:
 *
 * Healthy = reconciled against the current spec, no operation pending or running, last operation not
 * failed, `status.health` Healthy and `status.sync` Synced.
 */
import type { KubeObject } from '../kube/object';
import { healthOrder, health, type HealthStatus, type HealthStatusCode } from './types';

/** The Application fields the check reads (a subset of `generated/application.ts`, read loosely). */
interface ApplicationView {
  operation?: unknown;
  spec?: { source?: unknown; sources?: unknown; destination?: unknown };
  status?: {
    health?: { status?: string; message?: string };
    sync?: { status?: string; comparedTo?: { source?: unknown; sources?: unknown; destination?: unknown } };
    operationState?: { phase?: string; message?: string };
  };
}

/**
 * Health of a child Application, in this order:
 * 1. `operation` set (requested, not started) → Progressing;
 * 2. `status.operationState.phase` Running or Terminating → Progressing with the operation's message;
 * 3. no `status.health.status` or `status.sync.status` yet → Progressing "Waiting for the application to
 *    be reconciled" (the default of Argo CD's documented Lua);
 * 4. `status.sync.comparedTo` differs from the spec (the parent has just changed the child's source;
 *    its status still describes the old one) → Progressing;
 * 5. last operation Failed or Error → Degraded with its message (it will not progress on its own:
 *    automated retries keep the phase Running);
 * 6. `status.health.status` other than Healthy → that status (Progressing, Suspended, Missing, Degraded,
 *    Unknown) with its message;
 * 7. `status.sync.status` other than Synced (OutOfSync, Unknown) → Progressing: the resources are healthy
 *    but not yet the desired ones;
 * 8. else Healthy.
 * @param live - the live child Application.
 */
export function applicationHealth(live: KubeObject): HealthStatus {
  const app = live as unknown as ApplicationView;
  for (const rule of rules) {
    const verdict = rule(app);
    if (verdict) return verdict;
  }
  return health('Healthy');
}

/** One step of {@link applicationHealth}: a verdict, or `undefined` to go on to the next step. */
type Rule = (app: ApplicationView) => HealthStatus | undefined;

const rules: Rule[] = [
  (app) =>
    app.operation ? health('Progressing', 'Waiting for the requested operation to start') : undefined,
  runningOperation,
  (app) =>
    app.status?.health?.status && app.status.sync?.status
      ? undefined
      : health('Progressing', 'Waiting for the application to be reconciled'),
  (app) =>
    comparedWithSpec(app)
      ? undefined
      : health('Progressing', 'Waiting for the application to be compared with its new spec'),
  failedOperation,
  (app) => {
    const own = app.status?.health;
    return own?.status && own.status !== 'Healthy' ? ownHealth(own.status, own.message) : undefined;
  },
  (app) => {
    const sync = app.status?.sync?.status;
    return sync && sync !== 'Synced'
      ? health('Progressing', `Waiting for sync: the application is ${sync}`)
      : undefined;
  },
];

function runningOperation(app: ApplicationView): HealthStatus | undefined {
  const op = app.status?.operationState;
  if (op?.phase !== 'Running' && op?.phase !== 'Terminating') return undefined;
  const doing = op.phase === 'Running' ? 'running' : 'being terminated';
  return health('Progressing', `Sync operation is ${doing}${op.message ? `: ${op.message}` : ''}`);
}

function failedOperation(app: ApplicationView): HealthStatus | undefined {
  const op = app.status?.operationState;
  if (op?.phase !== 'Failed' && op?.phase !== 'Error') return undefined;
  const outcome = op.phase === 'Failed' ? 'failed' : 'errored';
  return health('Degraded', `Last sync operation ${outcome}: ${op.message ?? ''}`);
}

function ownHealth(code: string, message: string | undefined): HealthStatus {
  if ((healthOrder as readonly string[]).includes(code)) return health(code as HealthStatusCode, message);
  return health('Unknown', `Unknown health status "${code}"`);
}

/**
 * Whether the status was computed for the current spec: `comparedTo.source(s)` equal the spec's, and
 * `comparedTo.destination` holds every field the spec's destination sets (Argo CD may fill in the server
 * of a destination given by name). No `comparedTo` at all (an old controller) counts as compared.
 */
function comparedWithSpec(app: ApplicationView): boolean {
  const compared = app.status?.sync?.comparedTo;
  if (!compared) return true;
  return (
    canonical(app.spec?.source) === canonical(compared.source) &&
    canonical(app.spec?.sources) === canonical(compared.sources) &&
    covers(prune(compared.destination), prune(app.spec?.destination))
  );
}

/**
 * Drops what Go's `omitempty` drops (null, '', false, 0, empty lists and objects), recursively, and sorts
 * keys, so that a spec written by hand and the same spec echoed by a controller compare equal.
 */
function prune(value: unknown): unknown {
  if (value === null || value === undefined || value === '' || value === false || value === 0)
    return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map((v) => prune(v) ?? null);
  if (typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = prune((value as Record<string, unknown>)[key]);
    if (v !== undefined) out[key] = v;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function canonical(value: unknown): string {
  return JSON.stringify(prune(value)) ?? '';
}

function covers(compared: unknown, spec: unknown): boolean {
  if (spec === undefined) return true;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    return canonical(spec) === canonical(compared);
  const c = (typeof compared === 'object' && compared !== null ? compared : {}) as Record<string, unknown>;
  return Object.entries(spec).every(([key, v]) => covers(c[key], v));
}

/**
 * Health of a child Application that also manages, directly or through its own children, the app that
 * assesses it: an app-of-apps cycle, as in the self-managed bootstrap (`root` renders `capstan`, whose
 * chart renders `root`). capstan's addition; Argo CD has no child-Application health to deadlock on.
 * Waiting on such an ancestor can never end (its health waits for this app's), so it counts as Healthy
 * for the app's health and its sync waves, whatever its own status says.
 * @param cycle - the cycle in words, each app managing the next, e.g. `root -> capstan -> root`.
 * @returns Healthy, with a message naming the cycle.
 */
export function ancestorApplicationHealth(cycle: string): HealthStatus {
  return health('Healthy', `Counted as Healthy: it manages this application (cycle ${cycle})`);
}
