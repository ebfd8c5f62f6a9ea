import type { ThemeName } from '../../electron/ipc/contract.js';

/**
 * Applies a theme to a document (the main window, or the caption overlay's popup): the styles
 * in renderer/styles/theme.css key off the root element's data-theme attribute.
 */
export function applyTheme(target: Document, theme: ThemeName): void {
  target.documentElement.dataset.theme = theme;
}

/** Gives a popup (the caption overlay) the theme of the window that opened it. */
export function copyTheme(from: Document, to: Document): void {
  const theme = from.documentElement.dataset.theme;
  if (theme !== undefined) to.documentElement.dataset.theme = theme;
}
