/** The error of ExternalSecret templating, whichever the engine. */
/** A template failed to compile or render; terminal until the ExternalSecret or its sources change. */
export class TemplateError extends Error {
  override name = 'TemplateError';
  /**
   * @param templateKey - which template: `data.password`, `templateFrom[0].configMap.tpl/config.yaml`, `metadata.labels.app`.
   * @param problem - the engine's or capstan's problem, free of values.
   */
  constructor(
    readonly templateKey: string,
    readonly problem: string,
  ) {
    super(`template ${templateKey}: ${problem}`);
  }
}
