/**
 * Manifest text to Kubernetes objects: multi-document YAML, JSON, and `List`s flattened, with the same
 * reading of scalars as kubectl and Argo CD so that capstan applies exactly what they would.
 */
import {
  Composer,
  LineCounter,
  Parser,
  parseAllDocuments,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
  type YAMLError,
} from 'yaml';
import type { KubeObject } from '../kube/object';
import { CEILINGS, ceilingMessage } from '../common/limits';
import { CeilingError, RenderError } from './errors';

export { RenderError } from './errors';

/** go-yaml v2's plain float (`yamlStyleFloat`, underscores allowed as it strips them first); exponents are a separate tag. */
const GO_YAML_FLOAT = /^[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)$/;

/**
 * YAML options matching `sigs.k8s.io/yaml` (go-yaml v2), which kubectl, Helm and Argo CD all use.
 *
 * go-yaml v2 reads YAML 1.1 scalars: `0644` is octal (420, the usual `defaultMode`), `yes`/`no`/`on`/`off`
 * are booleans, `<<` merges. A YAML 1.2 parser would read `defaultMode: 0644` as 644 and apply a different
 * object than Argo CD. Two 1.1 types are dropped because go-yaml v2 keeps them as strings when decoding into
 * untyped maps: timestamps (`2024-01-01` stays a string, not a Date) and sexagesimal numbers (`1:20` stays
 * a string, not 80). A repeated key keeps its last value, as go-yaml v2's non-strict decoding does.
 */
export const KUBE_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  uniqueKeys: false,
  customTags: (tags) =>
    tags
      .filter((tag) => {
        if (typeof tag !== 'object') return true;
        return tag.tag !== 'tag:yaml.org,2002:timestamp' && (tag as { format?: string }).format !== 'TIME';
      })
      .map((tag) =>
        // The 1.1 float pattern of `yaml` matches a lone "." (read as NaN); go-yaml v2's needs a digit, so
        // `path: .`, the most common app path of all, stays the string ".".
        typeof tag === 'object' && tag.tag === 'tag:yaml.org,2002:float' && tag.test?.test('.')
          ? { ...tag, test: GO_YAML_FLOAT }
          : tag,
      ),
};

/**
 * Parses one manifest file (or one tool's output) into Kubernetes objects.
 *
 * - YAML: every document of a multi-document stream; empty documents (only comments, `---` runs, `null`)
 *   are skipped, as Argo CD's `SplitYAML` does.
 * - JSON (`file` ending in `.json`): one object, or an array of objects (an extension over Argo CD, which
 *   accepts one object per JSON file).
 * - Any object with an `items` array (`v1/List`, `ConfigMapList`, ...) is flattened into its items, and a
 *   list with `items: null` yields nothing, as Argo CD does with `IsList()` / `isNullList`.
 *
 * @param text - the file content.
 * @param file - the name used in error messages (a repository-relative path, or `helm template`).
 * @param opts - `maxObjects`: the most objects accepted (`--max-objects`); parsing stops at the first
 *   document beyond it, so a stream of a million tiny documents is not turned into a million objects first.
 * @returns the objects in document order.
 * @throws RenderError naming the file and line for a syntax error, or the file and document number
 *   (1-based) for a document that is not an object or lacks `apiVersion` or `kind`; or naming the file and
 *   `--max-objects` when it holds more objects than `maxObjects`.
 */
export function parseManifests(text: string, file: string, opts: { maxObjects?: number } = {}): KubeObject[] {
  const docs = file.toLowerCase().endsWith('.json') ? parseJson(text, file) : parseYaml(text, file);
  const max = opts.maxObjects ?? Infinity;
  const objects: KubeObject[] = [];
  let i = 0;
  for (const { value, source } of docs) {
    i++;
    if (value === null || value === undefined) continue;
    const where = `${file}: document ${i}${source ? ` (${source})` : ''}`;
    objects.push(...flattenList(toKubeObject(value, where), where));
    if (objects.length > max) {
      throw new CeilingError(ceilingMessage(`${file} rendered`, CEILINGS.objects, max));
    }
  }
  return objects;
}

/** One document: its value and, for helm output, the template it came from. */
interface ParsedDocument {
  value: unknown;
  /** The `# Source: chart/templates/x.yaml` comment helm writes above each document. */
  source?: string;
}

/**
 * Each YAML document as a plain JS value, composed and converted one at a time as the caller asks for it:
 * only one document's syntax tree is alive at once (a whole stream's trees take about 40 times the text
 * size), and a caller that stops at a ceiling does not pay for the rest. Syntax errors name the line.
 */
function* parseYaml(text: string, file: string): Generator<ParsedDocument> {
  const lines = new LineCounter();
  const composer = new Composer(KUBE_YAML_OPTIONS);
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text))) {
    const error = doc.errors[0];
    if (error) {
      throw new RenderError(`${file}: invalid YAML: ${yamlErrorMessage(error, lines)}`, { cause: error });
    }
    // The comment belongs to the document, or (with no blank line after it) to its first node.
    const comment = doc.commentBefore ?? (doc.contents as { commentBefore?: string } | null)?.commentBefore;
    const source = /^ ?Source: (.+)$/m.exec(comment ?? '')?.[1]?.trim();
    yield { value: doc.toJS() as unknown, source };
  }
}

/** A YAML error's first line with its position, as `yaml`'s pretty errors put it: `... at line L, column C`. */
function yamlErrorMessage(error: YAMLError, lines: LineCounter): string {
  const message = firstLine(error.message);
  if (error.pos[0] === -1) return message;
  const { line, col } = lines.linePos(error.pos[0]);
  return `${message} at line ${line}, column ${col}`;
}

/** A JSON file: one object, or an array whose elements are objects. */
function parseJson(text: string, file: string): ParsedDocument[] {
  if (text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = firstLine(err instanceof Error ? err.message : String(err));
    const line = jsonErrorLine(text, message);
    const at = line === undefined ? '' : ` at line ${line}`;
    throw new RenderError(`${file}: invalid JSON${at}: ${message}`, { cause: err });
  }
  return (Array.isArray(value) ? value : [value]).map((v: unknown) => ({ value: v }));
}

/** Checks the minimum shape of a Kubernetes object; `where` names file and document. */
function toKubeObject(value: unknown, where: string): KubeObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RenderError(
      `${where} is not a Kubernetes object (found ${Array.isArray(value) ? 'a list' : typeof value})`,
    );
  }
  const obj = value as Record<string, unknown>;
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof obj[field] !== 'string' || obj[field] === '') {
      throw new RenderError(`${where} has no ${field}`);
    }
  }
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
    throw new RenderError(`${where}: metadata is not an object`);
  }
  return obj as KubeObject;
}

/** A `*List` (any object with an `items` array) becomes its items; other objects stay as they are. */
function flattenList(obj: KubeObject, where: string): KubeObject[] {
  const items = obj.items;
  if (items === null && obj.spec === undefined && obj.status === undefined) return [];
  if (!Array.isArray(items)) return [obj];
  return items
    .filter((item) => item !== null && item !== undefined)
    .map((item: unknown, j) => toKubeObject(item, `${where} item ${j + 1}`));
}

/**
 * The line of a JSON syntax error: from the message where Node gives a position, else from the YAML
 * parser (JSON is YAML), which always reports one.
 */
function jsonErrorLine(text: string, message: string): number | undefined {
  const position = /position (\d+)/.exec(message);
  if (position) return lineOf(text, Number(position[1]));
  const docs = parseAllDocuments(text);
  const errors = Array.isArray(docs) ? docs.flatMap((doc) => doc.errors) : [];
  return errors[0]?.linePos?.[0].line;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
