import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';

/**
 * Tagged-template JSX: `html\`<p>${text}</p>\`` builds Preact elements, and rendering escapes every
 * interpolated text and attribute. There is no way to inject markup but `dangerouslySetInnerHTML`,
 * which the console never uses.
 *
 * @example html`<a href=${url}>${name}</a>`
 */
export { html };

/** A page as an HTML document. */
export const renderPage = (page: VNode | VNode[] | string): string => `<!doctype html>${render(page as VNode)}`;

export type { VNode };
