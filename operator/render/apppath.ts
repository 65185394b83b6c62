/**
 * The app path: the directory a source renders from (`spec.source.path`), resolved inside the repository.
 */
import fs from 'node:fs';
import { resolveInside } from '../sources/paths';
import { RenderError } from './errors';

/**
 * Resolves a source `path` inside the repository and checks that it is a directory. `''`, `.` and an
 * absent path all mean the repository root; an absolute path is repository-relative (see `resolveInside`).
 * @param root - the repository checkout.
 * @param appPath - the source `path` as written in the Application.
 * @returns the real absolute path of the app directory.
 * @throws RenderError `app path "x" does not exist` or `app path "x" is not a directory`.
 * @throws PathEscapeError when the path resolves outside the repository.
 */
export function resolveAppDir(root: string, appPath: string | undefined): string {
  const dir = resolveInside(root, appPath || '.', 'app path');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new RenderError(`app path "${appPath}" does not exist`);
  }
  if (!stat.isDirectory()) throw new RenderError(`app path "${appPath}" is not a directory`);
  return dir;
}
