/**
 * Templating of ExternalSecret targets. capstan renders `spec.target.template` with Handlebars
 * (ESO uses Go templates: this is a documented difference) and ESO's merge semantics:
 *
 * ```yaml
 * spec:
 *   target:
 *     template:
 *       type: kubernetes.io/basic-auth
 *       mergePolicy: Replace                 # or Merge: output over the fetched keys
 *       metadata:
 *         labels: { app: "{{ lower app }}" }
 *       data:
 *         username: "{{ username }}"
 *         url: "postgres://{{ username }}:{{ password }}@{{ default \"db\" host }}:5432"
 *         config.json: "{{ toJson (fromYaml config) }}"
 *       templateFrom:
 *         - configMap: { name: tpl, items: [{ key: app.yaml, templateAs: Values }] }
 *         - literal: "{{ [api-key] }}: {{ b64dec [api-key-b64] }}"   # a YAML map of keys and values
 *           target: Annotations
 * ```
 *
 * The context is the fetched secret (`{{ password }}`, `{{ [tls.crt] }}`), strict (a missing variable is
 * an error), without HTML escaping; helpers are listed in `helpers.ts`. Rendering is pure: the caller
 * fetches the ConfigMaps/Secrets named by `templateSourceNames` and passes them in.
 */
export {
  renderTemplate,
  renderString,
  templateSourceNames,
  describeTemplateError,
  TemplateError,
  type ExternalSecretTemplate,
  type TemplateFrom,
  type TemplateRef,
  type TemplateRefItem,
  type TemplateSources,
  type RenderedSecret,
} from './engine';
export { HELPERS, HELPER_NAMES, HelperError } from './helpers';
