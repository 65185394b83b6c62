/**
 * `examples/` as the repository a user copies (issue 9 §2), checked with the real helm before any
 * cluster: the app of apps renders the four children (capstan itself, guestbook, hello, secrets), each
 * pointing at a folder that exists in the repository, and the `capstan` child mirrors the README's
 * install: rendering capstan's chart with its values yields the very root Application that `helm
 * install ... --set bootstrap.enabled=true` creates, so that capstan adopts the install unchanged.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { buildExamplesDir, EXAMPLES_NAMESPACE, rootApplication } from '../e2e/examples';

const run = promisify(execFile);
const HELM = path.resolve(__dirname, '..', '.tools', 'bin', 'helm');
const URL = 'git://127.0.0.1:9418/examples.git';

/** An object of a helm template output. */
type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
};

/** An Application's spec fields these tests read. */
type AppSpec = {
  source: {
    repoURL: string;
    path: string;
    helm?: { releaseName?: string; valuesObject?: Record<string, unknown> };
  };
  destination: { namespace: string };
};

/** `helm template <release> <chart> -n argocd ...args`, parsed. */
async function template(release: string, chart: string, ...args: string[]): Promise<Obj[]> {
  const { stdout } = await run(
    HELM,
    ['template', release, chart, '--namespace', EXAMPLES_NAMESPACE, ...args],
    { maxBuffer: 64 << 20 },
  );
  return parseAllDocuments(stdout)
    .map((d) => d.toJSON() as Obj | null)
    .filter((o): o is Obj => !!o);
}

const dir = buildExamplesDir(URL);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('examples/', () => {
  test('the app of apps renders capstan, guestbook, hello and secrets, each from a folder of the repository', async () => {
    const apps = await template('root', path.join(dir, 'apps'));
    assert.deepEqual(apps.map((a) => `${a.kind}/${a.metadata.name}`).sort(), [
      'Application/capstan',
      'Application/guestbook',
      'Application/hello',
      'Application/secrets',
    ]);
    for (const app of apps) {
      const spec = app.spec as AppSpec;
      assert.equal(spec.source.repoURL, URL, `${app.metadata.name}'s repoURL`);
      assert.ok(
        fs.existsSync(path.join(dir, spec.source.path)),
        `${app.metadata.name}'s path ${spec.source.path} exists in the repository`,
      );
    }
  });

  test("the capstan child renders capstan's chart with the install's values: the same root, the same names", async () => {
    const apps = await template('root', path.join(dir, 'apps'));
    const capstan = apps.find((a) => a.metadata.name === 'capstan');
    const spec = capstan?.spec as AppSpec;
    assert.equal(spec.source.path, 'helm-chart');
    assert.equal(spec.destination.namespace, EXAMPLES_NAMESPACE);
    const values = path.join(dir, 'capstan-values.json');
    fs.writeFileSync(values, JSON.stringify(spec.source.helm?.valuesObject ?? {}));
    const objects = await template(
      spec.source.helm?.releaseName ?? 'capstan',
      path.join(dir, spec.source.path),
      '--include-crds',
      '--values',
      values,
    );
    const root = objects.find((o) => o.kind === 'Application');
    const installed = (await rootApplication(URL)) as Obj;
    assert.deepEqual(root, installed, 'the root the capstan app renders is the one helm install created');
    const deployment = objects.find((o) => o.kind === 'Deployment');
    assert.equal(deployment?.metadata.name, 'capstan', "the release name keeps the install's names");
    assert.ok(
      objects.some((o) => o.kind === 'CustomResourceDefinition'),
      'the CRDs are part of the capstan app',
    );
  });

  test('secrets holds a fake SecretStore and an ExternalSecret of it', () => {
    const docs = fs
      .readdirSync(path.join(dir, 'secrets'))
      .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, 'secrets', f), 'utf8')))
      .map((d) => d.toJSON() as Obj);
    const store = docs.find((d) => d.kind === 'SecretStore');
    const es = docs.find((d) => d.kind === 'ExternalSecret');
    assert.ok((store?.spec?.provider as { fake?: unknown })?.fake, 'the store uses the fake provider');
    assert.equal((es?.spec?.secretStoreRef as { name?: string })?.name, store?.metadata.name);
  });
});
