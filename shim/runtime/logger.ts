// Logging. The default writes one line per event to the console (errors with
// their stack); any `{debug, info, warn, error}` object can replace it.
import type { Logger, LogLevel } from '../api/types.js';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** Console logger that drops events below `minLevel`. */
export function consoleLogger(minLevel: LogLevel = 'info'): Logger {
  const threshold = LOG_LEVELS.indexOf(minLevel);
  const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const write = level === 'error' ? console.error : level === 'warn' ? console.warn : level === 'debug' ? console.debug : console.info;
    write(formatLine(level, message, fields));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** `deferred <level> <message> key=value ...`, then the stack of an `error` field. */
export function formatLine(level: LogLevel, message: string, fields?: Record<string, unknown>): string {
  let line = `deferred ${level} ${message}`;
  let stack: string | undefined;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value instanceof Error) {
      stack = value.stack ?? `${value.name}: ${value.message}`;
      line += ` ${key}=${JSON.stringify(`${value.name}: ${value.message}`)}`;
    } else {
      line += ` ${key}=${typeof value === 'string' ? JSON.stringify(value) : safeStringify(value)}`;
    }
  }
  return stack === undefined ? line : `${line}\n${stack}`;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
