/**
 * The error of the Go template engine: parse and execution problems. Messages name the line, the
 * action's source text (template text, not data), key names and types; never a data value.
 */
export class GoTemplateError extends Error {
  override name = 'GoTemplateError';
}
