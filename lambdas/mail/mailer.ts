/** One plain-text e-mail. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Where the console's e-mails go: SES on AWS (mail/ses.ts), the local outbox otherwise (mail/outbox.ts). */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}
