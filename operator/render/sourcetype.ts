/**
 * Which tool renders a source, decided as Argo CD decides it (`ApplicationSource.ExplicitType` and
 * `discovery.AppType`): an explicit `helm:`, `kustomize:` or `directory:` block wins (two of them are an
 * error); otherwise the files in the app directory decide: a kustomization file means Kustomize (even
 * next to a Chart.yaml), a Chart.yaml means Helm, anything else is a Directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RenderError } from './errors';

/** The source types capstan renders (Argo CD's names, as reported in `status.sourceType`). */
export type SourceType = 'Directory' | 'Helm' | 'Kustomize';

/** The type-selecting blocks of an ApplicationSource; `null` counts as absent (a nil pointer in Go). */
export interface SourceTypeBlocks {
  directory?: unknown;
  helm?: unknown;
  kustomize?: unknown;
  plugin?: unknown;
}

/** File names that make a directory a kustomization (kustomize's own list). */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/**
 * Decides the source type.
 * @param source - the source's `directory` / `helm` / `kustomize` / `plugin` blocks.
 * @param appDir - the resolved app directory (absolute).
 * @returns `Directory`, `Helm` or `Kustomize`.
 * @throws RenderError `multiple application sources defined: Kustomize,Helm` (Argo CD's message) when more
 *   than one block is set, or when `plugin` is set (config management plugins are not supported).
 */
export function detectSourceType(source: SourceTypeBlocks, appDir: string): SourceType {
  const explicit = explicitTypes(source);
  if (explicit.length > 1)
    throw new RenderError(`multiple application sources defined: ${explicit.join(',')}`);
  if (explicit[0] === 'Plugin') throw new RenderError('Config management plugins are not supported');
  if (explicit.length === 1) return explicit[0] as SourceType;
  if (KUSTOMIZATION_FILES.some((name) => fs.existsSync(path.join(appDir, name)))) return 'Kustomize';
  if (fs.existsSync(path.join(appDir, 'Chart.yaml'))) return 'Helm';
  return 'Directory';
}

/** The explicitly set blocks, in Argo CD's order (Kustomize, Helm, Directory, Plugin). */
function explicitTypes(source: SourceTypeBlocks): Array<SourceType | 'Plugin'> {
  const types: Array<SourceType | 'Plugin'> = [];
  if (isSet(source.kustomize)) types.push('Kustomize');
  if (isSet(source.helm)) types.push('Helm');
  if (isSet(source.directory)) types.push('Directory');
  if (isSet(source.plugin)) types.push('Plugin');
  return types;
}

function isSet(block: unknown): boolean {
  return block !== undefined && block !== null;
}
