/**
 * What the app's web contents may load. The renderer is served from the app's own scheme;
 * everything else (remote pages, file URLs, other schemes) is refused.
 */

export const appScheme = 'app';
export const appHost = 'nestcap';
export const appOrigin = `${appScheme}://${appHost}`;

export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${appScheme}:` && parsed.host === appHost;
  } catch {
    return false;
  }
}

/** Requests the session lets through: the app's own scheme, devtools and in-memory data. */
export function isAllowedRequest(url: string): boolean {
  if (isAppUrl(url)) return true;
  const protocol = url.slice(0, url.indexOf(':') + 1);
  return protocol === 'devtools:' || protocol === 'blob:' || protocol === 'data:';
}

/** Links the user clicks that may open in the system browser instead of inside the app. */
export function isExternalLinkAllowed(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/** Resolves an app:// URL to a file path under the renderer folder, or undefined if it escapes it. */
export function rendererFileFor(url: string, rendererRoot: string, separator: string): string | undefined {
  if (!isAppUrl(url)) return undefined;
  const pathname = decodeURIComponent(new URL(url).pathname);
  const parts = pathname.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.some((part) => part === '..' || part.includes('\\') || part.includes('\0'))) return undefined;
  if (parts.length === 0) parts.push('index.html');
  return [rendererRoot, ...parts].join(separator);
}
