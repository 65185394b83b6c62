/**
 * The value and key transformations ESO applies around provider calls (`runtime/esutils`):
 * `decodingStrategy` on fetched values and `conversionStrategy` on the keys of `find`/`extract` results.
 * The controller calls `decodeValue`/`decodeMap` after a fetch; providers call `convertKeys` in
 * `getAllSecrets`, as ESO's providers do.
 */
import type { ConversionStrategy, DecodingStrategy } from './types';
import { ProviderError } from './types';

// Go's base64.StdEncoding / URLEncoding: padded, `\r` and `\n` ignored, no other characters.
const STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_SAFE = /^(?:[A-Za-z0-9\-_]{4})*(?:[A-Za-z0-9\-_]{2}==|[A-Za-z0-9\-_]{3}=)?$/;

/** Strict base64 decoding as Go's `DecodeString`; undefined when `text` is not valid in that alphabet. */
function strictBase64(text: string, url: boolean): Buffer | undefined {
  const clean = text.replace(/[\r\n]/g, '');
  if (!(url ? URL_SAFE : STD).test(clean)) return undefined;
  return Buffer.from(clean, url ? 'base64url' : 'base64');
}

/**
 * Decodes one fetched value by ESO's `decodingStrategy`: `None` (or unset) keeps it, `Base64` and
 * `Base64URL` decode strictly (padding required) and fail otherwise, `Auto` tries Base64, then Base64URL,
 * then keeps the value as it is.
 * @param value - the fetched bytes.
 * @param strategy - the strategy; unset means `None`.
 * @param key - the key's name, for the error message.
 * @throws ProviderError (non-retryable) when the value is not valid for the strategy (the value is not quoted).
 */
export function decodeValue(value: Buffer, strategy: DecodingStrategy | undefined, key: string): Buffer {
  switch (strategy ?? 'None') {
    case 'None':
      return value;
    case 'Base64':
    case 'Base64URL': {
      const out = strictBase64(value.toString('latin1'), strategy === 'Base64URL');
      if (!out)
        throw new ProviderError(
          `decoding key "${key}" with decodingStrategy ${strategy} failed: not valid ${strategy}`,
        );
      return out;
    }
    case 'Auto':
      return (
        strictBase64(value.toString('latin1'), false) ?? strictBase64(value.toString('latin1'), true) ?? value
      );
    default:
      throw new ProviderError(`decodingStrategy "${String(strategy)}" of key "${key}" is not supported`);
  }
}

/** `decodeValue` for every entry of a map (ESO `DecodeMap`). */
export function decodeMap(
  values: Record<string, Buffer>,
  strategy: DecodingStrategy | undefined,
): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(values)) out[k] = decodeValue(v, strategy, k);
  return out;
}

/** True for the characters ESO keeps in keys: letters, numbers, `-`, `.`, `_`. */
function validKeyChar(ch: string): boolean {
  return /^[\p{L}\p{N}._-]$/u.test(ch);
}

/**
 * Makes keys valid Secret keys, as ESO's `ConvertKeys`: with `Default` (and unset, the CRD default)
 * every other character becomes `_`; with `Unicode` it becomes `_U<4+ hex digits>_`.
 * @throws ProviderError (non-retryable) when two keys convert to the same key.
 */
export function convertKeys(
  values: Record<string, Buffer>,
  strategy: ConversionStrategy | undefined,
): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(values)) {
    const key = convertKey(k, strategy);
    if (key in out) throw new ProviderError(`key collision after conversion: "${key}"`);
    out[key] = v;
  }
  return out;
}

/** One key, see `convertKeys`. */
export function convertKey(key: string, strategy: ConversionStrategy | undefined): string {
  let out = '';
  for (const ch of key) {
    if (validKeyChar(ch)) out += ch;
    else if (strategy === 'Unicode') out += `_U${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}_`;
    else out += '_';
  }
  return out;
}
