/**
 * The process-wide logger (winston). JSON lines in a cluster (`--log-format=json`), readable lines in a
 * terminal. Log lines carry names and key names, never secret values.
 */
import winston from 'winston';

/** Log line format: `json` for machines, `text` for people. */
export type LogFormat = 'json' | 'text';

/** capstan's logger type (winston's). */
export type Logger = winston.Logger;

/**
 * Creates a logger.
 * @param level - winston level: error, warn, info, debug.
 * @param format - `json` (default in a cluster) or `text`.
 * @returns a winston logger writing to stderr.
 */
export function createLogger(level = 'info', format: LogFormat = 'text'): Logger {
  const text = winston.format.printf(({ level: lvl, message, timestamp, ...meta }) => {
    const rest = Object.keys(meta).length ? ' ' + JSON.stringify(meta) : '';
    return `${String(timestamp)} ${lvl} ${String(message)}${rest}`;
  });
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      format === 'json' ? winston.format.json() : winston.format.combine(winston.format.colorize(), text),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** A logger that discards everything, for unit tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console()] });
}
