/**
 * AppProject fields that capstan accepts (its CRD takes every field of Argo CD's AppProject, so that Argo CD
 * manifests apply unchanged) but does not act on. A platform admin who sets one of them expects a restriction or
 * a feature; silently dropping it would leave them believing it holds, so the AppProject operator reports each one
 * in a condition instead (issue 8 §3: "accepted and either enforced or reported as not supported").
 *
 * Pure: the spec in, field paths with the reason out. Only fields whose value changes something in Argo CD are
 * reported: an empty list, `false` or an absent field asks for nothing, so it needs no warning.
 */

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyArray(v: unknown): v is unknown[] {
  return Array.isArray(v) && v.length > 0;
}

/** What capstan is running with, where it decides whether a field has an effect. */
export interface UnsupportedFieldOptions {
  /**
   * Whether `--impersonation` is on. Without it `destinationServiceAccounts` changes nothing (as in Argo CD when
   * `application.sync.impersonation.enabled` is false), which is worth saying because the admin set it.
   */
  impersonation?: boolean;
}

/** One field rule: the problem line for a spec that uses the field, or undefined when it does not. */
type FieldRule = (spec: Obj, options: UnsupportedFieldOptions) => string | string[] | undefined;

/**
 * The rules, one per field. Kept as data so that a field that becomes enforced is one line to delete (its
 * unit test then says so).
 */
const RULES: FieldRule[] = [
  (spec) =>
    nonEmptyArray(spec.roles)
      ? "spec.roles: not supported: project roles grant access through Argo CD's API server, which capstan does not have; access to capstan's resources is Kubernetes RBAC"
      : undefined,
  (spec) =>
    nonEmptyArray(spec.signatureKeys)
      ? 'spec.signatureKeys: not supported: capstan does not verify GnuPG signatures of commits, so unsigned commits are synced'
      : undefined,
  (spec) =>
    isObject(spec.sourceIntegrity)
      ? 'spec.sourceIntegrity: not supported: capstan does not verify GnuPG signatures of commits, so unsigned commits are synced'
      : undefined,
  (spec) =>
    spec.permitOnlyProjectScopedClusters === true
      ? 'spec.permitOnlyProjectScopedClusters: not supported: capstan deploys only to the cluster it runs in and has no project-scoped clusters'
      : undefined,
  (spec, options) =>
    nonEmptyArray(spec.destinationServiceAccounts) && options.impersonation !== true
      ? "spec.destinationServiceAccounts: ignored: capstan runs without --impersonation, so syncs use capstan's own service account"
      : undefined,
];

/**
 * The AppProject fields set in `spec` that capstan accepts but does not enforce, each as
 * `spec.<field>: <why>` (the same `field.path: problem` shape as validation errors), in a fixed order.
 *
 * Reported: `roles` (Argo CD API-server RBAC), `signatureKeys` and `sourceIntegrity` (commit signature
 * verification), `permitOnlyProjectScopedClusters: true` (capstan has one cluster), and
 * `destinationServiceAccounts` while impersonation is off. Not reported, because capstan enforces them or they
 * carry no behaviour: sourceRepos, destinations, sourceNamespaces, the resource white/blacklists (with `name`),
 * syncWindows (with `description`, `andOperator`, `syncOverrun`), orphanedResources, and `description`.
 * The AppProject operator puts these lines into a warning condition of the project (suggested type
 * `UnsupportedFields`); the project stays valid and its enforced fields keep applying.
 * Pure and defensive: it never throws on a malformed spec (the schema reports that).
 * @param spec - the AppProject's `spec`, unvalidated.
 * @param options - how capstan runs (see {@link UnsupportedFieldOptions}); defaults to impersonation off.
 * @returns one line per unsupported field in use; empty when the project uses none.
 */
export function unsupportedProjectFields(spec: unknown, options: UnsupportedFieldOptions = {}): string[] {
  if (!isObject(spec)) return [];
  return RULES.flatMap((rule) => rule(spec, options) ?? []);
}
