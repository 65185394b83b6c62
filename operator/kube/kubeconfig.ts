/**
 * The kubeconfig loader: `@kubernetes/client-node`'s `KubeConfig` (kubectl's loading chain, client
 * certificates, bearer tokens, exec and auth-provider plugins, the in-cluster service account),
 * loaded without the rest of the package.
 *
 * Why not `import { KubeConfig } from '@kubernetes/client-node'`: the package's index loads every
 * generated API class and model (about 800 modules, ~13 MiB of heap and ~30 MiB RSS in an idle
 * process), and so does its `dist/config` module, which requires `./api` at load time only for the
 * deprecated `Config.fromFile`/`fromCluster`/`defaultClient` helpers. capstan uses none of the
 * generated clients (kube/client.ts speaks JSON to any kind), so `dist/config` is loaded here with a
 * placeholder for `./api` whose `CoreV1Api` loads the real generated API on first use: `KubeConfig`
 * behaves exactly as the package's, and the generated code is never loaded unless someone asks for it.
 * The placeholder is in the module cache only while `dist/config` loads, so a later
 * `require('@kubernetes/client-node')` (tests, the e2e harness) gets the real, complete index, whose
 * `KubeConfig` is this same class. Tied to the 0.20 layout (`dist/config.js`, `dist/api.js`;
 * package.json pins 0.20.0): kubeconfig.test.ts fails when the layout changes.
 */
import Module from 'node:module';
import type { KubeConfig } from '@kubernetes/client-node/dist/config';

export type { KubeConfig };

type ConfigModule = typeof import('@kubernetes/client-node/dist/config');

let configModule: ConfigModule | undefined;

/** `require` of a module of `@kubernetes/client-node` by its path (loaded on demand, see above). */
function load<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

/**
 * `@kubernetes/client-node/dist/config`, loaded once, without the generated API (see the module
 * comment). When the package's index or `dist/config` was loaded before, that module is returned.
 */
export function kubeConfigModule(): ConfigModule {
  if (configModule) return configModule;
  const apiPath = require.resolve('@kubernetes/client-node/dist/api');
  if (require.cache[apiPath])
    return (configModule = load<ConfigModule>('@kubernetes/client-node/dist/config'));
  const placeholder = new Module(apiPath);
  placeholder.filename = apiPath;
  placeholder.loaded = true;
  // `__esModule` makes tslib's __importStar hand the object over as it is, getter included.
  placeholder.exports = Object.defineProperties(
    {},
    {
      __esModule: { value: true },
      CoreV1Api: {
        enumerable: true,
        get: () => load<{ CoreV1Api: unknown }>('@kubernetes/client-node/dist/gen/api').CoreV1Api,
      },
    },
  );
  require.cache[apiPath] = placeholder;
  try {
    configModule = load<ConfigModule>('@kubernetes/client-node/dist/config');
  } finally {
    delete require.cache[apiPath];
  }
  return configModule;
}

/**
 * Loads a KubeConfig: from `path` when given, else the default chain (KUBECONFIG, ~/.kube/config,
 * in-cluster service account), as kubectl does.
 * @throws whatever `KubeConfig.loadFromFile` throws for an unreadable or malformed file.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new (kubeConfigModule().KubeConfig)();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
