import type { SNSClient } from '@aws-sdk/client-sns';
import type { ConfigurationReport, ReportSink } from './reporter.ts';

/**
 * Publishes each report to the stack's SNS topic: a subject to triage by, a JSON body to act on.
 * The SNS client is loaded at the first report, not at module init: most instances never send one,
 * and every AWS SDK client imported at init lengthens the cold start.
 */
export class SnsReportSink implements ReportSink {
  private readonly topicArn: string;
  private client: SNSClient | undefined;

  constructor(topicArn: string, client?: SNSClient) {
    this.topicArn = topicArn;
    this.client = client;
  }

  async publish(report: ConfigurationReport): Promise<void> {
    const { PublishCommand, SNSClient } = await import('@aws-sdk/client-sns');
    this.client ??= new SNSClient({});
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        // SNS subjects are at most 100 printable ASCII characters.
        Subject: `Tollgate configuration error: ${report.kind} (${report.model})`
          .replace(/[^\x20-\x7e]/g, '?')
          .slice(0, 100),
        Message: JSON.stringify(report, null, 2),
      }),
    );
  }
}
