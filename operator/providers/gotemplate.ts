/**
 * The subset of Go's `text/template` that ESO's webhook provider templates use, so that existing
 * webhook stores work unchanged (`url`, `headers`, `body`, `result.jsonPath`):
 *
 * ```
 * {{ .remoteRef.key }}                          a field chain into the data
 * {{ index .auth "api-key" }}                   a key with characters a field name cannot hold
 * {{ print .auth.username ":" .auth.password | b64enc }}   functions, pipelines, parentheses
 * {{- .remoteRef.version -}}  {{/* comment *\/}}            trim markers and comments
 * ```
 *
 * Functions: `print` (concatenation, as `fmt.Sprint` of strings), `index`, `urlquery`, `b64enc`,
 * `b64dec`, `quote`, `squote`, `upper`, `lower`, `trim`, `replace OLD NEW S`. Not supported (a parse
 * error naming the construct): variables (`$x`), `if`/`range`/`with`/`define` blocks, numbers, other
 * functions. Unlike Go's default, a missing key is an error: ESO would send an empty string, which is
 * how a misspelt credential key turns into an unexplained 401.
 *
 * Errors name the template construct and key names, never data values.
 */

/** Data a template renders against: top-level names to string maps (`remoteRef`, each webhook secret). */
export type TemplateData = Record<string, Record<string, string>>;

/** A template could not be parsed or executed; the message names the construct, never a value. */
export class GoTemplateError extends Error {
  override name = 'GoTemplateError';
}

type Value = string | Record<string, string> | TemplateData;

type Operand =
  | { kind: 'field'; path: string[] }
  | { kind: 'string'; value: string }
  | { kind: 'pipe'; pipeline: Command[] };

interface Command {
  fn?: string;
  args: Operand[];
}

type Node = { kind: 'text'; text: string } | { kind: 'action'; pipeline: Command[]; source: string };

const KEYWORDS = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
  'nil',
  'true',
  'false',
]);

/** The supported functions; each gets its evaluated arguments (strings) and returns a string. */
const FUNCS: Record<string, (args: Value[]) => string> = {
  print: (a) => a.map(str).join(''),
  urlquery: (a) => goQueryEscape(a.map(str).join('')),
  b64enc: (a) => Buffer.from(one(a, 'b64enc')).toString('base64'),
  b64dec: (a) => {
    const s = one(a, 'b64dec');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
      throw new GoTemplateError('b64dec: the argument is not valid base64');
    return Buffer.from(s, 'base64').toString('utf8');
  },
  quote: (a) => a.map((v) => JSON.stringify(str(v))).join(' '),
  squote: (a) => a.map((v) => `'${str(v)}'`).join(' '),
  upper: (a) => one(a, 'upper').toUpperCase(),
  lower: (a) => one(a, 'lower').toLowerCase(),
  trim: (a) => one(a, 'trim').trim(),
  replace: (a) => {
    if (a.length !== 3) throw new GoTemplateError('replace takes 3 arguments: old, new, string');
    return str(a[2]).split(str(a[0])).join(str(a[1]));
  },
  index: (a) => {
    if (a.length < 2) throw new GoTemplateError('index takes a map and at least one key');
    let cur: Value = a[0];
    for (const k of a.slice(1)) cur = lookup(cur, str(k), `index ... "${str(k)}"`);
    return str(cur);
  },
};

/** The names of the supported functions, for messages and docs. */
export const GO_TEMPLATE_FUNCTIONS = Object.keys(FUNCS).sort();

function str(v: Value): string {
  if (typeof v !== 'string') throw new GoTemplateError('a map cannot be printed; select a key');
  return v;
}

function one(a: Value[], fn: string): string {
  if (a.length !== 1) throw new GoTemplateError(`${fn} takes exactly one argument`);
  return str(a[0]);
}

function lookup(v: Value, key: string, where: string): Value {
  if (typeof v === 'string') throw new GoTemplateError(`${where}: cannot select "${key}" of a string`);
  const next = (v as Record<string, Value>)[key];
  if (next === undefined || !Object.prototype.hasOwnProperty.call(v, key)) {
    throw new GoTemplateError(`${where}: key "${key}" not found`);
  }
  return next;
}

/** Go's `url.QueryEscape`: spaces become `+`, everything but `A-Za-z0-9-_.~` is percent-encoded. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Splits an action's text into tokens. */
function tokenize(src: string): string[] {
  const tokens: string[] = [];
  const re =
    /\s+|"(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.|[A-Za-z_][A-Za-z0-9_]*|\$[A-Za-z0-9_]*|\S/gy;
  for (let m = re.exec(src); m; m = re.exec(src)) if (m[0].trim()) tokens.push(m[0]);
  return tokens;
}

/** Recursive-descent parser over one action's tokens. */
class ActionParser {
  private pos = 0;
  constructor(
    private readonly tokens: string[],
    private readonly source: string,
  ) {}

  parse(): Command[] {
    const p = this.pipeline();
    if (this.pos < this.tokens.length) this.fail(`unexpected "${this.tokens[this.pos]}"`);
    return p;
  }

  private fail(msg: string): never {
    throw new GoTemplateError(`{{${this.source}}}: ${msg}`);
  }

  private pipeline(): Command[] {
    const cmds: Command[] = [this.command()];
    while (this.tokens[this.pos] === '|') {
      this.pos++;
      cmds.push(this.command());
    }
    cmds.slice(1).forEach((c) => c.fn === undefined && this.fail('only a function can follow "|"'));
    return cmds;
  }

  private command(): Command {
    const t = this.tokens[this.pos];
    if (t === undefined) this.fail('empty command');
    if (/^[A-Za-z_]/.test(t)) {
      if (KEYWORDS.has(t)) this.fail(`"${t}" is not supported (capstan supports a subset of Go templates)`);
      if (!(t in FUNCS))
        this.fail(`function "${t}" is not supported; supported: ${GO_TEMPLATE_FUNCTIONS.join(', ')}`);
      this.pos++;
      const args: Operand[] = [];
      while (
        this.pos < this.tokens.length &&
        this.tokens[this.pos] !== '|' &&
        this.tokens[this.pos] !== ')'
      ) {
        args.push(this.operand());
      }
      return { fn: t, args };
    }
    const op = this.operand();
    if (this.pos < this.tokens.length && this.tokens[this.pos] !== '|' && this.tokens[this.pos] !== ')') {
      this.fail(`"${this.tokens[this.pos]}" follows a value; only a function takes arguments`);
    }
    return { args: [op] };
  }

  private operand(): Operand {
    const t = this.tokens[this.pos++];
    if (t === '(') {
      const pipeline = this.pipeline();
      if (this.tokens[this.pos++] !== ')') this.fail('missing ")"');
      return { kind: 'pipe', pipeline };
    }
    if (t === '.') return { kind: 'field', path: [] };
    if (t.startsWith('.')) return { kind: 'field', path: t.slice(1).split('.') };
    if (t.startsWith('"')) {
      try {
        return { kind: 'string', value: JSON.parse(t) as string };
      } catch {
        this.fail(`invalid string ${t}`);
      }
    }
    if (t.startsWith('`')) return { kind: 'string', value: t.slice(1, -1) };
    if (t.startsWith('$')) this.fail('variables are not supported');
    if (/^[A-Za-z_]/.test(t)) this.fail(`"${t}" can only be used as a function at the start of a command`);
    return this.fail(`"${t}" is not supported`);
  }
}

/** Splits a template into text and actions, applying `{{-` / `-}}` trimming and dropping comments. */
function parseNodes(text: string): Node[] {
  const nodes: Node[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= text.length) {
    const open = text.indexOf('{{', i);
    let chunk = text.slice(i, open < 0 ? text.length : open);
    if (trimNext) chunk = chunk.replace(/^\s+/, '');
    if (open < 0) {
      if (chunk) nodes.push({ kind: 'text', text: chunk });
      break;
    }
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new GoTemplateError('unclosed action: "{{" without "}}"');
    let inner = text.slice(open + 2, close);
    if (/^-\s/.test(inner)) {
      chunk = chunk.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = /\s-$/.test(inner);
    if (trimNext) inner = inner.slice(0, -1);
    if (chunk) nodes.push({ kind: 'text', text: chunk });
    const body = inner.trim();
    if (!(body.startsWith('/*') && body.endsWith('*/'))) {
      nodes.push({
        kind: 'action',
        pipeline: new ActionParser(tokenize(inner), inner).parse(),
        source: inner.trim(),
      });
    }
    i = close + 2;
  }
  return nodes;
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

function collectRoots(cmds: Command[], roots: Set<string>): void {
  for (const c of cmds) {
    for (const a of c.args) {
      if (a.kind === 'field' && a.path.length) roots.add(a.path[0]);
      if (a.kind === 'pipe') collectRoots(a.pipeline, roots);
    }
  }
}

function evalOperand(op: Operand, data: TemplateData, source: string): Value {
  if (op.kind === 'string') return op.value;
  if (op.kind === 'pipe') return evalPipeline(op.pipeline, data, source);
  let cur: Value = data;
  op.path.forEach((seg, i) => {
    cur = lookup(cur, seg, `{{${source}}}: .${op.path.slice(0, i + 1).join('.')}`);
  });
  return cur;
}

function evalPipeline(cmds: Command[], data: TemplateData, source: string): Value {
  let piped: Value | undefined;
  for (const c of cmds) {
    const args = c.args.map((a) => evalOperand(a, data, source));
    if (piped !== undefined) args.push(piped);
    if (c.fn === undefined) piped = args[0];
    else {
      try {
        piped = FUNCS[c.fn](args);
      } catch (err) {
        const msg = err instanceof GoTemplateError ? err.message : 'failed';
        throw new GoTemplateError(`{{${source}}}: ${c.fn}: ${msg}`);
      }
    }
  }
  return piped ?? '';
}

/**
 * Parses a template once for many renders.
 * @param text - the template text (`""` renders `""`).
 * @throws GoTemplateError for syntax outside the supported subset.
 */
export function compileGoTemplate(text: string): GoTemplate {
  const nodes = parseNodes(text);
  const roots = new Set<string>();
  for (const n of nodes) if (n.kind === 'action') collectRoots(n.pipeline, roots);
  return {
    roots,
    render(data: TemplateData): string {
      let out = '';
      for (const n of nodes)
        out += n.kind === 'text' ? n.text : str(evalPipeline(n.pipeline, data, n.source));
      return out;
    },
  };
}
