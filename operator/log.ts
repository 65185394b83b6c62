/**
 * The process-wide logger (winston). JSON lines in a cluster (`--log-format=json`), readable lines in a
 * terminal. Log lines carry names and key names, never secret values.
 *
 * One event is one line in both formats (a multi-line message, e.g. a helm error, has its line breaks
 * escaped), so that log collectors never split an event. Fields such as `app`, `revision` and
 * `durationMs` (milliseconds) are separate keys, not part of the message. Colours (ANSI escape codes) are
 * used only in the text format and only when the output is a terminal and `NO_COLOR` is not set
 * (https://no-color.org), so that a redirected or collected log holds plain text.
 */
import { Writable } from 'node:stream';
import winston from 'winston';

/** Log line format: `json` for machines, `text` for people. */
export type LogFormat = 'json' | 'text';

/** capstan's logger type (winston's). */
export type Logger = winston.Logger;

/** Where and how a logger writes; both default from the process (stderr, colour when it is a TTY). */
export interface LoggerOutput {
  /** The stream lines go to (default: the process's stderr, as before). */
  stream?: Writable;
  /** ANSI colours in the text format (default {@link wantsColour} of stderr). */
  colour?: boolean;
}

/**
 * True when a text log should be coloured: the stream is a terminal and `NO_COLOR` is unset or empty.
 * @param stream - the output stream (its `isTTY`, as `process.stderr.isTTY`).
 * @param env - the environment (default the process's).
 */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

/** One line of the text format: `<timestamp> <level> <message> {fields}`, line breaks escaped. */
export function textLine(info: Record<string, unknown>): string {
  const { level, message, timestamp, ...meta } = info;
  const rest = Object.keys(meta).length ? ' ' + JSON.stringify(meta) : '';
  const text = String(message).replace(/\r?\n/g, '\\n');
  return `${String(timestamp)} ${String(level)} ${text}${rest}`;
}

/**
 * Creates a logger.
 * @param level - winston level: error, warn, info, debug.
 * @param format - `json` (default in a cluster) or `text`.
 * @param output - stream and colour; by default stderr, coloured only when it is a terminal.
 * @returns a winston logger writing one line per event.
 */
export function createLogger(level = 'info', format: LogFormat = 'text', output: LoggerOutput = {}): Logger {
  const colour = output.colour ?? wantsColour(process.stderr);
  const text = winston.format.printf((info) => textLine(info));
  const lineFormat =
    format === 'json'
      ? winston.format.json()
      : colour
        ? winston.format.combine(winston.format.colorize(), text)
        : text;
  const transport = output.stream
    ? new winston.transports.Stream({ stream: output.stream })
    : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] });
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), lineFormat),
    transports: [transport],
  });
}

/** A logger that discards everything, for unit tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console()] });
}
