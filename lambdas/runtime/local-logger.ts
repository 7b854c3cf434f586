import { appendFileSync } from 'node:fs';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions, LogAttributes } from '@aws-lambda-powertools/logger/types';

export interface LocalLoggerSinks {
  /** One line a log, for the terminal of `npm start`. */
  print: (line: string) => void;
  /** The structured log: every entry appended whole, as a JSON line, stack traces included. */
  file: string;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** `connect ECONNREFUSED 127.0.0.1:9` out of an error, whether still an Error or already made plain. */
const errorMessage = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null ? text((error as { message?: unknown }).message) : text(error);

/**
 * One line for a log entry: its time, what happened, why, and which request.
 *
 * @example
 * summarize({ level: 'ERROR', message: 'request failed', timestamp: '…T14:02:11.052Z', status: 502,
 *   model: 'gpt-5-mini', requestId: 'gen-1', error: new Error('connect ECONNREFUSED 127.0.0.1:9') })
 * // '14:02:11 upstream error: connect ECONNREFUSED 127.0.0.1:9 (model gpt-5-mini, request gen-1)'
 */
export const summarize = (attributes: LogAttributes): string => {
  const time = new Date(text(attributes['timestamp']) ?? Date.now()).toTimeString().slice(0, 8);
  const status = attributes['status'];
  // 502 is the gateway's own answer to an upstream it could not reach or read.
  const what = status === 502 ? 'upstream error' : (text(attributes['message']) ?? 'log');
  const why = errorMessage(attributes['error']) ?? text(attributes['reason']) ?? text(attributes['hint']);
  const where = [
    text(attributes['model']) && `model ${attributes['model']}`,
    typeof status === 'number' && status !== 502 && `status ${status}`,
    text(attributes['requestId']) && `request ${attributes['requestId']}`,
  ].filter(Boolean);
  return `${time} ${what}${why ? `: ${why}` : ''}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
};

/**
 * The Powertools logger of `npm start`: the terminal gets one line an entry (no JSON, no stack
 * trace), the structured log file gets the entry whole. Lambda keeps the plain Logger, whose JSON
 * lines CloudWatch reads.
 *
 * @example new LocalLogger({ serviceName: 'tollgate-proxy', logLevel: 'WARN' }, { print: console.log, file: '.tollgate/gateway.log' })
 */
export class LocalLogger extends Logger {
  readonly #sinks: LocalLoggerSinks;

  constructor(options: ConstructorOptions, sinks: LocalLoggerSinks) {
    super(options);
    this.#sinks = sinks;
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    // createChild passes the parent's options merged with the child's.
    return new LocalLogger(options ?? {}, this.#sinks);
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const attributes = log.getAttributes();
    const line = JSON.stringify(attributes, this.getJsonReplacer());
    try {
      appendFileSync(this.#sinks.file, `${line}\n`);
    } catch {
      // A log that cannot be written must not fail the request; the terminal still gets the line.
    }
    this.#sinks.print(summarize(attributes));
  }
}
