import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoOptions {
  /** DynamoDB Local's URL; absent on AWS. */
  endpoint?: string;
  region?: string;
}

/**
 * One document client per process, keep-alive on. Locally it points at DynamoDB Local with
 * throwaway credentials (DynamoDB Local accepts any).
 */
export const createDocumentClient = ({ endpoint, region }: DynamoOptions = {}): DynamoDBDocumentClient => {
  const config: DynamoDBClientConfig = {
    region: region ?? process.env.AWS_REGION ?? 'us-east-1',
    // The SDK's Node handler keeps connections alive by default; bound how long a call may hang.
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
    maxAttempts: 3,
  };
  if (endpoint) {
    config.endpoint = endpoint;
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
};

export const dynamoOptionsFromEnv = (env: NodeJS.ProcessEnv = process.env): DynamoOptions => {
  const options: DynamoOptions = {};
  if (env.TOLLGATE_DYNAMODB_ENDPOINT) options.endpoint = env.TOLLGATE_DYNAMODB_ENDPOINT;
  if (env.AWS_REGION) options.region = env.AWS_REGION;
  return options;
};
