import { formatUsd } from '../gateway/money.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { PendingAlert } from '../store/wallets.ts';
import { clock, type ServiceDeps } from './deps.ts';

/** A claim older than this belongs to a sweeper that died mid-send: another one sends the alert. */
export const ALERT_CLAIM_LEASE_MS = 5 * 60_000;

export type AlertDeps = ServiceDeps<'wallets' | 'members'> & {
  mailer: Mailer;
  /** The console's public URL (…/console): the e-mail links its wallet page. */
  consoleUrl?: string;
};

export interface AlertsOutcome {
  /** Alerts sent (or cleared, for an account without members) by this run. */
  alerts: number;
  /** E-mails sent: one per member of each alert's account. */
  mails: number;
  /** Alerts another sweeper was sending: left to it. */
  claimedElsewhere: number;
}

/** The low-balance e-mail to one member. */
export const alertMail = (alert: PendingAlert, to: string, consoleUrl: string | undefined) => ({
  to,
  subject: `Tollgate: the balance of ${alert.accountId} is below $${formatUsd(alert.alertBelow)}`,
  text: [
    `The balance of account ${alert.accountId} fell below its low-balance alert of $${formatUsd(alert.alertBelow)}:`,
    `it was $${formatUsd(alert.balance)} at ${alert.raisedAt}. Requests are refused once it cannot cover them.`,
    '',
    consoleUrl
      ? `Top up on the wallet page: ${consoleUrl.replace(/\/+$/, '')}/wallet`
      : 'Top up on the wallet page of the console.',
    '',
    'You get this once per fall below the threshold; it is re-armed when a top-up brings the balance back to it.',
  ].join('\n'),
});

/**
 * Sends the low-balance alerts that settles recorded (never on a request's path): each alert is
 * claimed by one sweeper (a conditional write), mailed to every member of its account, then marked
 * sent, so two sweepers running at once send it once. An account without members: marked sent,
 * nothing mailed. A sweeper that dies mid-send leaves its claim to expire after
 * {@link ALERT_CLAIM_LEASE_MS}; the next run sends it then (members may get it twice).
 *
 * @example await sendPendingAlerts({ ...stores, mailer, consoleUrl }) // { alerts: 1, mails: 2, claimedElsewhere: 0 }
 */
export const sendPendingAlerts = async (deps: AlertDeps): Promise<AlertsOutcome> => {
  const outcome: AlertsOutcome = { alerts: 0, mails: 0, claimedElsewhere: 0 };
  const seen = new Set<string>();
  for (;;) {
    const page = (await deps.wallets.pendingAlerts()).filter((alert) => !seen.has(`${alert.accountId} ${alert.sk}`));
    if (page.length === 0) return outcome;
    for (const alert of page) {
      seen.add(`${alert.accountId} ${alert.sk}`);
      const now = clock(deps);
      const claim = await deps.wallets.claimAlert(
        alert,
        new Date(now.getTime() - ALERT_CLAIM_LEASE_MS).toISOString(),
        now,
      );
      if (claim === undefined) {
        outcome.claimedElsewhere += 1;
        continue;
      }
      const members = await deps.members.listByAccount(alert.accountId);
      for (const member of members) await deps.mailer.send(alertMail(alert, member.email, deps.consoleUrl));
      if (await deps.wallets.finishAlert(alert, claim, members.length, clock(deps))) {
        outcome.alerts += 1;
        outcome.mails += members.length;
      }
    }
  }
};
