import type { ConfigurationErrorKind } from '../errors.ts';

/** A configuration error an operator must act on (DESIGN §5, 500 rows). */
export interface ConfigurationReport {
  kind: ConfigurationErrorKind;
  model: string;
  provider?: string;
  /** What went wrong, in one sentence. */
  message: string;
  /** What to do about it. */
  hint: string;
  requestId: string;
  functionName?: string;
  time: string;
}

/** Where reports go: SNS on AWS, console + reports.log locally. */
export interface ReportSink {
  publish(report: ConfigurationReport): Promise<void>;
}

export interface Reporter {
  /** Fire and forget: never delays or fails the client's response. */
  report(report: ConfigurationReport): void;
  /** Resolves when every report sent so far has been published (or failed). */
  flush(): Promise<void>;
}

export const REPORT_DEDUPE_MS = 5 * 60_000;

/**
 * Deduplicates per kind + model for `windowMs`, so a misconfigured route under load pages once.
 *
 * @example
 * const reporter = createReporter(new SnsReportSink(topicArn));
 * reporter.report({ kind: 'missing_credential', model, message, hint, requestId, time });
 */
export const createReporter = (
  sink: ReportSink,
  { windowMs = REPORT_DEDUPE_MS, onPublishError = (_error: unknown) => {} } = {},
): Reporter => {
  const lastSent = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  return {
    report(report) {
      const dedupeKey = `${report.kind}\u0000${report.model}`;
      const now = Date.now();
      const last = lastSent.get(dedupeKey);
      if (last !== undefined && now - last < windowMs) return;
      lastSent.set(dedupeKey, now);
      const publishing = sink
        .publish(report)
        .catch(onPublishError)
        .finally(() => inFlight.delete(publishing));
      inFlight.add(publishing);
    },
    async flush() {
      await Promise.all([...inFlight]);
    },
  };
};
