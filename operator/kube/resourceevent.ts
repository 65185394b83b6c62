/**
 * The watch event shape the operators' handlers take: the same types and values as
 * `@dot-i/k8s-operator`'s `ResourceEvent`/`ResourceEventType` (capstan's handlers were written against
 * that framework), declared here so that no process loads the framework: importing its enum loaded
 * its whole module, and with it the whole of `@kubernetes/client-node` (every generated API class and
 * model), `gaxios` and `async`, about 17 MiB of heap that nothing used (see kube/kubeconfig.ts).
 */
import type { KubernetesObject } from '@kubernetes/client-node/dist/types';

/** What happened to the object, as the watch reports it (ADDED also for the initial list). */
export enum ResourceEventType {
  Added = 'ADDED',
  Modified = 'MODIFIED',
  Deleted = 'DELETED',
}

/** Where the event's object lives: `id` is `<plural>.<apiVersion>`, as `@dot-i/k8s-operator` builds it. */
export interface ResourceMeta {
  name: string;
  namespace?: string;
  id: string;
  resourceVersion: string;
  apiVersion: string;
  kind: string;
}

/** One event on a watched object. */
export interface ResourceEvent {
  meta: ResourceMeta;
  type: ResourceEventType;
  object: KubernetesObject;
}
