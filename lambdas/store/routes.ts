import type { Route } from '../vocabulary.ts';
import { parseRoute } from './records.ts';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from './sdk/lib-dynamodb.ts';

/** The routes table: one row per client-facing model id. */
export class RouteStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.client = client;
    this.table = table;
  }

  async get(model: string): Promise<Route | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.table, Key: { model } }));
    return Item === undefined ? undefined : parseRoute(Item, model);
  }

  /** Every route; the table is small (one row per model), so a scan is the right read. */
  async list(): Promise<Route[]> {
    const items: Route[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: this.table, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) items.push(parseRoute(item, String(item['model'])));
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => a.model.localeCompare(b.model));
  }

  async put(route: Route): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.table, Item: route }));
  }

  /** Returns whether a route was there to delete. */
  async delete(model: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.table, Key: { model }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }
}
