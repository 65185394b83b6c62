/**
 * The UUID generator, as ESO's `generators/v1/uuid`: one random (version 4) UUID under the key `uuid`,
 * from node's CSPRNG (`crypto.randomUUID`).
 */
import { randomUUID } from 'node:crypto';

/** Generates `{ uuid: <v4 UUID> }`. */
export function generateUUID(make: () => string = randomUUID): Record<string, Buffer> {
  return { uuid: Buffer.from(make()) };
}
