/**
 * A memory cache of assumed-role sessions, so that a store with `role` costs one STS `AssumeRole` per
 * session lifetime instead of one per reconcile (ESO caches its AWS sessions per store too). An entry
 * is keyed by everything that decides the session (the store, the reading namespace, the provider
 * configuration and the base credentials, hashed), so a changed spec or rotated keys assume again;
 * it is used until 80 % of its lifetime has passed. Never written to disk; values never logged.
 */
import { createHash } from 'node:crypto';

/** AWS credentials as the SDK takes them. */
export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Entries kept at most; the oldest go first (a few hundred stores with roles is a large install). */
const MAX_ENTRIES = 1000;
/** A session without an expiration (never from STS) is kept this long, in ms. */
const DEFAULT_LIFETIME_MS = 15 * 60_000;

interface Entry {
  credentials: SessionCredentials;
  /** When the entry stops being used, in ms since the epoch (80 % of the session's lifetime). */
  refreshAt: number;
}

const sessions = new Map<string, Entry>();

/** The cache key of a session: a SHA-256 of its inputs (so no credential is held as a key). */
export function sessionKey(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Returns the cached session for `key`, or assumes one with `assume` and caches it.
 * @param key - from {@link sessionKey}.
 * @param assume - makes the session (the role chain); its errors propagate and nothing is cached.
 * @param now - the clock, in ms (tests).
 */
export async function cachedSession(
  key: string,
  assume: () => Promise<SessionCredentials>,
  now: () => number = Date.now,
): Promise<SessionCredentials> {
  const hit = sessions.get(key);
  if (hit && now() < hit.refreshAt) return hit.credentials;
  sessions.delete(key);
  const start = now();
  const credentials = await assume();
  const lifetime = credentials.expiration ? credentials.expiration.getTime() - start : DEFAULT_LIFETIME_MS;
  if (lifetime > 0) {
    if (sessions.size >= MAX_ENTRIES) sessions.delete(sessions.keys().next().value as string);
    sessions.set(key, { credentials, refreshAt: start + lifetime * 0.8 });
  }
  return credentials;
}

/** Empties the cache (tests). */
export function clearSessions(): void {
  sessions.clear();
}
