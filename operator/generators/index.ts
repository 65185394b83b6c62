/**
 * Generators (ESO's `generators.external-secrets.io/v1alpha1`): objects that make values instead of
 * reading them from a store, referenced from an ExternalSecret's `dataFrom[].sourceRef.generatorRef`
 * or a PushSecret's `selector.generatorRef`:
 *
 * ```yaml
 * dataFrom:
 *   - sourceRef:
 *       generatorRef:
 *         apiVersion: generators.external-secrets.io/v1alpha1
 *         kind: Password            # or UUID, or ClusterGenerator (cluster-scoped, any namespace)
 *         name: my-password
 * ```
 *
 * capstan implements `Password` and `UUID`, directly or through a `ClusterGenerator` (`spec.kind` plus
 * `spec.generator.passwordSpec|uuidSpec`). Generation is stateless, as ESO's for these kinds: a new
 * value each time it is called, so an ExternalSecret regenerates exactly when it refreshes
 * (`refreshPolicy` and `refreshInterval`, ESO's semantics).
 */
import type { ClusterGenerator } from '../../generated/clustergenerator';
import type { Password } from '../../generated/password';
import { isNotFound, type KubeClient } from '../kube/client';
import { ProviderError } from '../providers/types';
import { generatePasswords, GeneratorSpecError, type RandomInt } from './password';
import { generateUUID } from './uuid';

export { generatePasswords, passwordPlan, rawPassword, encodePassword, GeneratorSpecError } from './password';
export { generateUUID } from './uuid';

/** The API group of generators. */
export const GENERATOR_GROUP = 'generators.external-secrets.io';
/** The served version. */
export const GENERATOR_VERSION = 'v1alpha1';
/** `apiVersion` of generators. */
export const GENERATOR_API_VERSION = `${GENERATOR_GROUP}/${GENERATOR_VERSION}`;

/** A reference to a generator: ESO `GeneratorRef`. */
export interface GeneratorRef {
  /** apiVersion - `generators.external-secrets.io/v1alpha1` (unset means that). */
  apiVersion?: string;
  /** kind - `Password`, `UUID` or `ClusterGenerator`. */
  kind: string;
  /** name - the generator object (in the referrer's namespace, or cluster-scoped for ClusterGenerator). */
  name: string;
}

/** The kinds capstan generates, and their plural. */
const PLURALS: Record<string, string> = { Password: 'passwords', UUID: 'uuids' };

/** Overridable randomness (tests). */
export interface GenerateOptions {
  randomInt?: RandomInt;
  randomUUID?: () => string;
}

/** Output of one generator kind from its spec. @throws GeneratorSpecError */
export function generateFromSpec(
  kind: string,
  spec: unknown,
  opts: GenerateOptions = {},
): Record<string, Buffer> {
  switch (kind) {
    case 'Password':
      return generatePasswords(spec as Password['spec'], opts.randomInt);
    case 'UUID':
      return generateUUID(opts.randomUUID);
    default:
      throw new GeneratorSpecError(
        `generator kind "${kind}" is not supported by capstan (supported: ClusterGenerator, Password, UUID)`,
      );
  }
}

/** The kind and spec a ClusterGenerator stands for (ESO: `spec.kind` selects `spec.generator.<kind>Spec`). */
export function clusterGeneratorTarget(cg: ClusterGenerator): { kind: string; spec: unknown } {
  const kind = cg.spec?.kind;
  const generator = (cg.spec?.generator ?? {}) as Record<string, unknown>;
  const field =
    kind === 'UUID' ? 'uuidSpec' : `${String(kind).charAt(0).toLowerCase()}${String(kind).slice(1)}Spec`;
  if (kind === 'Password' && generator[field] === undefined) {
    throw new GeneratorSpecError(
      `ClusterGenerator "${cg.metadata.name}": spec.generator.${field} must be set`,
    );
  }
  return { kind: String(kind), spec: generator[field] };
}

async function getObject<T>(client: KubeClient, path: string, what: string): Promise<T> {
  try {
    return await client.request<T>('GET', path);
  } catch (err) {
    if (isNotFound(err)) throw new ProviderError(`${what} not found`, { retryable: true });
    throw err;
  }
}

/**
 * Reads the generator `ref` names and generates its output (key -> value).
 * @param namespace - the referrer's namespace (namespaced generators are read there).
 * @throws GeneratorSpecError (terminal) for an unsupported kind/apiVersion or impossible settings;
 *   ProviderError (retryable) when the generator does not exist; KubeApiError for API failures.
 */
export async function generate(
  client: KubeClient,
  namespace: string,
  ref: GeneratorRef,
  opts: GenerateOptions = {},
): Promise<Record<string, Buffer>> {
  if (ref.apiVersion && ref.apiVersion !== GENERATOR_API_VERSION) {
    throw new GeneratorSpecError(`generatorRef.apiVersion must be ${GENERATOR_API_VERSION}`);
  }
  const base = `/apis/${GENERATOR_GROUP}/${GENERATOR_VERSION}`;
  const name = encodeURIComponent(ref.name);
  if (ref.kind === 'ClusterGenerator') {
    const cg = await getObject<ClusterGenerator>(
      client,
      `${base}/clustergenerators/${name}`,
      `ClusterGenerator "${ref.name}"`,
    );
    const target = clusterGeneratorTarget(cg);
    return generateFromSpec(target.kind, target.spec, opts);
  }
  const plural = PLURALS[ref.kind];
  if (!plural) return generateFromSpec(ref.kind, undefined, opts); // throws: unsupported kind
  const obj = await getObject<{ spec?: unknown }>(
    client,
    `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}/${name}`,
    `${ref.kind} "${namespace}/${ref.name}"`,
  );
  return generateFromSpec(ref.kind, obj.spec, opts);
}
