/** `@aws-sdk/util-dynamodb`, loaded with `require`: see client-dynamodb.ts for why. */
import { createRequire } from 'node:module';
import type * as Sdk from '@aws-sdk/util-dynamodb';

const sdk = createRequire(import.meta.url)('@aws-sdk/util-dynamodb') as typeof Sdk;

export const { NumberValueImpl, marshall, unmarshall } = sdk;
export type NumberValueImpl = Sdk.NumberValueImpl;
