/**
 * Destinations capstan can deploy to. For now only the cluster capstan runs in, named as Argo CD
 * names it: server `https://kubernetes.default.svc` or name `in-cluster`. Any other destination is a
 * clear InvalidSpecError, never a silent deploy into the wrong cluster.
 */

/** Argo CD's in-cluster server URL. */
export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc';
/** Argo CD's in-cluster destination name. */
export const IN_CLUSTER_NAME = 'in-cluster';

/** Why the destination cannot be used; undefined when it is the in-cluster destination. */
export function destinationProblem(dest: { server?: string; name?: string }): string | undefined {
  if (dest.server && dest.name) {
    return "application destination can't have both name and server defined";
  }
  if (dest.server !== undefined && dest.server.replace(/\/$/, '') !== IN_CLUSTER_SERVER) {
    return `unable to find destination server: there are no clusters with this URL: ${dest.server}`;
  }
  if (dest.name !== undefined && dest.name !== IN_CLUSTER_NAME) {
    return `unable to find destination server: there are no clusters with this name: ${dest.name}`;
  }
  return undefined;
}
