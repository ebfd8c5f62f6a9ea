/**
 * Remembered window position and size, kept apart from Electron so it is testable in plain
 * Node: parsing tolerates a missing or corrupt file, and a window that would open off every
 * connected display (a monitor was unplugged) is moved back onto the primary one.
 */

export interface Rectangle {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface WindowState {
  readonly bounds: Rectangle;
  readonly maximized: boolean;
}

export const minimumWindowSize = { width: 720, height: 480 } as const;

export function defaultWindowState(primaryWorkArea: Rectangle): WindowState {
  const width = Math.min(1280, primaryWorkArea.width);
  const height = Math.min(820, primaryWorkArea.height);
  return {
    bounds: {
      x: primaryWorkArea.x + Math.round((primaryWorkArea.width - width) / 2),
      y: primaryWorkArea.y + Math.round((primaryWorkArea.height - height) / 2),
      width,
      height,
    },
    maximized: false,
  };
}

export function parseWindowState(text: string | undefined): WindowState | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as { bounds?: Partial<Record<keyof Rectangle, unknown>>; maximized?: unknown };
    const { bounds } = value;
    if (bounds === undefined) return undefined;
    const numbers = [bounds.x, bounds.y, bounds.width, bounds.height];
    if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) return undefined;
    const [x, y, width, height] = numbers as number[];
    return {
      bounds: { x: x!, y: y!, width: Math.max(width!, minimumWindowSize.width), height: Math.max(height!, minimumWindowSize.height) },
      maximized: value.maximized === true,
    };
  } catch {
    return undefined;
  }
}

/** Keeps the saved state if enough of the title bar is on some display; otherwise starts fresh. */
export function fitToDisplays(
  saved: WindowState | undefined,
  displayWorkAreas: readonly Rectangle[],
  primaryWorkArea: Rectangle,
): WindowState {
  if (saved === undefined) return defaultWindowState(primaryWorkArea);
  const titleBar: Rectangle = { x: saved.bounds.x, y: saved.bounds.y, width: saved.bounds.width, height: 32 };
  const visible = displayWorkAreas.some((area) => overlapArea(titleBar, area) >= 64 * 32);
  return visible ? saved : { ...defaultWindowState(primaryWorkArea), maximized: saved.maximized };
}

function overlapArea(a: Rectangle, b: Rectangle): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}
