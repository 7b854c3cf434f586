/**
 * `npm run simulate` — what one account can sustain on DynamoDB (AWS, not DynamoDB Local), by a
 * simulation anyone can run: requests of one account arrive at a given rate, each moves money as the
 * gateway does, and the simulation replays DynamoDB's two limits on the items and the partition they
 * touch (README, "One busy account"):
 *
 * 1. **Write throughput per partition**: about 1,000 write units per second. A write costs one unit per
 *    KB of item (rounded up); a transactional write costs two. All of an account's ledger rows share one
 *    partition (pk accountId), and time-ordered sort keys all write at its end, so "split for heat"
 *    cannot spread them.
 * 2. **Transaction conflicts on one item**: while a transaction on an item is in flight (its latency,
 *    τ), another transaction on the item is cancelled with `TransactionConflict` and retried after the
 *    store's jittered back-off (lambdas/store/wallets.ts: random × min(250, 5 × 2^attempt) ms, 30
 *    attempts). Every request of a wallet-per-request design runs two transactions on the wallet item.
 *
 * Designs compared:
 * - **per-request holds** (before issue 15): a hold transaction (wallet + the pending row, under 1 KB) and a settle
 *   transaction (row + wallet) per request;
 * - **credit leases** (gateway/leases.ts): one PutItem per request (its final row, written at the
 *   settle); the wallet item sees two transactions per lease (open, close), one lease per busy instance
 *   per minute.
 *
 * A model with stated assumptions, not a measurement: the printed table says what it assumes.
 */
import { parseArgs } from 'node:util';

interface Assumptions {
  /** Transaction latency on AWS: how long an item stays locked by one transaction (ms). */
  txnMs: number;
  /** KB of a ledger row (pending, then final with raw usage and prices). */
  rowKb: number;
  /** Write units per second one partition takes. */
  partitionWcu: number;
  /** How long a simulated second lasts in the run (seconds of traffic simulated per rate). */
  seconds: number;
}

const { values } = parseArgs({
  options: {
    'txn-ms': { type: 'string', default: '15' },
    'row-kb': { type: 'string', default: '0.8' },
    seconds: { type: 'string', default: '60' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`npm run simulate -- [--txn-ms 15] [--row-kb 2] [--seconds 60]

  --txn-ms    how long one DynamoDB transaction holds its items (AWS: 10-30 ms)
  --row-kb    size of one ledger row in KB (a final row with raw usage and prices: about 0.8)
  --seconds   seconds of traffic simulated at each rate`);
  process.exit(0);
}
const assume: Assumptions = {
  txnMs: Number(values['txn-ms']),
  rowKb: Number(values['row-kb']),
  partitionWcu: 1_000,
  seconds: Number(values.seconds),
};

/** A reproducible random source (mulberry32), so two runs print the same table. */
const random = (() => {
  let seed = 0x7011_9a7e;
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
})();

const exponential = (ratePerMs: number) => -Math.log(1 - random()) / ratePerMs;

interface ItemResult {
  /** Transactions that committed per second. */
  committed: number;
  /** Transactions that gave up after 30 attempts, per second (a 5xx for the request). */
  failed: number;
  /** Attempts per committed transaction. */
  attempts: number;
  /** Latency of a transaction including its retries, p50 / p99 (ms). */
  p50: number;
  p99: number;
}

type Attempt = [time: number, arrival: number, attempt: number];

/** A min-heap of attempts by time. */
class Attempts {
  private readonly heap: Attempt[] = [];
  get size(): number {
    return this.heap.length;
  }
  push(item: Attempt): void {
    const heap = this.heap;
    heap.push(item);
    for (let index = heap.length - 1; index > 0; ) {
      const parent = (index - 1) >>> 1;
      if ((heap[parent] as Attempt)[0] <= item[0]) break;
      heap[index] = heap[parent] as Attempt;
      heap[parent] = item;
      index = parent;
    }
  }
  pop(): Attempt {
    const heap = this.heap;
    const top = heap[0] as Attempt;
    const last = heap.pop() as Attempt;
    if (heap.length === 0) return top;
    heap[0] = last;
    for (let index = 0; ; ) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && (heap[left] as Attempt)[0] < (heap[smallest] as Attempt)[0]) smallest = left;
      if (right < heap.length && (heap[right] as Attempt)[0] < (heap[smallest] as Attempt)[0]) smallest = right;
      if (smallest === index) break;
      [heap[index], heap[smallest]] = [heap[smallest] as Attempt, heap[index] as Attempt];
      index = smallest;
    }
    return top;
  }
}

/**
 * Transactions arriving at `perSecond` on one item, each locking it for τ; one that finds it locked is
 * cancelled (after τ) and retried after the store's back-off. An event-driven replay over `seconds`.
 */
const simulateItem = (perSecond: number): ItemResult => {
  const horizon = assume.seconds * 1_000;
  const queue = new Attempts();
  for (let t = exponential(perSecond / 1_000); t < horizon; t += exponential(perSecond / 1_000)) queue.push([t, t, 1]);
  let lockedUntil = -1;
  const latencies: number[] = [];
  let failed = 0;
  let attempts = 0;
  while (queue.size > 0) {
    const [time, arrival, attempt] = queue.pop();
    attempts += 1;
    if (time >= lockedUntil) {
      lockedUntil = time + assume.txnMs;
      latencies.push(time + assume.txnMs - arrival);
    } else if (attempt >= 30) failed += 1;
    else queue.push([time + assume.txnMs + random() * Math.min(250, 5 * 2 ** attempt), arrival, attempt + 1]);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    committed: latencies.length / assume.seconds,
    failed: failed / assume.seconds,
    attempts: latencies.length > 0 ? attempts / latencies.length : 0,
    p50: at(0.5),
    p99: at(0.99),
  };
};

const units = (kb: number) => Math.ceil(kb);

/** Write units one request costs on the account's ledger partition (rows) and on its wallet item. */
const perRequest = {
  // Hold: transactional put of the row + wallet update; settle: transactional row update + wallet.
  perRequestHolds: { ledger: 2 * units(assume.rowKb) * 2, wallet: 2 * 1 * 2 },
  // One plain PutItem of the final row; the wallet only per lease.
  leases: { ledger: units(assume.rowKb), wallet: 0 },
};

const rates = [5, 25, 50, 100, 150, 250, 500];
const fmt = (n: number, digits = 0) => n.toFixed(digits).padStart(7);

console.log(`One account on DynamoDB: requests per second it can sustain
Assumes: a transaction holds its items ${assume.txnMs} ms; a ledger row is ${assume.rowKb} KB (${units(assume.rowKb)} write unit${units(assume.rowKb) === 1 ? '' : 's'}, 2× in a transaction);
one partition takes ${assume.partitionWcu} write units/s; every ledger row of an account is in one partition. ${assume.seconds} s simulated per rate.
"Today" is fifty agents on one account: each in a stream of ~10 s, so about 5 new requests/s; 10× is 50/s.
`);
console.log('per-request holds: 2 transactions on the wallet item per request');
console.log(
  '  req/s offered | wallet txn/s | committed/s | failed/s | attempts | txn p50 ms | txn p99 ms | ledger WCU/s (of 1,000)',
);
for (const rate of rates) {
  const item = simulateItem(rate * 2);
  const ledger = rate * perRequest.perRequestHolds.ledger;
  console.log(
    `  ${fmt(rate)}       | ${fmt(rate * 2)}      | ${fmt(item.committed / 2, 1)}     | ${fmt(item.failed / 2, 1)}  | ${fmt(item.attempts, 2)}  | ${fmt(item.p50, 1)}    | ${fmt(item.p99, 1)}    | ${fmt(ledger)}${ledger > assume.partitionWcu ? '  over: throttled' : ''}`,
  );
}
console.log('\ncredit leases: the wallet item sees 2 transactions per lease; one lease per busy instance per minute');
console.log('  req/s offered | instances | wallet txn/s | txn p99 ms | ledger WCU/s (of 1,000)');
for (const rate of rates) {
  // Each request streams ~10 s: `rate × 10` requests in flight, one per Lambda instance.
  const instances = rate * 10;
  const walletTxns = (instances * 2) / 60;
  const item = simulateItem(walletTxns);
  const ledger = rate * perRequest.leases.ledger;
  console.log(
    `  ${fmt(rate)}       | ${fmt(instances)}   | ${fmt(walletTxns, 1)}      | ${fmt(item.p99, 1)}    | ${fmt(ledger)}${ledger > assume.partitionWcu ? '  over: throttled' : ''}`,
  );
}
const ceiling = (wcu: number) => Math.floor(assume.partitionWcu / wcu);
console.log(`
Ceilings per account: per-request holds ${ceiling(perRequest.perRequestHolds.ledger)} req/s by the ledger partition, fewer by wallet conflicts (above);
credit leases ${ceiling(perRequest.leases.ledger)} req/s by the ledger partition, the wallet no longer a limit.
Past that, the ledger partition is the limit: shard the ledger's partition key (accountId#0..n) to go further.`);
