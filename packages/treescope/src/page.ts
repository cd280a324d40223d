/**
 * What every HTML rendering shares: fresh element ids, script nonces, and the complete page around
 * a fragment with a Content-Security-Policy that forbids every request and every other script.
 *
 * @module
 */

import { escapeControls, escapeHTML } from "./escape.js";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** `bytes` random bytes as hex digits (crypto where there is one). */
export function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  const c = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto;
  if (c?.getRandomValues !== undefined) c.getRandomValues(buffer);
  else for (let i = 0; i < buffer.length; i++) buffer[i] = Math.floor(Math.random() * 256);
  return Array.from(buffer, (b) => HEX[b]).join("");
}

/** A fresh element id: `skts-` and 16 hex digits, so renderings never collide. */
export function freshId(): string {
  return `skts-${randomHex(8)}`;
}

/**
 * The Content-Security-Policy of a complete page: nothing may be loaded or sent (`default-src
 * 'none'`), the only script that runs is the page's own (by its nonce), styles are inline only.
 */
function contentSecurityPolicy(nonce: string): string {
  return (
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; ` +
    "base-uri 'none'; form-action 'none'"
  );
}

/**
 * A complete page around a fragment whose one script carries `nonce`.
 *
 * @param fragment the rendering.
 * @param title the page title (escaped here).
 * @param nonce the nonce of the fragment's script.
 */
export function completePage(fragment: string, title: string, nonce: string): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(nonce)}">` +
    `<meta name="viewport" content="width=device-width">` +
    `<title>${escapeHTML(escapeControls(title))}</title></head>` +
    `<body style="margin:12px">${fragment}</body></html>`
  );
}

/**
 * Bytes as base64, through `Buffer` in Node and `btoa` in browsers.
 *
 * @example
 * base64(new Uint8Array([1, 2, 3])); // "AQID"
 */
export function base64(bytes: Uint8Array): string {
  const B = (
    globalThis as {
      Buffer?: { from(b: ArrayBuffer, o: number, n: number): { toString(e: string): string } };
    }
  ).Buffer;
  if (B !== undefined)
    return B.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength).toString(
      "base64",
    );
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 0x8000)));
  }
  return btoa(binary);
}
