/**
 * The app's AppProject and what it permits, read from the AppProject informer (`ctx.projects`, the
 * controller's namespace as Argo CD; no GET per reconcile). Checked at three points:
 *
 * - before anything else ({@link checkProject}): the project exists and is valid, the app's namespace may use
 *   it (`sourceNamespaces`), its sources and destination are permitted. Any problem is an
 *   `InvalidSpecError` and nothing of the app is applied or pruned;
 * - in every comparison ({@link projectGate}), also those a sync makes at an operation's own source or a
 *   rollback's: the sources compared, and each rendered object (kind, name, own namespace);
 * - hence again at every sync step, since each step re-plans from a fresh comparison against the project
 *   as the informer holds it now: a project tightened in the middle of a sync stops the next wave.
 *
 * A missing project is refused for every name, `default` included: capstan creates the `default` project
 * when it does not exist (as Argo CD does at start), so absence never means "allow everything".
 */
import { ProjectSpec, projectViolations, sourceViolations } from '../appproject/permissions';
import { ObjectIdentity, resourceViolation } from '../appproject/resources';
import { ApplicationContext } from './context';

/** The app fields the project checks read. */
export interface ProjectBoundApp {
  metadata: { namespace: string };
  spec: {
    project: string;
    source?: { repoURL: string };
    sources?: Array<{ repoURL: string }>;
    destination: { server?: string; name?: string; namespace?: string };
  };
}

/** What a comparison asks of the app's project. */
export interface ProjectGate {
  /**
   * Why the whole comparison is refused: the project is missing or invalid, or it does not permit one of
   * the repositories compared (an operation's or a rollback's source included); empty when none.
   */
  problems: string[];
  /**
   * Why the project refuses one rendered or live object, in Argo CD's words; undefined when permitted.
   * Always undefined while `problems` is not empty (nothing is compared then).
   */
  objectViolation(obj: ObjectIdentity): string | undefined;
}

/** The sources' repository URLs: `spec.sources`, or `spec.source`. */
function repoURLs(app: ProjectBoundApp): string[] {
  const sources = app.spec.sources?.length ? app.spec.sources : app.spec.source ? [app.spec.source] : [];
  return sources.map((s) => s.repoURL ?? '');
}

/**
 * The project's spec, or the problems that make it unusable: it does not exist (Argo CD's message) or the
 * AppProject validator finds it invalid ("project X is invalid: field: problem; ...").
 */
async function resolveProject(
  ctx: ApplicationContext,
  name: string,
): Promise<{ spec: ProjectSpec; problems: [] } | { spec?: undefined; problems: string[] }> {
  await ctx.projects.ready();
  const project = ctx.projects.get(name);
  if (!project) return { problems: [`application references project ${name} which does not exist`] };
  const invalid = ctx.projects.problems(name);
  if (invalid.length) return { problems: [`project ${name} is invalid: ${invalid.join('; ')}`] };
  return { spec: (project.spec ?? {}) as ProjectSpec, problems: [] };
}

/**
 * Problems that make the app invalid for its project (InvalidSpecError); empty when permitted.
 * @throws the initial list's KubeApiError while the project informer has not listed yet (retried).
 */
export async function checkProject(ctx: ApplicationContext, app: ProjectBoundApp): Promise<string[]> {
  const name = app.spec.project;
  const resolved = await resolveProject(ctx, name);
  if (!resolved.spec) return resolved.problems;
  return projectViolations(
    name,
    resolved.spec,
    { repoURLs: repoURLs(app), destination: app.spec.destination, namespace: app.metadata.namespace },
    ctx.settings.controllerNamespace,
  );
}

/**
 * The project checks of one comparison of `app` (which may carry an operation's source in place of its
 * own): the repositories it compares, and a per-object check.
 * @throws the initial list's KubeApiError while the project informer has not listed yet (retried).
 */
export async function projectGate(ctx: ApplicationContext, app: ProjectBoundApp): Promise<ProjectGate> {
  const name = app.spec.project;
  const resolved = await resolveProject(ctx, name);
  if (!resolved.spec) return { problems: resolved.problems, objectViolation: () => undefined };
  const spec = resolved.spec;
  const destination = app.spec.destination;
  return {
    problems: sourceViolations(name, spec, repoURLs(app)),
    objectViolation: (obj) => resourceViolation(name, spec, obj, destination),
  };
}

/**
 * Why the project refuses a live object (its kind from discovery, its own namespace), or undefined: such an
 * object is neither pruned nor deleted with the app, as Argo CD leaves out live objects its project does
 * not permit.
 */
export function liveObjectViolation(
  gate: ProjectGate,
  rt: { group: string; kind: string; namespaced: boolean },
  obj: { metadata: { name?: string; namespace?: string } },
): string | undefined {
  return gate.objectViolation({
    group: rt.group,
    kind: rt.kind,
    name: obj.metadata.name ?? '',
    namespace: obj.metadata.namespace ?? '',
    namespaced: rt.namespaced,
  });
}

/** A comparison the project refuses as a whole (its message names the project and what it refuses). */
export class ProjectPermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProjectPermissionError';
  }
}
