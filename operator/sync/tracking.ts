/**
 * Resource tracking, as Argo CD's annotation tracking: every object capstan applies carries
 * `argocd.argoproj.io/tracking-id: <app-instance>:<group>/<kind>:<namespace>/<name>`, and only objects
 * whose tracking id names the app AND the object itself are ever pruned (a copied object with a stale
 * annotation is not the app's). The app instance is the app's name when it lives in the controller's
 * namespace, else `<namespace>_<name>` (Argo CD's "apps in any namespace").
 *
 * capstan adds one label, `capstan.dev/managed: "true"`, so that its informers can watch only managed
 * objects (annotations cannot be selected on).
 */
import { KubeObject, groupVersion } from '../kube/object';

/** Argo CD's tracking annotation key. */
export const TRACKING_ID_ANNOTATION = 'argocd.argoproj.io/tracking-id';
/** capstan's tracking label key (value `true`). */
export const MANAGED_LABEL = 'capstan.dev/managed';
/** Label selector for every managed object. */
export const MANAGED_SELECTOR = `${MANAGED_LABEL}=true`;

/** The parts of a tracking id. */
export interface TrackingId {
  appInstance: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * The app instance name written in tracking ids.
 * @param controllerNamespace - the namespace capstan (or Argo CD) is installed in.
 */
export function appInstanceName(appNamespace: string, appName: string, controllerNamespace: string): string {
  return appNamespace === controllerNamespace ? appName : `${appNamespace}_${appName}`;
}

/** Splits an app instance name back into namespace and name. */
export function parseAppInstance(
  instance: string,
  controllerNamespace: string,
): { namespace: string; name: string } {
  const i = instance.indexOf('_');
  return i < 0
    ? { namespace: controllerNamespace, name: instance }
    : { namespace: instance.slice(0, i), name: instance.slice(i + 1) };
}

/** Formats a tracking id for an object: `app:group/Kind:namespace/name`. */
export function formatTrackingId(appInstance: string, obj: KubeObject): string {
  const { group } = groupVersion(obj.apiVersion);
  return `${appInstance}:${group}/${obj.kind}:${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** Parses a tracking id; undefined when malformed. */
export function parseTrackingId(value: string | undefined): TrackingId | undefined {
  const m = value?.match(/^([^:]+):([^/:]*)\/([^:]+):([^/]*)\/(.+)$/);
  if (!m) return undefined;
  return { appInstance: m[1], group: m[2], kind: m[3], namespace: m[4], name: m[5] };
}

/** Returns a copy of `obj` carrying the app's tracking annotation and capstan's tracking label. */
export function withTracking(obj: KubeObject, appInstance: string): KubeObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      labels: { ...obj.metadata.labels, [MANAGED_LABEL]: 'true' },
      annotations: {
        ...obj.metadata.annotations,
        [TRACKING_ID_ANNOTATION]: formatTrackingId(appInstance, obj),
      },
    },
  };
}

/** The app instance an object is tracked by, when its tracking id is well-formed and names the object. */
export function trackedBy(obj: KubeObject): string | undefined {
  const id = parseTrackingId(obj.metadata.annotations?.[TRACKING_ID_ANNOTATION]);
  if (!id) return undefined;
  const { group } = groupVersion(obj.apiVersion);
  const same =
    id.group === group &&
    id.kind === obj.kind &&
    id.name === obj.metadata.name &&
    id.namespace === (obj.metadata.namespace ?? '');
  return same ? id.appInstance : undefined;
}
