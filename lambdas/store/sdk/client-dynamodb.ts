/**
 * `@aws-sdk/client-dynamodb`, loaded with `require`. The SDK is CommonJS (the Lambda runtime's copy
 * too); an ESM `import` of it makes Node compile its entry file twice (the syntax detection of a
 * package without `"type"`, then the CommonJS translator) and scan it for named exports — about
 * 10 ms of module init per cold start for the three DynamoDB packages. The bundle keeps the SDK
 * external (lib/tollgate-function.ts), and its banner defines this same `require`.
 */
import { createRequire } from 'node:module';
import type * as Sdk from '@aws-sdk/client-dynamodb';

const sdk = createRequire(import.meta.url)('@aws-sdk/client-dynamodb') as typeof Sdk;

export const {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  TransactionCanceledException,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
} = sdk;
export type DynamoDBClient = Sdk.DynamoDBClient;
export type ResourceNotFoundException = Sdk.ResourceNotFoundException;
export type TransactionCanceledException = Sdk.TransactionCanceledException;
export type {
  AttributeValue,
  CreateTableCommandInput,
  DynamoDBClientConfig,
  QueryCommandInput,
  UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
