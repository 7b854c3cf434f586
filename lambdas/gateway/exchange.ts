import type { Logger } from '@aws-lambda-powertools/logger';
import { UpstreamConnectionError, UpstreamError } from '../errors.ts';
import type { CounterStore } from '../store/counters.ts';
import type { Settlement } from '../store/wallets.ts';
import type { KeyRecord, Route } from '../vocabulary.ts';
import type { Billing, Hold } from './billing.ts';
import {
  type Completion,
  type ForwardDeps,
  type Forwarded,
  forward,
  type Progress,
  type StreamingResponse,
  UndeliveredAnswer,
} from './forward.ts';
import { costOf } from './pricing.ts';
import { windowStart } from './rate-limit.ts';
import type { SpendTerms } from './spend-guard.ts';
import type { ParsedRequest, Routing } from './state.ts';

export interface ExchangeDeps {
  billing: Billing;
  forward: ForwardDeps;
  /** How often a long stream checkpoints its running cost onto its pending ledger row. */
  checkpointIntervalMs: number;
  counters: Pick<CounterStore, 'countTokens'>;
  logger: Logger;
}

/** A routed request, as the middlewares left it: who asks, what, and where it may go. */
export interface RoutedRequest {
  requestId: string;
  startedAt: number;
  /** `performance.now()` when the request reached the handler chain. */
  startedPerf: number;
  key: KeyRecord;
  request: ParsedRequest;
  routing: Routing;
  /** The output cap and the allowed betas (guard-spend): held for, and written upstream. */
  spend: SpendTerms;
  /**
   * When (epoch ms) the exchange is ended and settled with what is known: before the invocation is
   * killed and before the sweeper may take the hold (app.ts).
   */
  deadlineAt: number;
  clientHeaders: Readonly<Record<string, string | undefined>>;
}

/** The upstream that answered: the route (the chosen one or a fallback) and its response. */
interface Answered {
  route: Route;
  forwarded: Forwarded;
}

/** How an exchange ended, for the request's metrics. */
export interface ExchangeReport {
  /** Upstream time to headers, when an upstream answered. */
  upstreamTtfbMs?: number;
  /** The gateway's own time on the request (see `x-tollgate-overhead-ms`). */
  overheadMs?: number;
  /** What was written to the ledger; undefined when nothing was held or the settle is left to the sweeper. */
  settlement?: Settlement;
}

/** Upstream failures that a fallback route may answer instead: 429, 5xx, unreachable. */
const retryable = (error: unknown): boolean =>
  error instanceof UpstreamConnectionError ||
  (error instanceof UpstreamError && (error.status === 429 || error.status >= 500));

/**
 * What a request that got no answer is settled as: the upstream failed, or we refused it first —
 * or the upstream answered and we failed to pass it on, which is billed on its usage all the same.
 */
const failedOutcome = (error: unknown): Completion | { outcome: 'upstream_error' | 'rejected' } => {
  if (error instanceof UndeliveredAnswer) return error.completion;
  return {
    outcome: error instanceof UpstreamError || error instanceof UpstreamConnectionError ? 'upstream_error' : 'rejected',
  };
};

/**
 * One request's life after routing, in order (DESIGN §4, §6):
 * 1. **hold** the worst case in the wallet (`Billing.hold`; a 402 here calls nothing upstream);
 * 2. **forward** to the route, then its fallbacks while an upstream fails before its first byte;
 *    the first byte waits for the hold to commit (it may have overlapped the upstream call);
 * 3. **stream** the answer to the client (`forward.ts`);
 * 4. once the upstream is read to its end and the client's response has ended, **settle** on the
 *    usage it reported, count the tokens for the key's rate limit and hand back what the metrics
 *    need. A client that stops reading gets the client timeout to take the end, not longer.
 *
 * Each stage takes what the previous one produced: `forwardTo` needs a {@link Hold}, and the settle
 * is armed only once a hold exists, so no path can settle without one or forget to.
 *
 * @example
 * const exchange = new Exchange(deps, routed);
 * const response = await exchange.respond(); // stream this to the client
 * const report = await exchange.finish(); // once the client's response has ended
 */
export class Exchange {
  private readonly deps: ExchangeDeps;
  private readonly routed: RoutedRequest;
  /** Set once a hold exists: the settle on however the exchange ended, the token count, the report. */
  private ending?: Promise<ExchangeReport>;
  private answered?: Answered;
  private overheadMs?: number;
  /** Resolves when the client's response has ended (`finish`). */
  private readonly responseEnded = Promise.withResolvers<void>();

  constructor(deps: ExchangeDeps, routed: RoutedRequest) {
    this.deps = deps;
    this.routed = routed;
  }

  /**
   * Resolves once the client's response has ended, so that the settle stays off the client's clock
   * — or once the client has had the client timeout to take the end (never past the deadline): a
   * client that stops reading can hold neither the money nor the key's token count.
   */
  private async clientDone(): Promise<void> {
    const graceMs = Math.min(this.deps.forward.clientTimeoutMs, this.routed.deadlineAt - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((done) => {
      timer = setTimeout(done, Math.max(0, graceMs));
    });
    await Promise.race([this.responseEnded.promise, grace]);
    clearTimeout(timer);
  }

  /** Holds, forwards (with fallbacks) and answers with the response to stream to the client. */
  async respond(): Promise<StreamingResponse> {
    const hold = await this.holdFunds();
    let answered: Answered;
    try {
      answered = await this.forwardTo(hold, (progress) => void this.deps.billing.checkpoint(hold, progress));
    } catch (error) {
      this.ending = this.clientDone().then(() => this.conclude(hold, failedOutcome(error)));
      this.ending.catch(() => undefined); // awaited by `ended`; never unhandled if nothing awaits it
      throw error;
    }
    this.answered = answered;
    // Settled once the upstream is done and then the client has its response (or has had its chance).
    this.ending = answered.forwarded.completion.then(async (completion) => {
      await this.clientDone();
      return this.conclude(hold, completion);
    });
    this.ending.catch(() => undefined); // as above
    return this.response(answered);
  }

  /** How the exchange ended, once its hold is settled and counted: what the request's metrics need. */
  get ended(): Promise<ExchangeReport> {
    return this.ending ?? Promise.resolve({});
  }

  /** The client's response has ended (or the client left): settles now, off the client's clock. */
  finish(): Promise<ExchangeReport> {
    this.responseEnded.resolve();
    return this.ended;
  }

  /** Settles, counts the tokens for the key's rate limit, and reports. */
  private async conclude(hold: Hold, ending: Completion | { outcome: 'upstream_error' | 'rejected' }) {
    const settlement = await this.settle(hold, ending);
    if (settlement?.usage) await this.countTokens(settlement);
    const report: ExchangeReport = {};
    if (settlement) report.settlement = settlement;
    if (this.overheadMs !== undefined) report.overheadMs = this.overheadMs;
    if (this.answered) {
      const { timing } = this.answered.forwarded;
      report.upstreamTtfbMs = timing.headersAt - timing.sentAt;
    }
    return report;
  }

  private holdFunds(): Promise<Hold> {
    const { requestId, startedAt, key, request, routing, spend } = this.routed;
    return this.deps.billing.hold({
      requestId,
      // Stamped with the time the request arrived, which its id carries: the id names its ledger row.
      at: new Date(startedAt),
      key,
      route: routing.route,
      fallbacks: routing.fallbacks,
      body: request.body,
      bodyText: request.text,
      cap: spend.cap,
    });
  }

  /**
   * Forwards while the hold commits. A hold that overlapped the upstream call must commit before
   * the first byte; if it is refused, the upstream call is cancelled (its completion still awaited,
   * so nothing dangles) and the client gets the 402.
   */
  private async forwardTo(hold: Hold, checkpoint: (progress: Progress) => void): Promise<Answered> {
    const cancel = new AbortController();
    const forwarding = this.withFallbacks(hold, cancel.signal, checkpoint);
    forwarding.catch(() => undefined); // awaited below, after the commit
    try {
      await hold.committed;
    } catch (error) {
      cancel.abort(error);
      void forwarding.then(
        ({ forwarded }) => forwarded.completion,
        () => undefined,
      );
      throw error;
    }
    const answered = await forwarding;
    hold.answeredBy = answered.route;
    return answered;
  }

  /**
   * The chosen route, then its fallbacks in order while an upstream answers 429 or 5xx or cannot be
   * reached — all before the first byte, so the client sees one answer. The hold covers the dearest
   * of them; the request is billed at the route that answered (`x-tollgate-route` names it), and its
   * answer carries that cost (`price`: what `settlementFor` charges for a completed answer).
   */
  private async withFallbacks(
    hold: Hold,
    signal: AbortSignal,
    checkpoint: (progress: Progress) => void,
  ): Promise<Answered> {
    const { request, routing, requestId, spend, deadlineAt } = this.routed;
    // Only allow-listed betas reach the upstream (gateway/spend-guard.ts).
    const clientHeaders = { ...this.routed.clientHeaders, 'anthropic-beta': spend.anthropicBeta };
    const chain = [routing.route, ...routing.fallbacks];
    for (const [index, route] of chain.entries()) {
      try {
        const forwarded = await forward(
          {
            operation: request.operation,
            route,
            body: request.body,
            maxOutputTokens: spend.cap.tokens,
            clientHeaders,
            signal,
            deadlineAt,
            progress: { everyMs: this.deps.checkpointIntervalMs, report: checkpoint },
            price: (usage) => costOf(usage, route.prices, hold.row.discountPpm),
          },
          this.deps.forward,
        );
        return { route, forwarded };
      } catch (error) {
        const next = chain[index + 1];
        if (!next || !retryable(error) || signal.aborted) throw error;
        this.deps.logger.warn('falling back', { requestId, from: route.model, to: next.model });
      }
    }
    throw new Error('a route chain is never empty');
  }

  private response({ route, forwarded }: Answered): StreamingResponse {
    // The gateway's own time so far: before the upstream call went out, and from its headers to our
    // response. The time spent waiting on the upstream is not ours.
    const { sentAt, headersAt } = forwarded.timing;
    const overheadMs = sentAt - this.routed.startedPerf + (performance.now() - headersAt);
    this.overheadMs = overheadMs;
    return {
      ...forwarded.response,
      headers: {
        ...forwarded.response.headers,
        'x-request-id': this.routed.requestId,
        'x-tollgate-route': route.model,
        'x-tollgate-overhead-ms': overheadMs.toFixed(3),
      },
    };
  }

  /** Settles the hold on how the exchange ended; logs only what the ledger now says. */
  private async settle(hold: Hold, ending: Completion | { outcome: 'upstream_error' | 'rejected' }) {
    const settlement = await this.deps.billing.settle(hold, ending);
    if (!settlement) return undefined; // not held, or left pending for the sweeper (logged there)
    const { requestId, key, routing, startedAt } = this.routed;
    this.deps.logger.info('request settled', {
      requestId,
      accountId: key.accountId,
      keyId: key.keyId,
      model: settlement.model ?? routing.route.model,
      outcome: settlement.outcome,
      hold: hold.row.hold,
      cost: settlement.cost,
      ...(settlement.overrun ? { overrun: true } : {}),
      ...(settlement.estimated ? { estimated: true } : {}),
      usage: settlement.usage,
      durationMs: Date.now() - startedAt,
    });
    return settlement;
  }

  /** Tokens count against the key's tokens-per-minute limit once known; a failed count only warns. */
  private async countTokens(settlement: Settlement): Promise<void> {
    const { key, startedAt, requestId } = this.routed;
    if (key.tpm === undefined || !settlement.usage) return;
    const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens } = settlement.usage;
    await this.deps.counters
      .countTokens(key.keyId, windowStart(startedAt), inputTokens + outputTokens + cacheReadTokens + cacheWriteTokens)
      .catch((error: unknown) => this.deps.logger.warn('token count for the rate limit failed', { requestId, error }));
  }
}
