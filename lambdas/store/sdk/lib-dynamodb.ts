/** `@aws-sdk/lib-dynamodb`, loaded with `require`: see client-dynamodb.ts for why. */
import { createRequire } from 'node:module';
import type * as Sdk from '@aws-sdk/lib-dynamodb';

const sdk = createRequire(import.meta.url)('@aws-sdk/lib-dynamodb') as typeof Sdk;

export const {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} = sdk;
export type DynamoDBDocumentClient = Sdk.DynamoDBDocumentClient;
export type {
  BatchWriteCommandInput,
  BatchWriteCommandOutput,
  TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
