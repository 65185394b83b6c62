/**
 * A watch's events passed on to other listeners in the same process, so that a second operator that
 * needs the same resource type reads the first one's watch instead of opening its own: the API server
 * then sends each event once, and the process decodes it once (issue 10 P2: the ClusterExternalSecret
 * operator listens to the ExternalSecret operator's watch of every ExternalSecret).
 */
import type { ResourceEvent } from './resourceevent';

/** A listener of a shared watch; what it throws is caught and reported by {@link EventTap.emit}. */
export type EventListener = (e: ResourceEvent) => void;

/** The listeners of one watch. */
export class EventTap {
  private readonly listeners = new Set<EventListener>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Passes an event to every listener, in the order they subscribed. A listener that throws does not
   * stop the others nor the watch's own handler: its error goes to `onError`.
   */
  emit(e: ResourceEvent, onError?: (err: unknown) => void): void {
    for (const listener of this.listeners) {
      try {
        listener(e);
      } catch (err) {
        onError?.(err);
      }
    }
  }

  /** Listeners subscribed (tests). */
  get size(): number {
    return this.listeners.size;
  }
}
