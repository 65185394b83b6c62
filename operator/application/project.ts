/**
 * Looks up the app's AppProject (in the controller's namespace, as Argo CD) and checks the app against
 * it. A missing `default` project is treated as Argo CD's built-in permissive default project.
 */
import { isNotFound } from '../kube/client';
import { projectViolations, ProjectSpec } from '../appproject/permissions';
import { App } from './api';
import { ApplicationContext } from './context';
import { appSources } from './compare';

/**
 * Problems that make the app invalid for its project; empty when permitted.
 * @throws KubeApiError on API failures other than NotFound.
 */
export async function checkProject(ctx: ApplicationContext, app: App): Promise<string[]> {
  const name = app.spec.project;
  let project: { spec?: ProjectSpec } | undefined;
  try {
    project = await ctx.client.request(
      'GET',
      `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(ctx.settings.controllerNamespace)}/appprojects/${encodeURIComponent(name)}`,
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!project)
    return name === 'default' ? [] : [`application references project ${name} which does not exist`];
  return projectViolations(
    name,
    project.spec ?? {},
    {
      repoURLs: appSources(app).map((s) => s.repoURL),
      destination: app.spec.destination,
      namespace: app.metadata.namespace,
    },
    ctx.settings.controllerNamespace,
  );
}
