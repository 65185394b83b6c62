/**
 * The Prometheus registry served on `/metrics` (prom-client), with the process's default metrics
 * (`process_*`, `nodejs_*`). It lives in common/ so that every room, from sources/ up to the operators,
 * registers its metrics on the same registry without importing a higher room.
 */
import client from 'prom-client';

/** The registry served on `/metrics`. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
