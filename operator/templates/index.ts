/**
 * Templating of ExternalSecret targets, as ESO: `spec.target.template` renders with Go templates
 * (`engineVersion: v2`, ESO's default when absent; `gotemplate/`) or, when asked with
 * `engineVersion: handlebars`, with capstan's Handlebars engine (`handlebars.ts`), and ESO's scopes
 * and merge semantics (`engine.ts`):
 *
 * ```yaml
 * spec:
 *   target:
 *     template:
 *       type: kubernetes.io/tls
 *       mergePolicy: Replace                 # or Merge: output over the fetched keys
 *       metadata:
 *         labels: { app: "{{ .app | lower }}" }
 *       data:
 *         tls.crt: '{{ .bundle | filterPEM "CERTIFICATE" }}'
 *         tls.key: '{{ .bundle | filterPEM "PRIVATE KEY" }}'
 *         url: 'postgres://{{ .username }}:{{ .password }}@{{ .host | default "db" }}:5432'
 *       templateFrom:
 *         - configMap: { name: tpl, items: [{ key: app.yaml, templateAs: Values }] }
 *         - literal: '{{ index . "api-key" }}: {{ index . "api-key-b64" | b64dec }}'   # a YAML map
 *           target: Annotations
 * ```
 *
 * The context is the fetched secret, strict (a missing key is an error). A template in the other
 * engine's syntax is an error saying which `engineVersion` to set (`syntax.ts`). Rendering is pure:
 * the caller fetches the ConfigMaps/Secrets named by `templateSourceNames` and passes them in.
 */
export {
  renderTemplate,
  templateSourceNames,
  TemplateError,
  type ExternalSecretTemplate,
  type TemplateFrom,
  type TemplateRef,
  type TemplateRefItem,
  type TemplateSources,
  type RenderedSecret,
} from './engine';
export { renderString, describeTemplateError } from './handlebars';
export { engineOf, checkSyntax, type EngineName } from './syntax';
export { HELPERS, HELPER_NAMES, HelperError } from './helpers';
