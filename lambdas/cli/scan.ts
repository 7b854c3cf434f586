import { type DynamoDBDocumentClient, ScanCommand } from '../store/sdk/lib-dynamodb.ts';

/**
 * Every account id of the wallets table, sorted. A full scan (keys only): for operator commands
 * such as `audit --all`, never for the request path.
 *
 * @example await scanAccountIds(client, 'tollgate-wallets') // ['acme', 'globex']
 */
export const scanAccountIds = async (client: DynamoDBDocumentClient, walletsTable: string): Promise<string[]> => {
  const ids: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: walletsTable,
        ProjectionExpression: 'accountId',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      if (typeof item['accountId'] === 'string') ids.push(item['accountId']);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return ids.sort();
};
