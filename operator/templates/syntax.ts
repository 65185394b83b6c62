/**
 * Which engine renders an ExternalSecret's templates, and the check that a template is written in
 * that engine's language.
 *
 * `spec.target.template.engineVersion`: `v2` (ESO's only current value, and its default when the
 * field is absent) is Go's `text/template` with ESO's functions, so ESO manifests work unchanged;
 * `handlebars` (a capstan extension of the enum) is capstan's Handlebars engine. `v1` (ESO's removed
 * engine) is refused.
 *
 * A template in the other language must never render silently into a wrong Secret: Handlebars'
 * `{{#if}}`, `{{/if}}`, `{{[key]}}`, `{{{x}}}`, `~}}` cannot be Go; Go's `{{ .key }}`, `{{ $x }}`,
 * `{{ index ...}}`, `{{ end }}`, `{{- `, ` -}}` and pipes cannot be Handlebars. Either is a
 * `TemplateError` that says which `engineVersion` to set. Templates without `engineVersion` rendered
 * with Handlebars before capstan followed ESO's default; a Handlebars-looking one now gets a condition
 * asking for `engineVersion: handlebars` instead of a Go error.
 */
import { TemplateError } from './errors';

/** The engines. */
export type EngineName = 'go' | 'handlebars';

/** The engine of `engineVersion`, and whether the user chose it explicitly. */
export interface EngineChoice {
  engine: EngineName;
  explicit: boolean;
}

/**
 * @param engineVersion - `spec.target.template.engineVersion`.
 * @throws TemplateError (`engineVersion`) for `v1` or an unknown value.
 */
export function engineOf(engineVersion: string | undefined): EngineChoice {
  if (engineVersion === undefined || engineVersion === '') return { engine: 'go', explicit: false };
  if (engineVersion === 'v2') return { engine: 'go', explicit: true };
  if (engineVersion === 'handlebars') return { engine: 'handlebars', explicit: true };
  if (engineVersion === 'v1')
    throw new TemplateError('engineVersion', 'v1 is not supported (ESO removed it): use v2 (Go templates)');
  throw new TemplateError('engineVersion', `"${engineVersion}" is not supported: use v2 (Go) or handlebars`);
}

/** Syntax only Handlebars has: block open/close, inverse, partials, comments, `[key]`, triple-stash, `~`. */
const HANDLEBARS_ONLY = /\{\{~?\s*(?:[#^>!]|\/(?!\*)|\[)|~\}\}|\{\{\{/;

/** Syntax only Go has (Handlebars' `{{.}}` and `{{../x}}` are not; bounded repeats keep it linear): `.key`, `$var`, `index`/`printf`, `end`, Go's block openers with an operand, trim markers, pipes. */
const GO_ONLY =
  /\{\{-?\s*(?:\.[A-Za-z_]|\$|index\s|printf?\s|end\s*-?\}\}|(?:if|with|range)\s+[.$(])|\s-\}\}|\{\{-\s|\{\{[^#}][^}]{0,100}?\s\|\s*[A-Za-z]/;

/**
 * Refuses a template written for the other engine.
 * @param text - the template source.
 * @param choice - the engine chosen by `engineVersion`.
 * @param templateKey - for the error.
 * @throws TemplateError with the `engineVersion` to set.
 */
export function checkSyntax(text: string, choice: EngineChoice, templateKey: string): void {
  if (choice.engine === 'go' && HANDLEBARS_ONLY.test(text)) {
    throw new TemplateError(
      templateKey,
      choice.explicit
        ? 'Handlebars syntax ({{#if}}, {{/if}}, {{[key]}}) in a Go template (engineVersion v2): write {{ if .x }}...{{ end }} and {{ .key }}, or set engineVersion: handlebars'
        : 'this looks like a Handlebars template; templates without engineVersion are Go templates, as in ESO: set engineVersion: handlebars to keep Handlebars, or write Go ({{ .key }})',
    );
  }
  if (choice.engine === 'handlebars' && GO_ONLY.test(text)) {
    throw new TemplateError(
      templateKey,
      'Go template syntax ({{ .key }}, {{ index . "k" }}, {{ end }}, pipes) with engineVersion: handlebars: remove engineVersion (Go, as ESO) or write Handlebars ({{ key }}, {{ [my-key] }})',
    );
  }
}

/**
 * A hint for a Go error on a template without `engineVersion` that reads like Handlebars: Go takes
 * `{{ password }}` for a call of an undefined function `password`.
 */
export function goErrorHint(problem: string, choice: EngineChoice): string {
  const m = /function "([^"]+)" not defined/.exec(problem);
  if (!m || choice.explicit) return problem;
  return `${problem} (a Handlebars variable? templates without engineVersion are Go templates, as in ESO: write {{ .${m[1]} }}, or set engineVersion: handlebars)`;
}
