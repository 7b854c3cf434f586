import type { Route } from '../route.ts';

/** The Models page (to come). */
export const MODELS_ROUTES: readonly Route[] = [];
