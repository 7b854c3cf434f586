import { setTimeout as sleep } from 'node:timers/promises';
import { BillingError } from '../errors.ts';
import { InsufficientFundsError, type Settlement, UnknownAccountError, type WalletStore } from '../store/wallets.ts';
import type { KeyRecord, Route, Usage, UsageRow, Wallet } from '../vocabulary.ts';
import type { Completion } from './forward.ts';
import { costOf, FULL_PRICE_PPM, type HoldQuote, insufficientBalanceMessage, quoteHold } from './pricing.ts';
import type { OutputCap } from './spend-guard.ts';

/** A hold taken for one request. `committed` settles once DynamoDB has it (or refused it). */
export interface Hold {
  /** The pending row; `answeredBy` replaces its route fields when a fallback route answered. */
  row: UsageRow;
  answeredBy?: Route;
  quote: HoldQuote;
  committed: Promise<void>;
  /** How many characters of the request the estimates were made from. */
  bodyChars: number;
}

/** Characters per token for billing an answer whose upstream reported no usage (documented). */
export const ESTIMATE_CHARS_PER_TOKEN = 4;

/**
 * What a finished request is charged (DESIGN §4):
 * - usage the upstream reported is priced exactly;
 * - an upstream failure before any usage was reported costs nothing (the hold is released);
 * - an upstream that died mid-stream after reporting some usage (Anthropic's `message_start`) is
 *   billed that usage, its output raised to what was streamed (characters / 4), marked `estimated`;
 * - an answer that completed with no usage at all is billed by the documented estimate (request
 *   characters / 4 in, answer characters / 4 out) and marked `estimated`.
 */
export const settlementFor = (
  handle: Hold,
  result: Completion | { outcome: 'upstream_error' | 'rejected' },
): Settlement => {
  const { row, answeredBy } = handle;
  const billed: Partial<Settlement> =
    answeredBy && answeredBy.model !== row.model
      ? {
          fallbackFrom: row.model,
          model: answeredBy.model,
          provider: answeredBy.provider,
          upstreamModel: answeredBy.upstreamModel ?? answeredBy.model,
          prices: answeredBy.prices,
        }
      : {};
  const prices = billed.prices ?? row.prices;
  if (!('usage' in result)) return { ...billed, cost: 0, outcome: result.outcome };
  let usage: Usage | undefined = result.usage;
  let estimated = false;
  const outputEstimate = Math.ceil(result.outputChars / ESTIMATE_CHARS_PER_TOKEN);
  if (usage === undefined) {
    // An upstream that broke before reporting any usage is not billed: the hold goes back in full.
    if (result.outcome === 'upstream_error') return { ...billed, cost: 0, outcome: result.outcome };
    usage = {
      inputTokens: Math.ceil(handle.bodyChars / ESTIMATE_CHARS_PER_TOKEN),
      outputTokens: outputEstimate,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    };
    estimated = true;
  } else if (result.outcome === 'upstream_error' && outputEstimate > usage.outputTokens) {
    // The stream broke before its final usage: the output known so far is what was streamed.
    usage = { ...usage, outputTokens: outputEstimate };
    estimated = true;
  }
  const settlement: Settlement = {
    ...billed,
    cost: costOf(usage, prices, row.discountPpm),
    outcome: result.outcome,
    usage,
  };
  if (result.rawUsage !== undefined) settlement.rawUsage = result.rawUsage;
  if (estimated) settlement.estimated = true;
  return settlement;
};

interface Snapshot {
  wallet: Wallet;
  /** What this instance believes is spendable: the last read, less holds taken since. */
  spendable: number;
  fetchedAt: number;
}

export interface BillingOptions {
  wallets: Pick<WalletStore, 'get' | 'hold' | 'settle'>;
  /** A hold may overlap the upstream call when the snapshot covers this many such holds. */
  plentyFactor?: number;
  /** How long a wallet snapshot is trusted before it is read again (in the background). */
  snapshotTtlMs?: number;
  /** Waits between settle attempts when DynamoDB is failing; then the sweeper takes over (config.ts). */
  settleRetryDelaysMs: readonly number[];
  onSettleFailure?: (row: UsageRow, settlement: Settlement, error: unknown) => void;
}

/**
 * The wallet side of a request (DESIGN §4): a hold before the upstream call, a settle after the
 * final usage. Holds overlap the upstream call only when this instance's wallet snapshot shows
 * plenty of funds; otherwise the hold commits first. Either way the first byte waits for it.
 */
export class Billing {
  private readonly wallets: BillingOptions['wallets'];
  private readonly plentyFactor: number;
  private readonly snapshotTtlMs: number;
  private readonly settleRetryDelaysMs: readonly number[];
  private readonly onSettleFailure: NonNullable<BillingOptions['onSettleFailure']>;
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly refreshing = new Map<string, Promise<void>>();

  constructor(options: BillingOptions) {
    this.wallets = options.wallets;
    this.plentyFactor = options.plentyFactor ?? 50;
    this.snapshotTtlMs = options.snapshotTtlMs ?? 30_000;
    this.settleRetryDelaysMs = options.settleRetryDelaysMs;
    this.onSettleFailure = options.onSettleFailure ?? (() => {});
  }

  private refresh(accountId: string): Promise<void> {
    const running = this.refreshing.get(accountId);
    if (running) return running;
    const refreshing = this.wallets
      .get(accountId)
      .then((wallet) => {
        if (wallet) this.snapshots.set(accountId, { wallet, spendable: wallet.spendable, fetchedAt: Date.now() });
        else this.snapshots.delete(accountId);
      })
      .catch(() => undefined)
      .finally(() => this.refreshing.delete(accountId));
    this.refreshing.set(accountId, refreshing);
    return refreshing;
  }

  /** The instance's snapshot of a wallet; read once when unknown, refreshed in the background when stale. */
  private async snapshot(accountId: string): Promise<Snapshot | undefined> {
    const known = this.snapshots.get(accountId);
    if (!known) {
      await this.refresh(accountId);
      return this.snapshots.get(accountId);
    }
    if (Date.now() - known.fetchedAt > this.snapshotTtlMs) void this.refresh(accountId);
    return known;
  }

  /**
   * Takes the hold for a routed request. Resolves when the upstream may be called: at once when
   * funds are plenty (await `committed` before the first byte), after the commit otherwise.
   * Throws 402 when the wallet cannot cover the worst case.
   */
  async hold(input: {
    requestId: string;
    key: KeyRecord;
    route: Route;
    /** Fallback routes that may answer instead: the hold covers the dearest of them. */
    fallbacks?: readonly Route[];
    body: unknown;
    bodyText: string;
    /** The output cap the upstream body carries (gateway/spend-guard.ts): the hold is priced on it. */
    cap: OutputCap;
    at?: Date;
  }): Promise<Hold> {
    const { requestId, key, route, body, bodyText, cap } = input;
    const at = (input.at ?? new Date()).toISOString();
    const snapshot = await this.snapshot(key.accountId);
    const discountPpm = snapshot?.wallet.discountPpm ?? FULL_PRICE_PPM;
    const candidates = [route, ...(input.fallbacks ?? [])];
    const dearest = (pick: (r: Route) => number | undefined) => Math.max(...candidates.map((r) => pick(r) ?? 0));
    const quotePrices = {
      input: dearest((r) => r.prices.input),
      output: dearest((r) => r.prices.output),
      cacheWrite: dearest((r) => r.prices.cacheWrite),
    };
    const quote = quoteHold(bodyText, body, cap, quotePrices, discountPpm);
    if (!Number.isSafeInteger(quote.amount)) {
      // A max output no wallet could ever cover (billions of tokens): refuse it as such.
      throw new BillingError(
        insufficientBalanceMessage(
          quote,
          route.model,
          snapshot?.wallet.balance ?? 0,
          snapshot?.wallet.creditLimit ?? 0,
        ),
      );
    }
    const row: UsageRow = {
      accountId: key.accountId,
      sk: `${at}#${requestId}`,
      kind: 'usage',
      requestId,
      status: 'pending',
      hold: quote.amount,
      model: route.model,
      provider: route.provider,
      upstreamModel: route.upstreamModel ?? route.model,
      keyId: key.keyId,
      at,
      prices: route.prices,
      discountPpm,
    };
    const plenty = snapshot !== undefined && snapshot.spendable >= quote.amount * this.plentyFactor;
    if (snapshot) snapshot.spendable -= quote.amount;
    // With plenty of funds the hold's write starts a timer tick later, so the upstream request goes
    // out first instead of queueing behind the SDK's work (the first byte still waits for it).
    const write = plenty
      ? new Promise<void>((tick) => setTimeout(tick, 0)).then(() => this.wallets.hold(row))
      : this.wallets.hold(row);
    const committed = write.catch((error: unknown) => {
      if (error instanceof InsufficientFundsError) {
        this.snapshots.set(key.accountId, {
          wallet: error.wallet,
          spendable: error.wallet.spendable,
          fetchedAt: Date.now(),
        });
        throw new BillingError(
          insufficientBalanceMessage(quote, route.model, error.wallet.balance, error.wallet.creditLimit),
        );
      }
      if (snapshot) snapshot.spendable += quote.amount;
      if (error instanceof UnknownAccountError) {
        throw new BillingError(
          `Insufficient balance: account '${key.accountId}' has no wallet. Ask the operator to create it.`,
        );
      }
      throw error;
    });
    const handle: Hold = { row, quote, committed, bodyChars: bodyText.length };
    if (!plenty) await committed;
    else committed.catch(() => undefined); // awaited before the first byte; never unhandled
    return handle;
  }

  /**
   * Settles a committed hold, retrying while DynamoDB fails; a hold that cannot be settled stays
   * pending for the sweeper, so no money is lost or counted twice (the settle is idempotent).
   */
  async settle(
    handle: Hold,
    result: Completion | { outcome: 'upstream_error' | 'rejected' },
  ): Promise<Settlement | undefined> {
    try {
      await handle.committed;
    } catch {
      return undefined; // never held: nothing to settle
    }
    const settlement = settlementFor(handle, result);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.wallets.settle(handle.row, settlement);
        // The snapshot follows locally; it is read again only once stale (see `snapshot`).
        const snapshot = this.snapshots.get(handle.row.accountId);
        if (snapshot) snapshot.spendable += handle.row.hold - settlement.cost;
        return settlement;
      } catch (error) {
        // A malformed write will not get better by waiting; a failing database may.
        const delay = (error as Error).name === 'ValidationException' ? undefined : this.settleRetryDelaysMs[attempt];
        if (delay === undefined) {
          this.onSettleFailure(handle.row, settlement, error);
          return undefined;
        }
        await sleep(delay);
      }
    }
  }
}
