/**
 * Text for a desktop notification. Linux notification daemons read the body as markup
 * (freedesktop's `<b>`, `<i>`, `<a href>`, `<img>`), so a customer's words or a note
 * could bold, link or load an image there; escaped, they show as written. Elsewhere
 * (macOS, Windows) the body is plain text and is passed as it is.
 */
export function desktopBody(text: string, markupBody = isLinux()): string {
  if (!markupBody) return text;
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function isLinux(): boolean {
  return typeof navigator !== 'undefined' && /Linux/.test(navigator.userAgent) && !/Android/.test(navigator.userAgent);
}
