/**
 * The webhook provider's (and `rewrite[].transform`'s) view of capstan's one Go template engine
 * (`operator/templates/gotemplate/`): ESO renders `url`, `headers`, `body` and `result.jsonPath`
 * with Go's `text/template` and its template functions, so capstan does too:
 *
 * ```
 * {{ .remoteRef.key }}                          a field chain into the data
 * {{ index .auth "api-key" }}                   a key with characters a field name cannot hold
 * {{ print .auth.username ":" .auth.password | b64enc }}   functions, pipelines, parentheses
 * {{- if .remoteRef.version }}?v={{ .remoteRef.version }}{{ end -}}   blocks, trim markers
 * ```
 *
 * As ESO (`missingkey=error`), a missing key is an error naming the key, which is how a misspelt
 * credential key shows up instead of an unexplained 401. Errors never carry data values.
 */
import {
  bytesContext,
  compile,
  FUNCTION_NAMES,
  GoTemplateError,
  queryEscape,
  renderText,
  toBytes,
  type GoMap,
} from '../templates/gotemplate';

export { GoTemplateError };

/** Data a template renders against: top-level names to string maps (`remoteRef`, each webhook secret). */
export type TemplateData = Record<string, Record<string, string>>;

/** The names of the template functions, for messages and docs. */
export const GO_TEMPLATE_FUNCTIONS = FUNCTION_NAMES;

/** Go's `url.QueryEscape`: spaces become `+`, everything but `A-Za-z0-9-_.~` is percent-encoded. */
export function goQueryEscape(s: string): string {
  return queryEscape(toBytes(s));
}

/** A parsed template. */
export interface GoTemplate {
  /** The top-level names the template reads (`remoteRef`, `auth`, ...), for store validation. */
  readonly roots: ReadonlySet<string>;
  /**
   * Executes the template.
   * @throws GoTemplateError naming the construct and key (never a value) for a missing key or a failing function.
   */
  render(data: TemplateData): string;
}

/** ESO's webhook data: each top-level entry a `map[string]string` (index of a missing key is ""). */
function webhookData(data: TemplateData): GoMap {
  const top: GoMap = new Map();
  for (const [name, values] of Object.entries(data as Record<string, Record<string, string> | string>))
    top.set(toBytes(name), typeof values === 'string' ? toBytes(values) : bytesContext(values)); // rewrite's {value}
  return top;
}

/**
 * Parses a template once for many renders.
 * @param text - the template text (`""` renders `""`).
 * @throws GoTemplateError for a syntax error or an undefined function.
 */
export function compileGoTemplate(text: string): GoTemplate {
  const t = compile(text);
  return {
    roots: t.roots,
    render: (data) => renderText(text, webhookData(data)),
  };
}
