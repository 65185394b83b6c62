/**
 * Which watch events call for a reconcile: the one filter every operator's watch uses (as
 * controller-runtime's `GenerationChangedPredicate` / `AnnotationChangedPredicate` /
 * `LabelChangedPredicate`, combined), so that an operator's own status writes never re-trigger it.
 *
 * An object is reconciled when it is first seen (the initial list, a creation), deleted, or when one of
 * the watched parts of it changed: by default its generation (spec), labels, annotations and deletion
 * mark, the parts ESO's `syncedResourceVersion` hashes. Status (and `resourceVersion`, `managedFields`)
 * are never watched: a status write changes neither. The Application operator also watches finalizers
 * (a removed finalizer is worth a look while deleting); the project cache of the Application operator
 * watches uid and generation only (a project recreated under the same name is another project). One
 * status part exists, for watches of objects whose readiness another operator follows: `ready`, the
 * `Ready` condition's status, reason and message (an ExternalSecret follows its store's).
 *
 * Per object the filter keeps a short hash of the watched parts, not the parts (annotations may carry a
 * whole `kubectl.kubernetes.io/last-applied-configuration`).
 */
import { createHash } from 'node:crypto';

/** A part of an object whose change calls for a reconcile. */
export type WatchedPart =
  'generation' | 'labels' | 'annotations' | 'finalizers' | 'deletion' | 'uid' | 'ready';

/** The default parts: spec (generation), labels, annotations and the deletion mark. */
export const DEFAULT_WATCHED_PARTS: readonly WatchedPart[] = [
  'generation',
  'labels',
  'annotations',
  'deletion',
];

/** What an event means for the object: first seen, a watched part changed, nothing watched changed, or gone. */
export type Change = 'added' | 'changed' | 'unchanged' | 'deleted';

/** The metadata the filter reads. */
interface Meta {
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: unknown;
  uid?: string;
}

/** A status condition as the `ready` part reads it. */
interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The object the filter reads: its metadata, and for `ready` its status conditions. */
export interface FilterableObject {
  metadata?: Meta;
  /** Read for `ready` only: `conditions[]` with `type`, `status`, `reason`, `message`. */
  status?: unknown;
}

/** The event shape the filter reads (a `ResourceEvent` of runtime/operator.ts fits). */
export interface FilterableEvent {
  /** `ADDED`, `MODIFIED` or `DELETED`. */
  type: string;
  meta: { name: string; namespace?: string };
  object: unknown;
}

/** Remembers the watched parts of each object and says whether an event changed them. */
export class EventFilter {
  private readonly seen = new Map<string, string>();

  /** @param parts - the parts whose change calls for a reconcile (default {@link DEFAULT_WATCHED_PARTS}). */
  constructor(private readonly parts: readonly WatchedPart[] = DEFAULT_WATCHED_PARTS) {}

  /**
   * Classifies a watch event of the object `namespace/name` and remembers what it saw (a deletion
   * forgets the object).
   */
  classify(e: FilterableEvent): Change {
    const id = `${e.meta.namespace ?? ''}/${e.meta.name}`;
    if (e.type === 'DELETED') return this.observe(id, undefined);
    return this.observe(id, (e.object as FilterableObject | undefined) ?? {});
  }

  /**
   * True for every event but one that changed no watched part: first seen, changed and deleted objects
   * are worth a reconcile.
   */
  changed(e: FilterableEvent): boolean {
    return this.classify(e) !== 'unchanged';
  }

  /**
   * Classifies the object `id` as it is now (`undefined`: gone) and remembers it; for caches that
   * report objects rather than events.
   */
  observe(id: string, obj: FilterableObject | undefined): Change {
    if (obj === undefined) {
      this.seen.delete(id);
      return 'deleted';
    }
    const hash = this.hash(obj);
    const before = this.seen.get(id);
    this.seen.set(id, hash);
    if (before === undefined) return 'added';
    return before === hash ? 'unchanged' : 'changed';
  }

  /** Forgets an object (the next event of it counts as first seen). */
  forget(id: string): void {
    this.seen.delete(id);
  }

  /** Objects remembered (tests and metrics). */
  get size(): number {
    return this.seen.size;
  }

  private hash(obj: FilterableObject): string {
    const m = obj.metadata ?? {};
    const values = this.parts.map((p) => {
      switch (p) {
        case 'generation':
          return m.generation ?? null;
        case 'labels':
          return sorted(m.labels);
        case 'annotations':
          return sorted(m.annotations);
        case 'finalizers':
          return m.finalizers ?? [];
        case 'deletion':
          return m.deletionTimestamp ? String(m.deletionTimestamp) : '';
        case 'uid':
          return m.uid ?? '';
        case 'ready': {
          const status = obj.status as { conditions?: Condition[] } | undefined;
          const c = status?.conditions?.find((x) => x.type === 'Ready');
          return [c?.status ?? '', c?.reason ?? '', c?.message ?? ''];
        }
      }
    });
    return createHash('sha1').update(JSON.stringify(values)).digest('base64');
  }
}

/** A map's entries in key order, so that a reordered but equal map hashes the same. */
function sorted(map: Record<string, string> | undefined): Array<[string, string]> {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
