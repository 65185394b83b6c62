/**
 * Test helpers: where the real `helm` and `kubectl` binaries are. Tests prefer the repository's
 * `.tools/bin` (unpacked by `scripts/setup-tools.sh`), then `$HELM_BINARY` / `$KUBECTL_BINARY`.
 */
import fs from 'node:fs';
import path from 'node:path';

const toolsBin = path.resolve(__dirname, '../../.tools/bin');

/**
 * The binary to test with, or undefined when none is installed (tests then skip with a reason).
 * @param name - `helm` or `kubectl`.
 * @param envVar - the environment variable that may name it.
 */
export function testBinary(name: string, envVar: string): string | undefined {
  const local = path.join(toolsBin, name);
  if (fs.existsSync(local)) return local;
  const fromEnv = process.env[envVar];
  return fromEnv && fs.existsSync(fromEnv) ? fromEnv : undefined;
}
