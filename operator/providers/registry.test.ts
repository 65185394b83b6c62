import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { providerFor, registeredProviders, registerProvider, unregisterProvider } from './registry';
import type { Provider } from './types';
import { InvalidStoreError } from './types';

describe('providerFor', () => {
  it('finds the built-in providers by the single key under spec.provider', () => {
    // each provider adds its name here (aws, vault, ...)
    const builtIn = ['aws', 'fake', 'kubernetes', 'webhook'];
    assert.deepEqual(
      registeredProviders().filter((n) => builtIn.includes(n)),
      builtIn,
    );
    for (const name of builtIn) {
      const cfg = { some: 'config' };
      const { provider, config } = providerFor({ provider: { [name]: cfg } });
      assert.equal(provider.name, name);
      assert.equal(config, cfg);
    }
  });

  const errors: Array<[string, { provider?: Record<string, unknown> } | undefined, string]> = [
    [
      'unsupported provider',
      { provider: { gcpsm: {} } },
      `provider "gcpsm" is not supported by capstan yet; supported: ${registeredProviders().join(', ')}`,
    ],
    ['no provider', { provider: {} }, 'spec.provider must name exactly one provider, found none'],
    ['no spec', undefined, 'spec.provider must name exactly one provider, found none'],
    [
      'two providers',
      { provider: { webhook: {}, fake: {} } },
      'spec.provider must name exactly one provider, found 2: fake, webhook',
    ],
  ];
  for (const [name, spec, message] of errors) {
    it(name, () =>
      assert.throws(
        () => providerFor(spec),
        (e: unknown) => e instanceof InvalidStoreError && e.message === message,
      ),
    );
  }

  it('a null entry does not count as a provider', () => {
    assert.equal(providerFor({ provider: { fake: {}, gcpsm: null } }).provider.name, 'fake');
  });

  it('registerProvider adds a provider without touching callers', () => {
    const vault: Provider = {
      name: 'vault',
      capabilities: 'ReadOnly',
      validateStore: () => [],
      newClient: () => Promise.reject(new Error('not in this test')),
    };
    registerProvider(vault);
    try {
      assert.equal(providerFor({ provider: { vault: {} } }).provider, vault);
    } finally {
      unregisterProvider('vault');
    }
    assert.throws(() => providerFor({ provider: { vault: {} } }), InvalidStoreError);
  });
});
