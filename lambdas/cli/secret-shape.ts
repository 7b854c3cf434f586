import { isCredentialName } from '../vocabulary.ts';

/** Prefixes of well-known API keys and tokens, longest first. */
const SECRET_PREFIXES = [
  'sk-ant-',
  'sk-proj-',
  'sk-or-',
  'sk-',
  'gsk_',
  'xai-',
  'hf_',
  'ghp_',
  'github_pat_',
  'AIza',
  'whsec_',
  'rk_live_',
  'Bearer ',
] as const;

/** An AWS access key id. */
const AWS_ACCESS_KEY_ID = /^(?:AKIA|ASIA)[A-Z0-9]{16}$/;

/** Bits per character of the text's own character distribution. */
const entropy = (text: string): number => {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
};

/**
 * Why a value given where a NAME belongs (a credential name, a key id) looks like a secret itself,
 * or undefined when it does not. The reason never contains the value, only a well-known prefix.
 *
 * @example secretShape('sk-abc123') // "starts with 'sk-'"; secretShape('GROQ_API_KEY') // undefined
 */
export const secretShape = (value: string): string | undefined => {
  const text = value.trim();
  if (AWS_ACCESS_KEY_ID.test(text)) return "has the shape of an AWS access key id ('AKIA…')";
  const prefix = SECRET_PREFIXES.find((candidate) => text.startsWith(candidate));
  if (prefix) return `starts with '${prefix.trim()}'`;
  if (isCredentialName(text)) return undefined;
  // ARNs and names split into short words at these; a key is one long random run (base64 keeps '/').
  const run = text.split(/[-_:.]/).reduce((longest, part) => (part.length > longest.length ? part : longest), '');
  if (run.length < 20) return undefined;
  if (/[0-9]/.test(run) && /[a-z]/.test(run)) return 'is long and mixes letters and digits';
  if (/[a-z]/.test(run) && /[A-Z]/.test(run) && entropy(run) >= 4) return 'is long and random-looking';
  return undefined;
};

/** What `routes list` shows instead of a stored value that looks like a secret, not a name. */
export const maskedSecret = (value: string): string =>
  `[not shown: ${value.length} characters that look like a secret, not a variable name]`;
