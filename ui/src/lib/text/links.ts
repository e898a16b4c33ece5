// Links in mail are untrusted. Everything here works on strings and returns plain data;
// components render it as text nodes and anchors, never as HTML.

export type TextSegment = { kind: 'text'; text: string } | { kind: 'link'; text: string; url: string };

// Deliberately narrow: only http(s) URLs written out in full are turned into links.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`\u00a0\u201c\u201d\u2018\u2019]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'"*_~]+$/;

/** Drops sentence punctuation and an unbalanced closing bracket from the end of a match. */
function trimMatch(candidate: string): string {
  let url = candidate;
  for (;;) {
    const before = url;
    url = url.replace(TRAILING_PUNCTUATION, '');
    for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']] as const) {
      if (url.endsWith(close) && count(url, open) < count(url, close)) url = url.slice(0, -1);
    }
    if (url === before) return url;
  }
}

function count(text: string, char: string): number {
  let n = 0;
  for (const c of text) if (c === char) n++;
  return n;
}

/** Splits text into plain runs and http(s) links, in order; joining all `text` gives the input. */
export function splitLinks(text: string): TextSegment[] {
  const segments: TextSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    const raw = trimMatch(match[0]);
    const url = normaliseUrl(raw);
    if (!url || !isOpenableUrl(url)) continue;
    if (start > last) segments.push({ kind: 'text', text: text.slice(last, start) });
    segments.push({ kind: 'link', text: raw, url });
    last = start + raw.length;
  }
  if (last < text.length) segments.push({ kind: 'text', text: text.slice(last) });
  return segments;
}

function normaliseUrl(raw: string): string | null {
  try {
    return new URL(raw).href;
  } catch {
    return null;
  }
}

/** Only these leave the app, and only after the user confirmed the full address. */
export function isOpenableUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:' || protocol === 'mailto:';
  } catch {
    return false;
  }
}

/** The part people recognise a site by, shown large in the confirmation. */
export function linkHost(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'mailto:' ? parsed.pathname : parsed.hostname;
  } catch {
    return url;
  }
}
