/**
 * The renderer's Content-Security-Policy, used by every host: the Electron shell and the
 * browser host send it as a header, and the Vite build writes it into the page as a meta tag.
 * No remote origins at all; 'self' also covers the browser host's same-origin WebSocket.
 */
const directives = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
];

/** Only honoured in a header; browsers ignore it (with a console error) in a meta tag. */
const headerOnlyDirectives = ["frame-ancestors 'none'"];

export const rendererContentSecurityPolicy = [...directives, ...headerOnlyDirectives].join('; ');

export const rendererContentSecurityPolicyMeta = directives.join('; ');
