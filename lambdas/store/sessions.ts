import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from './sdk/lib-dynamodb.ts';

/** A console session as stored: the id is the SHA-256 of the cookie's secret, never the secret. */
export interface SessionRecord {
  /** Hex SHA-256 of the session secret. */
  hash: string;
  email: string;
  /** The account the session looks at; membership is checked again on every request. */
  accountId: string;
  /** The form token that state-changing requests must carry (CSRF). */
  csrf: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms of the last request that refreshed the idle expiry. */
  seenAt: number;
  /** Epoch ms after which the session is over, however active. */
  endsAt: number;
  /** Epoch ms after which the session is over unless a request refreshed it. */
  idleEndsAt: number;
}

const seconds = (ms: number): number => Math.ceil(ms / 1000);
const SESSION = 'session#';
const LINK = 'link#';

const conditionFailed = (error: unknown): boolean => (error as Error).name === 'ConditionalCheckFailedException';

/**
 * Console sign-in links and sessions, in one table keyed by the SHA-256 of their secrets. Rows carry
 * `expiresAt` (epoch seconds) for DynamoDB's TTL, which deletes late: every read checks the expiry
 * itself.
 */
export class SessionStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.client = client;
    this.table = table;
  }

  /** Stores a sign-in link's hash for `email`, valid until `expiresAtMs`. */
  async putLink(hash: string, email: string, expiresAtMs: number, now: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { id: `${LINK}${hash}`, email, createdAt: now, linkEndsAt: expiresAtMs, expiresAt: seconds(expiresAtMs) },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  /**
   * Uses a sign-in link once: deletes it and returns its e-mail when it was unexpired. A second use,
   * racing or late, finds nothing.
   */
  async consumeLink(hash: string, now: number): Promise<string | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { id: `${LINK}${hash}` },
          ConditionExpression: 'attribute_exists(id) AND linkEndsAt > :now',
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return Attributes === undefined ? undefined : String(Attributes['email']);
    } catch (error) {
      if (conditionFailed(error)) return undefined;
      throw error;
    }
  }

  async putSession(session: SessionRecord): Promise<void> {
    const { hash, ...fields } = session;
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { id: `${SESSION}${hash}`, ...fields, expiresAt: seconds(Math.min(session.endsAt, session.idleEndsAt)) },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  /** The live session with this hash, or undefined (unknown, ended, idle too long). */
  async getSession(hash: string, now: number): Promise<SessionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { id: `${SESSION}${hash}` }, ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const session: SessionRecord = {
      hash,
      email: String(Item['email']),
      accountId: String(Item['accountId']),
      csrf: String(Item['csrf']),
      createdAt: Number(Item['createdAt']),
      seenAt: Number(Item['seenAt']),
      endsAt: Number(Item['endsAt']),
      idleEndsAt: Number(Item['idleEndsAt']),
    };
    return now < session.endsAt && now < session.idleEndsAt ? session : undefined;
  }

  /** Refreshes the idle expiry and/or switches the account; false when the session is gone. */
  async touch(hash: string, changes: { seenAt: number; idleEndsAt: number; endsAt: number; accountId?: string }) {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: `${SESSION}${hash}` },
          UpdateExpression: `SET seenAt = :seen, idleEndsAt = :idle, expiresAt = :ttl${changes.accountId === undefined ? '' : ', accountId = :account'}`,
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeValues: {
            ':seen': changes.seenAt,
            ':idle': changes.idleEndsAt,
            ':ttl': seconds(Math.min(changes.endsAt, changes.idleEndsAt)),
            ...(changes.accountId === undefined ? {} : { ':account': changes.accountId }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async deleteSession(hash: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.table, Key: { id: `${SESSION}${hash}` } }));
  }
}
