import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Runs `code` in a fresh node (with tsx) so the module cache starts empty, and returns its stdout. */
function fresh(code: string): string {
  return execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, encoding: 'utf8' });
}

function writeKubeconfig(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-kubeconfig-'));
  const file = path.join(dir, 'config');
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443/", certificate-authority-data: "Q0E="}}]',
      'users: [{name: u, user: {token: t0ken}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
    ].join('\n'),
  );
  return file;
}

test('loadKubeConfig reads a kubeconfig and applies its auth without loading the generated API', () => {
  const file = writeKubeconfig();
  const out = fresh(`
    const { loadKubeConfig } = require('./operator/kube/kubeconfig');
    const kc = loadKubeConfig(${JSON.stringify(file)});
    const opts = {};
    kc.applyToHTTPSOptions(opts).then(() => {
      const generated = Object.keys(require.cache).filter((k) => k.includes('client-node/dist/gen/')).length;
      console.log(JSON.stringify({
        server: kc.getCurrentCluster().server,
        auth: opts.headers.Authorization === 'Bearer t0ken',
        ca: String(opts.ca),
        generated,
      }));
    });
  `);
  assert.deepEqual(JSON.parse(out), { server: 'https://127.0.0.1:6443', auth: true, ca: 'CA', generated: 0 });
});

test('the package index loaded afterwards is complete and shares the KubeConfig class', () => {
  const out = fresh(`
    const { kubeConfigModule } = require('./operator/kube/kubeconfig');
    const { KubeConfig } = kubeConfigModule();
    const k8s = require('@kubernetes/client-node');
    // the deprecated helper reaches the generated API through the placeholder's getter
    const viaPlaceholder = typeof require('@kubernetes/client-node/dist/config').Config.fromFile;
    console.log(JSON.stringify({
      same: k8s.KubeConfig === KubeConfig,
      coreV1: typeof k8s.CoreV1Api,
      viaPlaceholder,
    }));
  `);
  assert.deepEqual(JSON.parse(out), { same: true, coreV1: 'function', viaPlaceholder: 'function' });
});

test("the placeholder's CoreV1Api is the generated class", () => {
  const out = fresh(`
    const { kubeConfigModule } = require('./operator/kube/kubeconfig');
    kubeConfigModule();
    const before = Object.keys(require.cache).some((k) => k.includes('client-node/dist/gen/'));
    const cfg = require.cache[require.resolve('@kubernetes/client-node/dist/config')];
    // dist/config keeps the placeholder as its 'api' binding; read it the way Config.fromFile does
    const api = cfg.children.find((m) => m.id.endsWith('dist/api.js'));
    const same = api.exports.CoreV1Api === require('@kubernetes/client-node/dist/gen/api').CoreV1Api;
    console.log(JSON.stringify({ before, same }));
  `);
  assert.deepEqual(JSON.parse(out), { before: false, same: true });
});
