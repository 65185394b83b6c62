import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { CeilingError, RenderError } from './errors';
import { runTool, type ToolRun } from './tool';

/** A run of `node -e <script>`: a tool whose behaviour each test scripts. */
function nodeTool(script: string, overrides: Partial<ToolRun> = {}): ToolRun {
  return {
    binary: process.execPath,
    args: ['-e', script],
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH },
    timeoutMs: 20_000,
    what: 'test tool',
    ...overrides,
  };
}

/** Writes 64 KiB chunks forever (only a kill ends it), as a chart with `range until 10000000` would. */
const ENDLESS = `const b = Buffer.alloc(65536, 'x'); (function w() { process.stdout.write(b, w); })();`;

describe('runTool', () => {
  it('returns stdout of a tool that succeeds', async () => {
    assert.equal(await runTool(nodeTool(`process.stdout.write('kind: ConfigMap\\n')`)), 'kind: ConfigMap\n');
  });

  it('kills a tool as soon as its output passes maxOutputBytes, naming the ceiling and its flag', async () => {
    const started = Date.now();
    await assert.rejects(
      runTool(nodeTool(ENDLESS, { what: 'helm template of "big"', maxOutputBytes: 1024 * 1024 })),
      (err: unknown) => {
        assert.ok(err instanceof CeilingError, String(err));
        assert.equal(err.retryable, false);
        assert.equal(
          err.message,
          'helm template of "big" produced more than 1 MiB of manifests (the limit set by ' +
            '--max-manifest-bytes; an operator can raise it)',
        );
        return true;
      },
    );
    // The endless tool was stopped at the ceiling, not at a timeout or after buffering hundreds of MB.
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  it('applies the 32 MiB default ceiling when none is given', async () => {
    await assert.rejects(runTool(nodeTool(ENDLESS)), /more than 32 MiB of manifests .*--max-manifest-bytes/);
  });

  it('accepts output of exactly maxOutputBytes', async () => {
    const out = await runTool(nodeTool(`process.stdout.write('y'.repeat(4096))`, { maxOutputBytes: 4096 }));
    assert.equal(out.length, 4096);
  });

  it('reports a non-zero exit with the trimmed stderr, terminal', async () => {
    await assert.rejects(
      runTool(nodeTool(`console.error('Error: template: x.yaml:3: bad'); process.exit(1)`)),
      (err: unknown) => {
        assert.ok(err instanceof RenderError && !(err instanceof CeilingError));
        assert.equal(err.message, 'test tool failed: template: x.yaml:3: bad');
        assert.equal(err.retryable, false);
        return true;
      },
    );
  });

  it('times out a tool that hangs, retryable', async () => {
    await assert.rejects(
      runTool(nodeTool(`setTimeout(() => {}, 60000)`, { timeoutMs: 300 })),
      (err: unknown) => {
        assert.ok(err instanceof RenderError);
        assert.equal(err.message, 'test tool timed out after 300ms');
        assert.equal(err.retryable, true);
        return true;
      },
    );
  });

  it('reports a missing binary as retryable', async () => {
    await assert.rejects(runTool(nodeTool('', { binary: '/nonexistent/helm' })), (err: unknown) => {
      assert.ok(err instanceof RenderError);
      assert.equal(err.message, 'test tool: cannot run "/nonexistent/helm" (ENOENT)');
      assert.equal(err.retryable, true);
      return true;
    });
  });
});
