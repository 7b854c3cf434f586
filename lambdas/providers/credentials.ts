import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

/** Where provider credentials come from: the environment locally, Secrets Manager on AWS. */
export interface CredentialSource {
  get(name: string): Promise<string | undefined>;
  /** Where an operator puts the credential, for reports: "environment variable OPENAI_API_KEY". */
  describe(name: string): string;
}

export const envCredentials = (env: NodeJS.ProcessEnv = process.env): CredentialSource => ({
  get: async (name) => env[name] || undefined,
  describe: (name) => `environment variable ${name}`,
});

/**
 * Secrets Manager, through Powertools Parameters with a 5-minute cache: a route's credential
 * `OPENAI_API_KEY` is the secret `<prefix>OPENAI_API_KEY` (prefix `tollgate/<stage>/`).
 */
export const secretsManagerCredentials = (prefix: string, maxAge = 300): CredentialSource => ({
  async get(name) {
    try {
      const value = await getSecret(`${prefix}${name}`, { maxAge });
      return typeof value === 'string' && value !== '' ? value : undefined;
    } catch (error) {
      if ((error as { cause?: { name?: string } }).cause?.name === 'ResourceNotFoundException') return undefined;
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  },
  describe: (name) => `Secrets Manager secret ${prefix}${name}`,
});
