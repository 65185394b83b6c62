/**
 * The Password generator, as ESO's `generators/v1/password` (which uses sethvargo/go-password):
 *
 * ```yaml
 * apiVersion: generators.external-secrets.io/v1alpha1
 * kind: Password
 * metadata: { name: my-password }
 * spec: { length: 42, digits: 5, symbols: 5, symbolCharacters: "-_$@", noUpper: false, allowRepeat: true }
 * ```
 *
 * Rules (ESO's): `length` (default 24) characters, of which `digits` digits and `symbols` symbols (each
 * default a quarter of the length, rounded down), the rest letters (lower case, plus upper case unless
 * `noUpper`); every character is inserted at a random position; without `allowRepeat` no character
 * occurs twice (so a class cannot ask for more characters than it has). Then `encoding` (raw, base64,
 * base64url, base32, hex) and `prefix`/`suffix`. One password per `secretKeys` entry (default `password`).
 * Randomness is node's CSPRNG (`crypto.randomInt`), never `Math.random`.
 */
import { randomInt } from 'node:crypto';
import type { PasswordSpec } from '../../generated/password';
import { ProviderError } from '../providers/types';

/** ESO's defaults. */
export const DEFAULT_LENGTH = 24;
/** ESO's default symbol set (sethvargo/go-password's `Symbols`). */
export const DEFAULT_SYMBOLS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';

/** A uniform random integer in [0, max): `crypto.randomInt` by default; tests pass a deterministic one. */
export type RandomInt = (max: number) => number;

/**
 * A generator's settings are wrong: a non-retryable ProviderError, so the ExternalSecret or PushSecret
 * reports it and waits for a change. Never carries a value.
 */
export class GeneratorSpecError extends ProviderError {
  override name = 'GeneratorSpecError';
  /** @param message - names the field. */
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** The settings after ESO's defaults, before any randomness. */
export interface PasswordPlan {
  length: number;
  digits: number;
  symbols: number;
  symbolCharacters: string;
  noUpper: boolean;
  allowRepeat: boolean;
  encoding: NonNullable<PasswordSpec['encoding']>;
  keys: string[];
  prefix: string;
  suffix: string;
}

/** ESO's defaults (`extractPasswordConfig`). */
function withDefaults(s: PasswordSpec): PasswordPlan {
  const length = s.length && s.length > 0 ? s.length : DEFAULT_LENGTH;
  return {
    length,
    digits: s.digits ?? Math.floor(length * 0.25),
    symbols: s.symbols ?? Math.floor(length * 0.25),
    symbolCharacters: s.symbolCharacters ?? DEFAULT_SYMBOLS,
    noUpper: s.noUpper ?? false,
    allowRepeat: s.allowRepeat ?? false,
    encoding: s.encoding ?? 'raw',
    keys: s.secretKeys?.length ? s.secretKeys : ['password'],
    prefix: s.prefix ?? '',
    suffix: s.suffix ?? '',
  };
}

/** go-password's checks for distinct characters (only without allowRepeat). */
function checkDistinct(plan: PasswordPlan, letters: number): void {
  if (plan.allowRepeat) return;
  const letterSet = plan.noUpper ? LOWER.length : LOWER.length + UPPER.length;
  if (letters > letterSet)
    throw new GeneratorSpecError('not enough distinct letters for spec.length without spec.allowRepeat');
  if (plan.digits > DIGITS.length)
    throw new GeneratorSpecError('spec.digits exceeds the 10 distinct digits without spec.allowRepeat');
  if (plan.symbols > new Set(plan.symbolCharacters).size)
    throw new GeneratorSpecError(
      'spec.symbols exceeds the distinct spec.symbolCharacters without spec.allowRepeat',
    );
}

/**
 * Applies ESO's defaults and checks what go-password checks.
 * @throws GeneratorSpecError naming the field (too many digits/symbols, not enough distinct characters,
 *   empty or repeated secretKeys).
 */
export function passwordPlan(spec: PasswordSpec | undefined): PasswordPlan {
  const plan = withDefaults(spec ?? {});
  if (new Set(plan.keys).size !== plan.keys.length || plan.keys.some((k) => !k)) {
    throw new GeneratorSpecError('spec.secretKeys must be non-empty and unique');
  }
  const letters = plan.length - plan.digits - plan.symbols;
  if (letters < 0) throw new GeneratorSpecError('spec.digits + spec.symbols exceed spec.length');
  if (plan.symbols > 0 && !plan.symbolCharacters) {
    throw new GeneratorSpecError('spec.symbolCharacters is empty but spec.symbols asks for symbols');
  }
  checkDistinct(plan, letters);
  return plan;
}

/** Inserts `count` characters of `set` at random positions of `out` (go-password's loop). */
function insertRandom(
  out: string[],
  set: string,
  count: number,
  allowRepeat: boolean,
  rand: RandomInt,
): void {
  const chars = [...set];
  // go-password loops until it finds an unused character; bound it so that overlapping classes
  // (symbolCharacters that are letters) end in an error instead of a hung worker.
  let budget = 1000 * (count + 1) + 100 * chars.length;
  for (let i = 0; i < count;) {
    if (budget-- <= 0)
      throw new GeneratorSpecError('not enough distinct characters without spec.allowRepeat');
    const ch = chars[rand(chars.length)];
    if (!allowRepeat && out.includes(ch)) continue;
    out.splice(rand(out.length + 1), 0, ch);
    i++;
  }
}

/** One raw password per the plan. */
export function rawPassword(plan: PasswordPlan, rand: RandomInt = randomInt): string {
  const out: string[] = [];
  const letters = plan.noUpper ? LOWER : LOWER + UPPER;
  insertRandom(out, letters, plan.length - plan.digits - plan.symbols, plan.allowRepeat, rand);
  insertRandom(out, DIGITS, plan.digits, plan.allowRepeat, rand);
  insertRandom(out, plan.symbolCharacters, plan.symbols, plan.allowRepeat, rand);
  return out.join('');
}

/** RFC 4648 base32 with padding (Go's `base32.StdEncoding`). */
export function base32(buf: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  while (out.length % 8) out += '=';
  return out;
}

/** ESO's `encodePassword` (base64 and base64url padded, as Go's Std/URLEncoding). */
export function encodePassword(raw: string, encoding: PasswordPlan['encoding']): string {
  const b = Buffer.from(raw, 'utf8');
  switch (encoding) {
    case 'base64':
      return b.toString('base64');
    case 'base64url':
      return b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    case 'base32':
      return base32(b);
    case 'hex':
      return b.toString('hex');
    default:
      return raw;
  }
}

/**
 * Generates the output of a Password generator: key -> password.
 * @throws GeneratorSpecError for impossible settings.
 */
export function generatePasswords(
  spec: PasswordSpec | undefined,
  rand: RandomInt = randomInt,
): Record<string, Buffer> {
  const plan = passwordPlan(spec);
  const out: Record<string, Buffer> = {};
  for (const key of plan.keys) {
    out[key] = Buffer.from(
      plan.prefix + encodePassword(rawPassword(plan, rand), plan.encoding) + plan.suffix,
    );
  }
  return out;
}
