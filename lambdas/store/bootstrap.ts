import { TABLE_NAMES, TABLE_SCHEMAS, type TableNames, type TableSchema } from '../../lib/tables.ts';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from './sdk/client-dynamodb.ts';

const createTableInput = (schema: TableSchema, tableName: string): CreateTableCommandInput => {
  const keys = [
    schema.partitionKey,
    ...(schema.sortKey ? [schema.sortKey] : []),
    ...schema.globalSecondaryIndexes.flatMap((index) => [
      index.partitionKey,
      ...(index.sortKey ? [index.sortKey] : []),
    ]),
  ];
  const attributes = [...new Map(keys.map((key) => [key.name, key])).values()];
  const input: CreateTableCommandInput = {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [
      { AttributeName: schema.partitionKey.name, KeyType: 'HASH' },
      ...(schema.sortKey ? [{ AttributeName: schema.sortKey.name, KeyType: 'RANGE' as const }] : []),
    ],
  };
  if (schema.globalSecondaryIndexes.length > 0) {
    input.GlobalSecondaryIndexes = schema.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
      ],
      Projection: { ProjectionType: 'ALL' },
    }));
  }
  return input;
};

/** Creates whichever tables are missing, from the same schemas the CDK stack uses. Returns those created. */
export const ensureTables = async (client: DynamoDBClient, tables: TableNames): Promise<string[]> => {
  const created: string[] = [];
  for (const name of TABLE_NAMES) {
    const tableName = tables[name];
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      const schema = TABLE_SCHEMAS[name];
      await client.send(new CreateTableCommand(createTableInput(schema, tableName)));
      if (schema.timeToLiveAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: schema.timeToLiveAttribute, Enabled: true },
          }),
        );
      }
      created.push(tableName);
    }
  }
  return created;
};
