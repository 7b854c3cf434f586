import { html, type VNode } from '../html.ts';

/**
 * A USD amount as the CLI prints it: every digit the ledger has, no rounding. Negative amounts
 * carry a real minus sign.
 *
 * @example html`<${Usd} value="-0.0105" />` // <span class="usd">−$0.0105</span>
 */
export const Usd = ({ value }: { value: string }): VNode => {
  const negative = value.startsWith('-');
  return html`<span class="usd">${negative ? '−' : ''}$${negative ? value.slice(1) : value}</span>`;
};

/** Whole numbers with thousands separators (tokens, requests). */
export const count = (value: number): string => value.toLocaleString('en-US');

/** An ISO time as `2026-12-03 09:41:07` (UTC), in a <time> element. */
export const Time = ({ at }: { at: string }): VNode =>
  html`<time datetime=${at}>${at.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')}</time>`;
