import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Mail, Mailer } from './mailer.ts';

/** E-mail through Amazon SES (v2) from the deployment's `senderEmail`. */
export class SesMailer implements Mailer {
  private readonly from: string;
  private readonly client: SESv2Client;

  constructor(from: string, client = new SESv2Client({})) {
    this.from = from;
    this.client = client;
  }

  async send(mail: Mail): Promise<void> {
    await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: this.from,
        Destination: { ToAddresses: [mail.to] },
        Content: {
          Simple: {
            Subject: { Data: mail.subject, Charset: 'UTF-8' },
            Body: { Text: { Data: mail.text, Charset: 'UTF-8' } },
          },
        },
      }),
    );
  }
}
