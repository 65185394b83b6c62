/**
 * `find.name.regexp` matching, shared by the providers. ESO compiles it with Go's `regexp` (RE2 syntax,
 * unanchored `MatchString`); capstan uses re2js, a JavaScript port of RE2 with the same syntax and
 * linear-time matching, so that a store user cannot stall the operator with a backtracking pattern.
 */
import { RE2JS } from 're2js';
import { ProviderError } from './types';

/**
 * Compiles an ESO `find.name.regexp`.
 * @param re - an RE2 expression, e.g. `^db-.*`.
 * @returns a predicate that is true when the expression matches anywhere in the name.
 * @throws ProviderError (non-retryable) for an invalid expression.
 */
export function compileFindRegexp(re: string): (name: string) => boolean {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(re);
  } catch {
    throw new ProviderError(`find.name.regexp "${re}" is not a valid RE2 regular expression`);
  }
  return (name) => compiled.matcher(name).find();
}
