/**
 * The console function's entry on AWS Lambda: the account holders' pages, server-rendered by
 * console/app.ts, over the same tables as the proxy. Clients are created at module init.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { tableNamesFromEnv } from '../lib/tables.ts';
import { createConsoleHandler } from './console/app.ts';
import type { Mailer } from './mail/mailer.ts';
import { SesMailer } from './mail/ses.ts';
import { createDocumentClient, dynamoOptionsFromEnv } from './store/client.ts';
import { createStores } from './store/index.ts';

const env = process.env;
const logger = new Logger({ serviceName: env['POWERTOOLS_SERVICE_NAME'] ?? 'tollgate-console' });
const stores = createStores(createDocumentClient(dynamoOptionsFromEnv(env)), tableNamesFromEnv(env));
const sender = env['TOLLGATE_SENDER_EMAIL'];

/** Without a sender address (context `senderEmail`), sign-in e-mails cannot go out: say so in the logs. */
const mailer: Mailer = sender
  ? new SesMailer(sender)
  : {
      send: async (mail) => {
        logger.error('sign-in e-mail not sent: deploy with -c senderEmail=… (an SES-verified address)', {
          to: mail.to,
        });
      },
    };

export const handler = createConsoleHandler({
  stores,
  mailer,
  logger,
  ...(env['TOLLGATE_CONSOLE_URL'] && { consoleUrl: env['TOLLGATE_CONSOLE_URL'] }),
  ...(env['TOLLGATE_GATEWAY_URL'] && { gatewayUrl: env['TOLLGATE_GATEWAY_URL'] }),
});
