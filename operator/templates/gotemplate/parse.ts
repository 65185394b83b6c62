/**
 * Lexer and parser of Go's `text/template` syntax (https://pkg.go.dev/text/template), as ESO's
 * template engine v2 parses `spec.target.template` with the default `{{`/`}}` delimiters.
 *
 * The source is a *byte string* (one char per byte, see `values.ts`), so positions, `len` and
 * slicing are in bytes as in Go. Supported: text, comments `{{/* *\/}}`, trim markers `{{- ` and
 * ` -}}`, pipelines with `|`, parentheses, fields `.a.b`, variables `$`, `$x`, `$x.a`, declarations
 * `$x := ...`, `$x = ...`, `$i, $v := range ...`, literals (strings, raw strings, runes, numbers,
 * `true`, `false`, `nil`), `if`/`else if`/`else`, `with`/`else with`/`else`, `range`/`else`,
 * `break`, `continue`, `define`, `template`, `block`.
 */
import { GoTemplateError } from './errors';

/** A value-producing argument of a command. */
export type Arg =
  | { t: 'dot' }
  | { t: 'field'; path: string[] }
  | { t: 'var'; name: string; path: string[] }
  | { t: 'ident'; name: string }
  | { t: 'string'; value: string }
  | { t: 'int'; value: bigint }
  | { t: 'float'; value: number }
  | { t: 'bool'; value: boolean }
  | { t: 'nil' }
  | { t: 'pipe'; pipe: Pipe; path: string[] };

/** One command of a pipeline: a function name and its arguments, or a single value. */
export interface Cmd {
  args: Arg[];
}

/** A pipeline with optional variable declarations (`$x := ...`) or assignment (`$x = ...`). */
export interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
  /** The action's source text, for error messages (template text, never data). */
  src: string;
  /** 1-based line of the action. */
  line: number;
}

/** `if`, `with` or `range` with its body and else branch. */
export interface BlockNode {
  t: 'if' | 'with' | 'range';
  pipe: Pipe;
  list: Node[];
  elseList?: Node[];
}

/** `{{template "name" pipeline}}`. */
export interface TemplateNode {
  t: 'template';
  name: string;
  pipe?: Pipe;
  line: number;
}

/** A node of a parsed template. */
export type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe }
  | BlockNode
  | { t: 'break' | 'continue'; line: number }
  | TemplateNode;

/** A parsed template: its main list and the templates it defines. */
export interface Tree {
  root: Node[];
  defines: Map<string, Node[]>;
}

type Tok =
  | { k: 'text'; v: string }
  | { k: 'open'; line: number; src: string }
  | { k: 'close' }
  | { k: 'word'; v: string }
  | { k: 'str'; v: string }
  | { k: 'num'; v: string }
  | { k: 'char'; v: string }
  | { k: 'field'; v: string; attached: boolean }
  | { k: 'var'; v: string }
  | { k: 'punct'; v: string };

const SPACE = /[ \t\r\n]/;

/** Splits the template into text and action tokens, applying trim markers and dropping comments. */
export function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let trimNext = false;
  // line numbers counted incrementally: one pass over the source, not one per action
  let counted = 0;
  let lines = 1;
  const lineAt = (p: number): number => {
    for (; counted < p; counted++) if (src.charCodeAt(counted) === 10) lines++;
    return lines;
  };
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    if (open < 0) {
      if (text) out.push({ k: 'text', v: text });
      break;
    }
    let p = open + 2;
    if (src[p] === '-' && SPACE.test(src[p + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      p += 2;
    }
    if (text) out.push({ k: 'text', v: text });
    const line = lineAt(open);
    while (SPACE.test(src[p] ?? '')) p++;
    if (src.startsWith('/*', p)) {
      const end = src.indexOf('*/', p + 2);
      if (end < 0) throw new GoTemplateError(`line ${line}: unclosed comment`);
      let q = end + 2;
      let trim = false;
      if (src.startsWith(' -}}', q) || /^[ \t\r\n]-}}/.test(src.slice(q, q + 4))) {
        trim = true;
        q += 4;
      } else if (src.startsWith('}}', q)) q += 2;
      else throw new GoTemplateError(`line ${line}: comment ends before closing delimiter`);
      trimNext = trim;
      i = q;
      continue;
    }
    const startTok = out.length;
    out.push({ k: 'open', line, src: '' });
    const r = lexAction(src, p, line, out);
    (out[startTok] as { src: string }).src = src.slice(p, r.srcEnd).trim();
    trimNext = r.trim;
    i = r.next;
  }
  return out;
}

/** Tokens of one action from `p` to its `}}`; returns where the text continues and whether to trim it. */
function lexAction(
  src: string,
  start: number,
  line: number,
  out: Tok[],
): { next: number; trim: boolean; srcEnd: number } {
  let p = start;
  const fail = (msg: string): never => {
    throw new GoTemplateError(`line ${line}: ${msg}`);
  };
  for (;;) {
    if (p >= src.length) fail('unclosed action');
    const c = src[p];
    if (SPACE.test(c)) {
      let q = p;
      while (SPACE.test(src[q] ?? '')) q++;
      if (src.startsWith('-}}', q)) {
        out.push({ k: 'close' });
        return { next: q + 3, trim: true, srcEnd: q };
      }
      p = q;
      continue;
    }
    if (src.startsWith('}}', p)) {
      out.push({ k: 'close' });
      return { next: p + 2, trim: false, srcEnd: p };
    }
    const rest = src.slice(p);
    let m: RegExpExecArray | null;
    if (c === '"') {
      m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest);
      if (!m) fail('unterminated quoted string');
      out.push({ k: 'str', v: unquote(m![0], line) });
    } else if (c === '`') {
      const end = src.indexOf('`', p + 1);
      if (end < 0) fail('unterminated raw quoted string');
      m = [src.slice(p, end + 1)] as unknown as RegExpExecArray;
      out.push({ k: 'str', v: src.slice(p + 1, end).replace(/\r/g, '') });
    } else if (c === "'") {
      m = /^'(?:[^'\\\n]|\\.)+'/.exec(rest);
      if (!m) fail('unterminated character constant');
      out.push({ k: 'char', v: unquote(`"${m![0].slice(1, -1)}"`, line) });
    } else if ((m = /^:=/.exec(rest))) out.push({ k: 'punct', v: ':=' });
    else if ((m = /^[|(),=]/.exec(rest))) out.push({ k: 'punct', v: m[0] });
    else if ((m = /^\$[A-Za-z0-9_]*/.exec(rest))) out.push({ k: 'var', v: m[0] });
    else if (
      (m =
        /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/.exec(
          rest,
        ))
    )
      out.push({ k: 'num', v: m[0] });
    else if ((m = /^\.[A-Za-z_][A-Za-z0-9_]*/.exec(rest)))
      // `.b` right after `.a`, `$x` or `)` continues a chain (`.a.b`, `$x.b`, `(pipe).b`); after a space it is a new operand
      out.push({ k: 'field', v: m[0].slice(1), attached: p > 0 && /[A-Za-z0-9_)$]/.test(src[p - 1]) });
    else if (c === '.') {
      m = ['.'] as unknown as RegExpExecArray;
      out.push({ k: 'punct', v: '.' });
    } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) out.push({ k: 'word', v: m[0] });
    else return fail(`unexpected "${c}" in command`);
    p += m![0].length;
  }
}

/** A Go interpreted string literal as a byte string (`\x`, octal, `\u` as UTF-8 bytes). */
function unquote(lit: string, line: number): string {
  const body = lit.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      '\\': '\\',
      '"': '"',
      "'": "'",
    };
    if (e in simple) out += simple[e];
    else if (e === 'x') {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const cp = parseInt(body.slice(i + 1, i + 1 + n), 16);
      out += Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
      i += n;
    } else if (/[0-7]/.test(e)) {
      out += String.fromCharCode(parseInt(body.slice(i, i + 3), 8) & 0xff);
      i += 2;
    } else throw new GoTemplateError(`line ${line}: invalid escape \\${e} in string`);
  }
  return out;
}

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
]);

/** Recursive-descent parser over the token stream. */
class Parser {
  private pos = 0;
  private rangeDepth = 0;
  /** Variables in scope, as Go's parser checks them (`undefined variable "$x"`). */
  private vars: string[] = ['$'];
  readonly defines = new Map<string, Node[]>();
  constructor(private readonly toks: Tok[]) {}

  private peek(o = 0): Tok | undefined {
    return this.toks[this.pos + o];
  }

  private fail(line: number, msg: string): never {
    throw new GoTemplateError(`line ${line}: ${msg}`);
  }

  /** Parses nodes until one of `stops` (`end`, `else`) opens an action; returns the nodes and the stop word. */
  list(stops: string[]): { nodes: Node[]; stop?: string; line: number } {
    const nodes: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (!t) {
        if (stops.length) return this.fail(0, `unexpected EOF, expected {{end}}`);
        return { nodes, line: 0 };
      }
      if (t.k === 'text') {
        nodes.push({ t: 'text', text: t.v });
        this.pos++;
        continue;
      }
      if (t.k !== 'open') return this.fail(0, 'internal: expected an action');
      const line = t.line;
      const src = t.src;
      const w = this.peek(1);
      if (w?.k === 'word' && (w.v === 'end' || w.v === 'else')) {
        if (!stops.includes(w.v)) this.fail(line, `unexpected {{${w.v}}}`);
        this.pos += 2;
        if (w.v === 'end') this.expectClose(line, 'end');
        return { nodes, stop: w.v, line };
      }
      this.pos++;
      nodes.push(...this.action(line, src));
    }
  }

  private expectClose(line: number, what: string): void {
    if (this.peek()?.k !== 'close') this.fail(line, `unexpected token in ${what}`);
    this.pos++;
  }

  private action(line: number, src: string): Node[] {
    const w = this.peek();
    if (w?.k === 'word' && KEYWORDS.has(w.v)) {
      this.pos++;
      switch (w.v) {
        case 'if':
        case 'with':
          return [this.branch(w.v, line, src)];
        case 'range':
          return [this.range(line, src)];
        case 'break':
        case 'continue':
          if (!this.rangeDepth) this.fail(line, `{{${w.v}}} outside {{range}}`);
          this.expectClose(line, w.v);
          return [{ t: w.v, line }];
        case 'define':
          this.define(line);
          return [];
        case 'template':
        case 'block':
          return this.template(w.v, line, src);
      }
      this.fail(line, `unexpected {{${w.v}}}`);
    }
    const pipe = this.pipeline(line, src, 'command');
    return [{ t: 'action', pipe }];
  }

  private branch(kind: 'if' | 'with', line: number, src: string): Node {
    const mark = this.vars.length;
    try {
      return this.branchIn(kind, line, src);
    } finally {
      this.vars.length = mark;
    }
  }

  private branchIn(kind: 'if' | 'with', line: number, src: string): Node {
    const pipe = this.pipeline(line, src, kind);
    const body = this.list(['end', 'else']);
    const node: Node = { t: kind, pipe, list: body.nodes };
    if (body.stop === 'else') node.elseList = this.elseBranch(kind, body.line);
    return node;
  }

  /** After `{{else`: `{{else}}...{{end}}` or `{{else if ...}}` / `{{else with ...}}` chains. */
  private elseBranch(kind: 'if' | 'with', line: number): Node[] {
    const w = this.peek();
    if (w?.k === 'word' && w.v === kind) {
      this.pos++;
      return [this.branch(kind, line, `${kind} ...`)];
    }
    this.expectClose(line, 'else');
    const rest = this.list(['end']);
    return rest.nodes;
  }

  private range(line: number, src: string): Node {
    const mark = this.vars.length;
    try {
      return this.rangeIn(line, src);
    } finally {
      this.vars.length = mark;
    }
  }

  private rangeIn(line: number, src: string): Node {
    const pipe = this.pipeline(line, src, 'range');
    this.rangeDepth++;
    const body = this.list(['end', 'else']);
    this.rangeDepth--;
    const node: Node = { t: 'range', pipe, list: body.nodes };
    if (body.stop === 'else') {
      this.expectClose(body.line, 'else');
      node.elseList = this.list(['end']).nodes;
    }
    return node;
  }

  private nameArg(line: number, what: string): string {
    const t = this.peek();
    if (t?.k !== 'str') this.fail(line, `${what}: expected a quoted template name`);
    this.pos++;
    return t.v;
  }

  private define(line: number): void {
    const name = this.nameArg(line, 'define');
    this.expectClose(line, 'define');
    const saved = this.vars;
    this.vars = ['$'];
    const body = this.list(['end']);
    this.vars = saved;
    this.defines.set(name, body.nodes);
  }

  private template(kind: string, line: number, src: string): Node[] {
    const name = this.nameArg(line, kind);
    let pipe: Pipe | undefined;
    if (this.peek()?.k !== 'close') pipe = this.pipeline(line, src, kind);
    else this.pos++;
    if (kind === 'block') this.defines.set(name, this.list(['end']).nodes);
    return [{ t: 'template', name, pipe, line }];
  }

  /** A pipeline up to `}}` (consumed), with its declarations. */
  private pipeline(line: number, src: string, ctx: string): Pipe {
    const decl: string[] = [];
    let assign = false;
    const save = this.pos;
    const v1 = this.peek();
    if (v1?.k === 'var') {
      const n = this.peek(1);
      if (n?.k === 'punct' && (n.v === ':=' || n.v === '=')) {
        decl.push(v1.v);
        assign = n.v === '=';
        this.pos += 2;
      } else if (n?.k === 'punct' && n.v === ',' && ctx === 'range') {
        const v2 = this.peek(2);
        const op = this.peek(3);
        if (v2?.k === 'var' && op?.k === 'punct' && (op.v === ':=' || op.v === '=')) {
          decl.push(v1.v, v2.v);
          assign = op.v === '=';
          this.pos += 4;
        } else this.fail(line, 'range can only initialize variables as $i, $v := ...');
      } else this.pos = save;
    }
    const cmds = this.commands(line, ctx, ['close']);
    this.pos++;
    for (const v of decl) {
      if (assign && !this.vars.includes(v)) this.fail(line, `undefined variable "${v}"`);
      if (!assign) this.vars.push(v);
    }
    return { decl, assign, cmds, src, line };
  }

  /** Commands separated by `|` until a token of kind `end` (close, or `)`), not consumed. */
  private commands(line: number, ctx: string, end: string[]): Cmd[] {
    const cmds: Cmd[] = [];
    for (;;) {
      const args: Arg[] = [];
      for (;;) {
        const t = this.peek();
        if (!t) this.fail(line, `unclosed action`);
        if (t.k === 'close' || (t.k === 'punct' && (t.v === '|' || t.v === ')'))) break;
        args.push(this.operand(line));
      }
      if (!args.length) this.fail(line, `missing value for ${ctx}`);
      // as Go's checkPipeline: a later stage must be something that can take the piped value
      if (cmds.length && ['string', 'int', 'float', 'bool', 'nil', 'dot'].includes(args[0].t))
        this.fail(line, `non executable command in pipeline stage ${cmds.length + 1}`);
      cmds.push({ args });
      const t = this.peek()!;
      if (t.k === 'punct' && t.v === '|') {
        this.pos++;
        continue;
      }
      const isEnd = end.includes(t.k === 'close' ? 'close' : (t as { v: string }).v);
      if (!isEnd) this.fail(line, `unexpected token in ${ctx}`);
      return cmds;
    }
  }

  private operand(line: number): Arg {
    const t = this.toks[this.pos++];
    switch (t.k) {
      case 'str':
        return { t: 'string', value: t.v };
      case 'char':
        return { t: 'int', value: BigInt(Buffer.from(t.v, 'latin1').toString('utf8').codePointAt(0) ?? 0) };
      case 'num':
        return number(t.v, line);
      case 'field':
        return { t: 'field', path: [t.v, ...this.chain()] };
      case 'var':
        if (!this.vars.includes(t.v)) this.fail(line, `undefined variable "${t.v}"`);
        return { t: 'var', name: t.v, path: this.chain() };
      case 'word':
        if (t.v === 'true' || t.v === 'false') return { t: 'bool', value: t.v === 'true' };
        if (t.v === 'nil') return { t: 'nil' };
        if (KEYWORDS.has(t.v)) return this.fail(line, `unexpected {{${t.v}}} in operand`);
        return { t: 'ident', name: t.v };
      case 'punct':
        if (t.v === '.') return { t: 'dot' };
        if (t.v === '(') {
          const cmds = this.commands(line, 'parenthesized pipeline', [')']);
          this.pos++;
          return { t: 'pipe', pipe: { decl: [], assign: false, cmds, src: '', line }, path: this.chain() };
        }
        return this.fail(line, `unexpected "${t.v}" in operand`);
      default:
        return this.fail(line, 'unexpected token in operand');
    }
  }

  /** Field names directly following an operand (`$x.a.b`, `(pipe).a`). */
  private chain(): string[] {
    const path: string[] = [];
    for (let t = this.peek(); t?.k === 'field' && t.attached; t = this.peek()) {
      path.push(t.v);
      this.pos++;
    }
    return path;
  }
}

function number(text: string, line: number): Arg {
  const s = text.replace(/_/g, '');
  if (/^[+-]?0[xX]/.test(s)) return { t: 'int', value: BigInt(s.replace(/^([+-]?)0[xX]/, '$10x')) };
  if (/^[+-]?0[bB]/.test(s)) return { t: 'int', value: BigInt(s.replace(/^([+-]?)0[bB]/, '$10b')) };
  if (/^[+-]?0[oO]/.test(s)) return { t: 'int', value: BigInt(s.replace(/^([+-]?)0[oO]/, '$10o')) };
  if (/^[+-]?\d+$/.test(s)) {
    // a leading 0 is octal in Go
    if (/^[+-]?0\d/.test(s)) {
      const neg = s.startsWith('-');
      return { t: 'int', value: (neg ? -1n : 1n) * BigInt('0o' + s.replace(/^[+-]?0/, '')) };
    }
    return { t: 'int', value: BigInt(s) };
  }
  const f = Number(s);
  if (Number.isNaN(f)) throw new GoTemplateError(`line ${line}: bad number syntax: "${text}"`);
  return { t: 'float', value: f };
}

/**
 * Parses a template.
 * @param src - the template as a byte string.
 * @returns the main list and the `define`d templates.
 * @throws GoTemplateError naming the line and the construct (never data).
 */
export function parse(src: string): Tree {
  const p = new Parser(lex(src));
  const { nodes } = p.list([]);
  return { root: nodes, defines: p.defines };
}
