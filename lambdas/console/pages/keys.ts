import type { Route } from '../route.ts';

/** The API Keys page (to come). */
export const KEYS_ROUTES: readonly Route[] = [];
