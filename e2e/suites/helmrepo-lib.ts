/** Shared by the Helm repository and OCI suites: repository Secrets of `type: helm` and conditions. */
import type { KubeObject } from '../../operator/kube/object';
import { AppObject, controllerNamespace, kube } from './lib';

const b64 = (v: string): string => Buffer.from(v).toString('base64');

/**
 * Creates or replaces an Argo CD repository Secret of `type: helm` in capstan's namespace.
 * @param data - plain values (`url`, `username`, `password`, `enableOCI`, ...); base64-encoded here.
 */
export async function putHelmRepoSecret(name: string, data: Record<string, string>): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, labels: { 'argocd.argoproj.io/secret-type': 'repository' } },
    data: Object.fromEntries(Object.entries({ type: 'helm', ...data }).map(([k, v]) => [k, b64(v)])),
  };
  const base = `/api/v1/namespaces/${controllerNamespace()}/secrets`;
  try {
    await kube().request('PUT', `${base}/${name}`, { body });
  } catch {
    await kube().request('POST', base, { body });
  }
}

/** True when the app has a condition of `type` whose message matches. */
export const hasCondition = (type: string, pattern: RegExp) => (a: AppObject) =>
  !!a.status?.conditions?.some((c) => c.type === type && pattern.test(c.message));

/** The `data` of a ConfigMap (empty when it is missing). */
export const dataOf = (obj: KubeObject | undefined): Record<string, string> =>
  (obj?.data ?? {}) as Record<string, string>;
