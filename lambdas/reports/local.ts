import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ConfigurationReport, ReportSink } from './reporter.ts';

/** Local mode: prints each report and appends it as one JSON line to `<data dir>/reports.log`. */
export class LocalReportSink implements ReportSink {
  private readonly file: string;
  private readonly print: (line: string) => void;

  constructor(file: string, print: (line: string) => void = (line) => console.error(line)) {
    this.file = file;
    this.print = print;
  }

  async publish(report: ConfigurationReport): Promise<void> {
    this.print(`[report] ${report.kind} for model '${report.model}': ${report.message} — ${report.hint}`);
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(report)}\n`);
  }
}
