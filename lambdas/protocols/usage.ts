/** Reads a token count from an upstream's usage object: a positive finite number, floored; anything else is 0. */
export const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
