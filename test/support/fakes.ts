/**
 * In-memory stand-ins for the stores and the reporter the proxy's middlewares and its exchange are
 * given: the same interfaces and the same rules (a hold needs `spendable ≥ hold`, a settle is
 * idempotent and gives back `hold − cost`), with what happened kept for the test to read.
 */
import { type GatewayState, type ParsedRequest, setState } from '../../lambdas/gateway/state.ts';
import { ChatCompletionRequest } from '../../lambdas/protocols/openai-chat.ts';
import type { ConfigurationReport, Reporter } from '../../lambdas/reports/reporter.ts';
import type { CounterStore, WindowCount } from '../../lambdas/store/counters.ts';
import {
  InsufficientFundsError,
  type Settlement,
  UnknownAccountError,
  type WalletStore,
} from '../../lambdas/store/wallets.ts';
import type { KeyRecord, Route, UsageRow, Wallet } from '../../lambdas/vocabulary.ts';

/** nano-USD in one US dollar. */
export const USD = 1_000_000_000;

/** A key record; `models`, limits, `revokedAt` and `expiresAt` as the test says. */
export const keyRecord = (overrides: Partial<KeyRecord> = {}): KeyRecord => ({
  keyHash: 'hash-of-a-test-key',
  keyId: 'key_test',
  accountId: 'acct-test',
  createdAt: '2026-01-01T00:00:00.000Z',
  prefix: 'sk-test',
  ...overrides,
});

/** A route priced $1 / $2 per million tokens unless told otherwise. */
export const route = (model: string, overrides: Partial<Route> = {}): Route => ({
  model,
  provider: 'echo',
  prices: { input: USD, output: 2 * USD },
  ...overrides,
});

/** A chat request as parse-body leaves it (validated by the same schema). */
export const chatRequest = (body: Record<string, unknown>): ParsedRequest => ({
  operation: 'chat',
  body: ChatCompletionRequest.parse(body),
  text: JSON.stringify(body),
});

/**
 * A request's state as the middlewares before the one under test would have left it: a chat
 * request in the OpenAI envelope unless told otherwise.
 */
export const givenState = (context: object, state: Partial<GatewayState> = {}): GatewayState =>
  setState(context, {
    requestId: 'req-given',
    startedAt: Date.now(),
    startedPerf: performance.now(),
    protocol: 'openai',
    endpoint: 'chat',
    ...state,
  });

/** The key store behind `authenticateKey({ lookup })`: keys by hash, and every hash it was asked for. */
export const fakeKeyLookup = (...records: KeyRecord[]) => {
  const byHash = new Map(records.map((record) => [record.keyHash, record]));
  const lookups: string[] = [];
  const lookup = async (keyHash: string): Promise<KeyRecord | undefined> => {
    lookups.push(keyHash);
    return byHash.get(keyHash);
  };
  return { lookup, lookups };
};

/** The route table behind `routeRequest({ routes })`. */
export const fakeRoutes =
  (...routes: Route[]) =>
  async (): Promise<readonly Route[]> =>
    routes;

/** Per-key, per-minute counters, as `CounterStore` keeps them in DynamoDB. */
export class FakeCounters implements Pick<CounterStore, 'countRequest' | 'countTokens'> {
  private readonly windows = new Map<string, WindowCount>();
  /** Every `countRequest` call, in order. */
  readonly requestCalls: { keyId: string; windowStart: number }[] = [];
  /** Every `countTokens` call, in order. */
  readonly tokenCalls: { keyId: string; windowStart: number; tokens: number }[] = [];

  private window(keyId: string, windowStart: number): WindowCount {
    const name = `${keyId}#${windowStart}`;
    const found = this.windows.get(name) ?? { requests: 0, tokens: 0 };
    this.windows.set(name, found);
    return found;
  }

  async countRequest(keyId: string, windowStart: number): Promise<WindowCount> {
    this.requestCalls.push({ keyId, windowStart });
    const window = this.window(keyId, windowStart);
    window.requests += 1;
    return { ...window };
  }

  async countTokens(keyId: string, windowStart: number, tokens: number): Promise<void> {
    this.tokenCalls.push({ keyId, windowStart, tokens });
    if (tokens > 0) this.window(keyId, windowStart).tokens += tokens;
  }
}

/** A reporter that keeps what it was told. */
export const fakeReporter = (): Reporter & { reports: ConfigurationReport[] } => {
  const reports: ConfigurationReport[] = [];
  return {
    reports,
    report: (report) => void reports.push(report),
    flush: async () => undefined,
  };
};

/** A wallet holding `usd` dollars, no credit limit. */
export const wallet = (accountId: string, usd: number): Wallet => ({
  accountId,
  balance: usd * USD,
  creditLimit: 0,
  spendable: usd * USD,
  createdAt: '2026-01-01T00:00:00.000Z',
});

/** Wallets and their ledger rows, with the rules of `WalletStore` (lambdas/store/wallets.ts). */
export class FakeWallets implements Pick<WalletStore, 'get' | 'hold' | 'settle' | 'checkpoint'> {
  private readonly wallets = new Map<string, Wallet>();
  /** Usage rows by `accountId#sk`: pending after a hold, final after a settle. */
  readonly rows = new Map<string, UsageRow>();
  /** Every settle that changed a row, in order. */
  readonly settlements: { row: Pick<UsageRow, 'accountId' | 'sk' | 'hold'>; settlement: Settlement }[] = [];

  constructor(...wallets: Wallet[]) {
    for (const found of wallets) this.wallets.set(found.accountId, { ...found });
  }

  /** The wallet as it is now (a copy), or throws. */
  now(accountId: string): Wallet {
    const found = this.wallets.get(accountId);
    if (!found) throw new Error(`no wallet ${accountId}`);
    return { ...found };
  }

  /** Spends the wallet down to `spendable` behind the gateway's back (another instance, an operator). */
  drain(accountId: string, spendable = 0): void {
    const found = this.wallets.get(accountId);
    if (!found) throw new Error(`no wallet ${accountId}`);
    found.balance -= found.spendable - spendable;
    found.spendable = spendable;
  }

  async get(accountId: string): Promise<Wallet | undefined> {
    const found = this.wallets.get(accountId);
    return found && { ...found };
  }

  async hold(row: UsageRow): Promise<void> {
    const found = this.wallets.get(row.accountId);
    if (!found) throw new UnknownAccountError(`Unknown account '${row.accountId}'`);
    if (found.spendable < row.hold) throw new InsufficientFundsError({ ...found });
    found.balance -= row.hold;
    found.spendable -= row.hold;
    this.rows.set(`${row.accountId}#${row.sk}`, { ...row, status: 'pending' });
  }

  async settle(row: Pick<UsageRow, 'accountId' | 'sk' | 'hold'>, settlement: Settlement): Promise<boolean> {
    const stored = this.rows.get(`${row.accountId}#${row.sk}`);
    const found = this.wallets.get(row.accountId);
    if (!stored || !found || stored.status !== 'pending') return false;
    this.rows.set(`${row.accountId}#${row.sk}`, { ...stored, ...settlement, status: 'final' });
    const refund = row.hold - settlement.cost;
    found.balance += refund;
    found.spendable += refund;
    this.settlements.push({ row, settlement });
    return true;
  }

  async checkpoint(row: Pick<UsageRow, 'accountId' | 'sk'>, cost: number): Promise<boolean> {
    const stored = this.rows.get(`${row.accountId}#${row.sk}`);
    if (stored?.status !== 'pending' || (stored.checkpoint ?? -1) >= cost) return false;
    stored.checkpoint = cost;
    return true;
  }
}
