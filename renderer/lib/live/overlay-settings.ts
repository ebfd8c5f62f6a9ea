/** How the caption overlay looks; kept in the page's local storage between sessions. */
export interface OverlaySettings {
  readonly fontSizePx: number;
  readonly lines: number;
  /** Of the overlay's background; text stays opaque so it remains readable. */
  readonly opacity: number;
  readonly clickThrough: boolean;
}

export const defaultOverlaySettings: OverlaySettings = { fontSizePx: 28, lines: 2, opacity: 0.75, clickThrough: false };

const storageKey = 'nestcap.overlay';

const clamp = (value: unknown, low: number, high: number, fallback: number) =>
  typeof value === 'number' && Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : fallback;

export function parseOverlaySettings(text: string | null): OverlaySettings {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = text === null ? {} : JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) raw = parsed as Record<string, unknown>;
  } catch {
    raw = {};
  }
  return {
    fontSizePx: Math.round(clamp(raw.fontSizePx, 14, 72, defaultOverlaySettings.fontSizePx)),
    lines: Math.round(clamp(raw.lines, 1, 6, defaultOverlaySettings.lines)),
    opacity: clamp(raw.opacity, 0.2, 1, defaultOverlaySettings.opacity),
    clickThrough: typeof raw.clickThrough === 'boolean' ? raw.clickThrough : defaultOverlaySettings.clickThrough,
  };
}

export function loadOverlaySettings(storage: Storage): OverlaySettings {
  return parseOverlaySettings(storage.getItem(storageKey));
}

export function saveOverlaySettings(storage: Storage, settings: OverlaySettings): void {
  storage.setItem(storageKey, JSON.stringify(settings));
}
