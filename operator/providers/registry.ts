/**
 * The provider registry, keyed by the single provider name under a store's `spec.provider` (ESO's
 * `esv1.Register`/`GetProvider`). Controllers only call `providerFor`; adding a provider (Vault, AWS)
 * is one `registerProvider` call, with no controller change.
 */
import type * as AwsModule from './aws';
import { fakeProvider } from './fake';
import { kubernetesProvider } from './kubernetes';
import type { Provider } from './types';
import { InvalidStoreError } from './types';
import { vaultProvider } from './vault';
import { webhookProvider } from './webhook';

const providers = new Map<string, Provider>();

/**
 * Registers a provider under its `name`; a later registration of the same name replaces the earlier
 * one (tests register doubles this way).
 */
export function registerProvider(provider: Provider): void {
  providers.set(provider.name, provider);
}

/** Removes a provider (tests). */
export function unregisterProvider(name: string): void {
  providers.delete(name);
}

/** The registered provider names, sorted. */
export function registeredProviders(): string[] {
  return [...providers.keys()].sort();
}

/**
 * Finds the provider of a store spec: `spec.provider` must hold exactly one key.
 * @param storeSpec - a SecretStore/ClusterSecretStore `spec`.
 * @returns the provider and its configuration (`spec.provider.<name>`).
 * @throws InvalidStoreError when there is no provider, more than one, or one capstan does not support.
 */
export function providerFor(storeSpec: { provider?: Record<string, unknown> } | undefined): {
  provider: Provider;
  config: unknown;
} {
  const block = storeSpec?.provider;
  const names =
    block && typeof block === 'object'
      ? Object.keys(block).filter((k) => block[k] !== undefined && block[k] !== null)
      : [];
  if (names.length !== 1) {
    const found = names.length ? `found ${names.length}: ${names.sort().join(', ')}` : 'found none';
    throw new InvalidStoreError(`spec.provider must name exactly one provider, ${found}`);
  }
  const provider = providers.get(names[0]);
  if (!provider) {
    throw new InvalidStoreError(
      `provider "${names[0]}" is not supported by capstan yet; supported: ${registeredProviders().join(', ')}`,
    );
  }
  return { provider, config: block?.[names[0]] };
}

/**
 * A provider whose module is loaded on first use (a store of that kind validated or read), so a process
 * with no such store never loads it. The AWS SDK v3 clients (Secrets Manager, SSM, STS) cost about
 * 25 MiB of RSS at start (issue 10 §2 P2), and most installs have no `aws` store.
 * @param name - the key under `spec.provider`.
 * @param capabilities - as the real provider's (read without loading it).
 * @param load - returns the real provider (a `require`, run once).
 */
export function lazyProvider(
  name: string,
  capabilities: Provider['capabilities'],
  load: () => Provider,
): Provider {
  let real: Provider | undefined;
  const get = (): Provider => (real ??= load());
  return {
    name,
    capabilities,
    validateStore: (config, store) => get().validateStore(config, store),
    newClient: (ctx) => get().newClient(ctx),
  };
}

registerProvider(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  lazyProvider('aws', 'ReadWrite', () => (require('./aws') as typeof AwsModule).awsProvider),
);
registerProvider(fakeProvider);
registerProvider(kubernetesProvider);
registerProvider(webhookProvider);
registerProvider(vaultProvider);
