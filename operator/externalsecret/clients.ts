/**
 * The provider clients of one ExternalSecret reconcile, one per store, made on first use and closed
 * at the end (ESO's client manager). Every provider request waits for its store's rate limiter first.
 */
import { generate, type GeneratorRef } from '../generators';
import { providerFor, type SecretsClient } from '../providers';
import { MSG_STORE_CLIENT } from './constants';
import type { ExternalSecretContext } from './context';
import { asSyncError, SyncError } from './errors';
import { providerReads } from './metrics';
import { readKey } from './readcache';
import type { ResolvedStore } from './stores';
import type { ExternalSecretObject } from './types';

/** Lazily made, rate-limited provider clients for one reconcile. */
export class StoreClients {
  private readonly clients = new Map<string, Promise<SecretsClient>>();

  /**
   * @param ctx - shared context (client, limiter).
   * @param es - the ExternalSecret (its namespace is where SecretStore credentials are read).
   * @param stores - the resolved stores by key.
   */
  constructor(
    private readonly ctx: ExternalSecretContext,
    private readonly es: ExternalSecretObject,
    private readonly stores: Map<string, ResolvedStore>,
  ) {}

  /**
   * Runs one provider request on the store's client, after its rate limiter allows it.
   * @throws whatever the provider throws (NoSecretError, ProviderError), or a SyncError when no client can be made.
   */
  async call<T>(key: string, request: (client: SecretsClient) => Promise<T>): Promise<T> {
    const client = await this.client(key);
    await this.ctx.limiter.wait(key, providerKind(this.stores.get(key)));
    return request(client);
  }

  /**
   * A read shared with the other ExternalSecrets that ask the same store for the same thing within
   * `settings.readShareMs` (readcache.ts): only a read that is not shared waits for the rate limiter
   * and calls the provider.
   * @param op - what is read: `get` (data[].remoteRef), `map` (dataFrom.extract), `find` (dataFrom.find).
   * @param what - the remote ref or find, part of the cache key.
   * @throws as {@link call}.
   */
  read<T>(
    key: string,
    op: 'get' | 'map' | 'find',
    what: unknown,
    request: (client: SecretsClient) => Promise<T>,
  ): Promise<T> {
    const resolved = this.stores.get(key);
    if (!resolved) return this.call(key, request);
    const { ref, store } = resolved;
    const identity = {
      kind: ref.kind,
      namespace: store.metadata.namespace,
      name: ref.name,
      resourceVersion: store.metadata.resourceVersion,
      provider: (store.spec as { provider?: Record<string, unknown> }).provider,
    };
    const calls = this.ctx.reads.calls;
    const value = this.ctx.reads.read(readKey(identity, this.es.metadata.namespace, op, what), () =>
      this.call(key, request),
    );
    providerReads.inc({ result: this.ctx.reads.calls > calls ? 'call' : 'shared' });
    return value;
  }

  /**
   * Runs the generator `ref` names (namespaced generators in the ExternalSecret's namespace), as ESO's
   * `dataFrom[].sourceRef.generatorRef`: a new value on every call.
   * @throws GeneratorSpecError (terminal), ProviderError (retryable: the generator is missing), API errors.
   */
  generate(ref: GeneratorRef): Promise<Record<string, Buffer>> {
    return generate(this.ctx.client, this.es.metadata.namespace, ref);
  }

  /** Closes every client made (errors are ignored: closing is best effort). */
  async close(): Promise<void> {
    const made = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(made.map((p) => p.then((c) => c.close()).catch(() => undefined)));
  }

  private client(key: string): Promise<SecretsClient> {
    let p = this.clients.get(key);
    if (!p) {
      p = this.make(key);
      this.clients.set(key, p);
    }
    return p;
  }

  private async make(key: string): Promise<SecretsClient> {
    const resolved = this.stores.get(key);
    if (!resolved) throw new SyncError(MSG_STORE_CLIENT, `store ${key} was not resolved`);
    const { ref, store } = resolved;
    try {
      const { provider } = providerFor(store.spec as { provider?: Record<string, unknown> });
      return await provider.newClient({
        store: { kind: ref.kind, name: ref.name, namespace: store.metadata.namespace, spec: store.spec },
        namespace: this.es.metadata.namespace,
        kube: this.ctx.client,
        log: this.ctx.log,
        limits: this.ctx.settings.providerLimits,
      });
    } catch (err) {
      throw asSyncError(err, MSG_STORE_CLIENT, `${ref.kind} "${ref.name}"`);
    }
  }
}

/** The provider kind of a store (the one key under `spec.provider`, e.g. `fake`), for its rate limit. */
function providerKind(resolved: ResolvedStore | undefined): string | undefined {
  const provider = (resolved?.store.spec as { provider?: Record<string, unknown> } | undefined)?.provider;
  return provider ? Object.keys(provider)[0] : undefined;
}
