/**
 * Child process of the bench: the counting proxy in front of DynamoDB Local (dynamo-counter.ts), in
 * its own event loop so forwarding DynamoDB bytes delays neither the upstream nor the client.
 */
import { type DynamoCounter, startDynamoCounter } from './dynamo-counter.ts';
import { serveRpc } from './rpc.ts';

let counter: DynamoCounter | undefined;

const started = (): DynamoCounter => {
  if (!counter) throw new Error('call start first');
  return counter;
};

serveRpc({
  async start({ dynamoPort, delayMs }: { dynamoPort: number; delayMs: number }): Promise<{ endpoint: string }> {
    counter = await startDynamoCounter(dynamoPort, delayMs);
    return { endpoint: counter.endpoint };
  },
  calls: (since: number) => started().callsSince(since),
  counts: () => started().takeCounts(),
  connections: () => started().connections(),
  /** Resolves once no call is in flight and none happened for `quietMs` (Tollgate's settles are done). */
  async idle({ quietMs, timeoutMs }: { quietMs: number; timeoutMs: number }): Promise<boolean> {
    const active = started();
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (active.inFlight() === 0 && performance.now() - active.lastActivity() >= quietMs) return true;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return false;
  },
});
