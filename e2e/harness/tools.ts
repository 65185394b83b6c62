/**
 * Where the tests find helm and kubectl: the project-local copies that scripts/setup-tools.sh
 * unpacks into .tools/bin/ (no system install needed).
 */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root (this file lives in e2e/harness/). */
const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Path of a tool in `.tools/bin/`.
 * @param name - `helm` or `kubectl`.
 * @returns the absolute path.
 * @throws Error telling to run scripts/setup-tools.sh when the tool is missing.
 */
export function toolPath(name: 'helm' | 'kubectl'): string {
  const file = path.join(ROOT, '.tools', 'bin', name);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing; run scripts/setup-tools.sh`);
  return file;
}
