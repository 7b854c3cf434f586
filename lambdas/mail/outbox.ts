import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Mail, Mailer } from './mailer.ts';

/**
 * Local mode's e-mail: printed in the `npm start` terminal and appended as one JSON line (with the
 * time) to `<data dir>/outbox.log`, so sign-in links can be followed without any mail server.
 */
export class OutboxMailer implements Mailer {
  private readonly file: string;
  private readonly print: (line: string) => void;

  constructor(file: string, print: (line: string) => void = (line) => console.log(line)) {
    this.file = file;
    this.print = print;
  }

  async send(mail: Mail): Promise<void> {
    this.print(`[mail] to ${mail.to}: ${mail.subject}\n${mail.text.replace(/^/gm, '    ')}`);
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify({ at: new Date().toISOString(), ...mail })}\n`);
  }
}
