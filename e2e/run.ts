/**
 * `make test-e2e`: starts one real control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok) for the whole run, installs the CRDs, starts capstan as its own process, then
 * runs every suite in `e2e/suites/` with node's test runner. Suites isolate themselves by namespace
 * and start their own git daemon. Everything started here is stopped by PID at the end, also on
 * failure; capstan's log tail is printed when a suite fails.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane } from './harness/controlplane';
import { motoInstalled, startMoto, type MotoServer } from './harness/moto';
import { ensureDefaultProject, ensureNamespace, installCrds, ROOT, startOperator } from './operator';
import { freePorts } from './harness/process';

/** The namespace capstan runs in during the tests (repository Secrets, AppProjects). */
export const E2E_CONTROLLER_NAMESPACE = 'capstan-system';

/**
 * Render ceilings of the run's capstan, below the defaults (32 MiB, 10 000 objects) so that
 * e2e/suites/limits.e2e.ts can pass them with a chart of a few tens of MB; every other suite renders
 * a few KB and a handful of objects, far below either.
 */
const E2E_CEILING_ARGS = ['--max-manifest-bytes', '8Mi', '--max-objects', '2000'];

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-e2e-'));
  const cp = await startControlPlane();
  let operator: Awaited<ReturnType<typeof startOperator>> | undefined;
  let moto: MotoServer | undefined;
  try {
    // the AWS emulator of externalsecret-aws.e2e.ts; capstan reaches it through --aws-endpoint-url
    if (motoInstalled()) moto = await startMoto(dir);
    await installCrds(cp.kubeconfigPath);
    await ensureNamespace(cp.kubeconfigPath, E2E_CONTROLLER_NAMESPACE);
    await ensureDefaultProject(cp.kubeconfigPath, E2E_CONTROLLER_NAMESPACE);
    // the git webhook of e2e/suites/git-webhook.e2e.ts
    const [webhookPort] = await freePorts(1);
    operator = await startOperator({
      kubeconfig: cp.kubeconfigPath,
      controllerNamespace: E2E_CONTROLLER_NAMESPACE,
      logPath: path.join(dir, 'capstan.log'),
      cacheDir: path.join(dir, 'cache'),
      args: [
        '--metrics-port',
        '0',
        ...E2E_CEILING_ARGS,
        '--git-webhook-port',
        String(webhookPort),
        '--unsafe-allow-generic-targets', // externalsecret-manifest.e2e.ts
        ...(moto ? ['--aws-endpoint-url', moto.endpoint] : []),
      ],
    });
    const suites = fs
      .readdirSync(path.join(ROOT, 'e2e', 'suites'))
      .filter((f) => f.endsWith('.e2e.ts'))
      .map((f) => path.join('e2e', 'suites', f));
    // E2E_FILTER: parts of suite file names, comma-separated (one control plane for several suites).
    const filters = (process.env.E2E_FILTER ?? '').split(',').filter(Boolean);
    const selected = filters.length ? suites.filter((s) => filters.some((f) => s.includes(f))) : suites;
    const code = await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--test',
          '--test-reporter=spec',
          `--test-concurrency=${process.env.E2E_CONCURRENCY ?? 2}`,
          ...selected,
        ],
        {
          cwd: ROOT,
          stdio: 'inherit',
          env: {
            ...process.env,
            CAPSTAN_E2E_KUBECONFIG: cp.kubeconfigPath,
            CAPSTAN_E2E_CONTROLLER_NAMESPACE: E2E_CONTROLLER_NAMESPACE,
            CAPSTAN_E2E_OPERATOR_LOG: operator?.logPath,
            CAPSTAN_E2E_OPERATOR_PID: String(operator?.pid ?? ''),
            CAPSTAN_E2E_AWS_ENDPOINT: moto?.endpoint ?? '',
            CAPSTAN_E2E_GIT_WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/api/webhook`,
          },
        },
      );
      child.on('exit', (c) => resolve(c ?? 1));
    });
    if (code !== 0 && operator) process.stderr.write(`\n--- capstan log (tail) ---\n${operator.tail(80)}\n`);
    return code;
  } finally {
    await operator?.stop();
    await moto?.stop();
    await cp.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`e2e set-up failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
