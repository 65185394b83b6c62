/**
 * The Applications a push is matched against, mirrored by an informer (as Argo CD's webhook handler
 * reads its application lister), so that a push costs no LIST: at 200 apps a LIST per push made the
 * webhook about 0.3 s slower than the refresh annotation on a loaded machine. Each app is kept as the
 * few fields the match reads (name, namespace, resourceVersion, annotations, the sources), a few
 * hundred bytes an app. Until the first list has arrived, {@link AppIndex.apps} answers undefined and the
 * caller LISTs.
 */
import type { KubeClient } from '../kube/client';
import type { ResourceType } from '../kube/discovery';
import { Informer } from '../kube/informer';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import type { AppRef } from './match';

const APPLICATIONS: ResourceType = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  kind: 'Application',
  plural: 'applications',
  namespaced: true,
};

/** What the match reads of an Application, plus the resourceVersion the informer compares. */
export function appProjection(obj: KubeObject): KubeObject {
  const { name, namespace, resourceVersion, annotations } = obj.metadata;
  const spec = (obj as { spec?: AppRef['spec'] }).spec;
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name, namespace, resourceVersion, annotations },
    spec: { source: spec?.source, sources: spec?.sources },
  } as KubeObject;
}

/** Informers of the Applications of the watched namespaces (one over all namespaces when cluster-wide). */
export class AppIndex {
  private informers: Informer[];
  private listed = 0;
  private stopped = false;

  /** @param namespaces - the namespaces whose Applications capstan reconciles; undefined: all. */
  constructor(client: KubeClient, namespaces: string[] | undefined, log: Logger) {
    this.informers = (namespaces ?? [undefined]).map(
      (namespace) =>
        new Informer(client, APPLICATIONS, '', () => undefined, {
          namespace,
          project: appProjection,
          onError: (err) =>
            log.warn('Watch of applications.argoproj.io for the git webhook failed; retrying.', {
              error: (err as Error).message,
            }),
        }),
    );
  }

  /** Starts the informers in the background; a failed first list is retried until it succeeds or stop(). */
  start(): void {
    for (const informer of this.informers) void this.startOne(informer);
  }

  private async startOne(informer: Informer): Promise<void> {
    for (let delay = 1000; !this.stopped; delay = Math.min(delay * 2, 30_000)) {
      try {
        await informer.start();
        this.listed++;
        return;
      } catch {
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  /** Every mirrored app, or undefined until every informer has listed once. */
  apps(): AppRef[] | undefined {
    if (this.stopped || this.listed < this.informers.length) return undefined;
    return this.informers.flatMap((i) => i.list() as unknown as AppRef[]);
  }

  /** Stops the watches and drops the mirrored apps (the leader's operator cache serves from then on). */
  stop(): void {
    for (const informer of this.informers) informer.stop();
    this.informers = [];
    this.stopped = true;
  }
}
