import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { CREDENTIAL_NAME_RULE, isCredentialName } from '../vocabulary.ts';

/** Where provider credentials come from: the environment locally, Secrets Manager on AWS. */
export interface CredentialSource {
  /** The credential's value; throws {@link CredentialNameError} for a name that is not a credential name. */
  get(name: string): Promise<string | undefined>;
  /** Where an operator puts the credential, for reports: "environment variable OPENAI_API_KEY". */
  describe(name: string): string;
}

/** A route names something that cannot be a credential (`HOME`, `AWS_SESSION_TOKEN`…): it was not read. */
export class CredentialNameError extends Error {
  readonly credential: string;
  constructor(name: string) {
    super(`'${name}' is not a credential name (${CREDENTIAL_NAME_RULE})`);
    this.credential = name;
  }
}

const checked = (name: string): string => {
  if (!isCredentialName(name)) throw new CredentialNameError(name);
  return name;
};

/** The gateway's environment, for the credential names only (never `HOME`, `AWS_*`, `TOLLGATE_*`). */
export const envCredentials = (env: NodeJS.ProcessEnv = process.env): CredentialSource => ({
  get: async (name) => env[checked(name)] || undefined,
  describe: (name) => `environment variable ${name}`,
});

/**
 * Secrets Manager, through Powertools Parameters with a 5-minute cache: a route's credential
 * `OPENAI_API_KEY` is the secret `<prefix>OPENAI_API_KEY` (prefix `tollgate/<stage>/`). A credential
 * name has no `/`, `.` or `:`, so it cannot name a secret outside the prefix (nor an ARN).
 */
export const secretsManagerCredentials = (prefix: string, maxAge = 300): CredentialSource => ({
  async get(name) {
    try {
      const value = await getSecret(`${prefix}${checked(name)}`, { maxAge });
      return typeof value === 'string' && value !== '' ? value : undefined;
    } catch (error) {
      if (error instanceof CredentialNameError) throw error;
      if ((error as { cause?: { name?: string } }).cause?.name === 'ResourceNotFoundException') return undefined;
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  },
  describe: (name) => `Secrets Manager secret ${prefix}${name}`,
});
