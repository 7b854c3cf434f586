import { RemovalPolicy } from 'aws-cdk-lib';
import { type Attribute, AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { KeyAttribute, TableSchema } from './tables.ts';

export interface TollgateTableProps {
  /** The key schema, GSIs and TTL attribute, from `TABLE_SCHEMAS`. */
  readonly schema: TableSchema;
  /** Physical table name; omit to let CloudFormation name it. */
  readonly tableName?: string;
  /** @default false */
  readonly deletionProtection?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const attribute = ({ name, type }: KeyAttribute): Attribute => ({
  name,
  type: type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

/**
 * One Tollgate table, built from its entry in `lib/tables.ts` so the deployed key schema can never drift
 * from the one the local bootstrap creates. On demand, point-in-time recovery on, AWS-owned encryption.
 * It keeps its schema (`definition`) so functions can grant access to exactly its indexes (see `TollgateFunction.bindTable`).
 *
 * @example
 * const keys = new TollgateTable(this, 'KeysTable', { schema: TABLE_SCHEMAS.keys, tableName: 'tollgate-dev-keys' });
 */
export class TollgateTable extends Table {
  readonly definition: TableSchema;

  constructor(scope: Construct, id: string, props: TollgateTableProps) {
    const { schema } = props;
    super(scope, id, {
      partitionKey: attribute(schema.partitionKey),
      ...(schema.sortKey && { sortKey: attribute(schema.sortKey) }),
      ...(schema.timeToLiveAttribute && { timeToLiveAttribute: schema.timeToLiveAttribute }),
      ...(props.tableName && { tableName: props.tableName }),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.definition = schema;
    for (const index of schema.globalSecondaryIndexes) {
      this.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey && { sortKey: attribute(index.sortKey) }),
      });
    }
  }

  /** ARNs of the table and each of its GSIs, for statements that should not reach beyond them. */
  get resourceArns(): string[] {
    return [
      this.tableArn,
      ...this.definition.globalSecondaryIndexes.map((i) => `${this.tableArn}/index/${i.indexName}`),
    ];
  }
}
