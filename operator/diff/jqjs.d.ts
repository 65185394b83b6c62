/**
 * Types for @michaelhomer/jqjs (a pure-JavaScript jq; the package ships none): only what capstan
 * uses. `compile` parses a jq program (throwing on a syntax error) and returns a function that runs
 * it on one input and yields each output. Errors are thrown as strings or Errors.
 */
declare module '@michaelhomer/jqjs' {
  /** A compiled jq program: yields the program's outputs for one input. */
  export type JqProgram = (input: unknown) => Iterable<unknown>;
  /** Compiles a jq program; throws (a string or an Error) on a syntax error. */
  export function compile(program: string): JqProgram;
}
