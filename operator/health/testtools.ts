/**
 * Test helpers for the health checks (used by the `*.test.ts` files only).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../kube/object';

/** The folder of YAML fixtures, `<kind>-<state>.yaml`. */
export const testdata = path.join(__dirname, 'testdata');

/**
 * Loads one fixture.
 * @param name - the file name in testdata/, e.g. `deployment-degraded.yaml`.
 * @returns a fresh copy of the object, safe to modify.
 */
export function fixture(name: string): KubeObject {
  return parse(fs.readFileSync(path.join(testdata, name), 'utf8')) as KubeObject;
}
