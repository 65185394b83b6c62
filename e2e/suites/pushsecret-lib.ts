/** What the PushSecret suites share: the API path, the object as they read it, and its creation. */
import { kube } from './lib';
import type { EsObject } from './externalsecret-lib';

/** The path of the PushSecrets of `ns`, or of one of them. */
export const psPath = (ns: string, name = ''): string =>
  `/apis/external-secrets.io/v1alpha1/namespaces/${ns}/pushsecrets${name ? '/' + name : ''}`;

/** A PushSecret as the suites read it. */
export interface PsObject extends EsObject {
  metadata: EsObject['metadata'] & { finalizers?: string[] };
  status?: EsObject['status'] & {
    syncedPushSecrets?: Record<string, Record<string, unknown>>;
    syncedSourceVersion?: string;
  };
}

/** Creates the PushSecret `ns/name` with `spec`. */
export async function createPushSecret(
  ns: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kube().request('POST', psPath(ns), {
    body: {
      apiVersion: 'external-secrets.io/v1alpha1',
      kind: 'PushSecret',
      metadata: { name, namespace: ns },
      spec,
    },
  });
}
