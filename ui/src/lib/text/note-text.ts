// Internal notes are written by colleagues but still untrusted text (a pasted customer
// line can carry anything). Like links.ts this returns plain data; the component turns
// it into text nodes, <strong>, <em> and anchors — never HTML.

import { isOpenableUrl, splitLinks } from './links';

export type NoteSegment =
  | { kind: 'text' | 'bold' | 'italic'; text: string }
  | { kind: 'mention'; text: string; member: string }
  | { kind: 'link'; text: string; url: string };

// Written-out mailto: addresses; http(s) comes from splitLinks, shared with mail text.
const MAILTO = /\bmailto:[^\s<>"'`()[\]]+[^\s<>"'`()[\].,;:!?]/gi;
// `*bold*` and `_italic_` within one line, starting and ending on a non-space, and `_`
// only between word boundaries so snake_case_names stay as they are.
const EMPHASIS = /\*(?=\S)([^*\n]*?\S)\*|(?<![\p{L}\p{N}_])_(?=\S)([^_\n]*?\S)_(?![\p{L}\p{N}_])/gu;
const MENTION = /(?<![\p{L}\p{N}._@-])@([a-z0-9][a-z0-9._-]{0,31})/gu;

/** The note split into runs, in order; joining every run's `text` gives back the input minus the emphasis marks. */
export function noteSegments(text: string, members: readonly string[] = []): NoteSegment[] {
  const known = new Set(members);
  const result: NoteSegment[] = [];
  for (const piece of splitLinks(text)) {
    if (piece.kind === 'link') result.push(piece);
    else for (const part of splitMailto(piece.text)) {
      if (part.kind === 'link') result.push(part);
      else result.push(...emphasis(part.text, known));
    }
  }
  return result;
}

function splitMailto(text: string): NoteSegment[] {
  const out: NoteSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(MAILTO)) {
    const start = match.index ?? 0;
    if (!isOpenableUrl(match[0])) continue;
    if (start > last) out.push({ kind: 'text', text: text.slice(last, start) });
    out.push({ kind: 'link', text: match[0], url: match[0] });
    last = start + match[0].length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

function emphasis(text: string, members: ReadonlySet<string>): NoteSegment[] {
  const out: NoteSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(EMPHASIS)) {
    const start = match.index ?? 0;
    if (start > last) out.push(...mentions(text.slice(last, start), members));
    out.push(match[1] !== undefined ? { kind: 'bold', text: match[1] } : { kind: 'italic', text: match[2] });
    last = start + match[0].length;
  }
  if (last < text.length) out.push(...mentions(text.slice(last), members));
  return out;
}

/** `@bram` stands out only when bram is on the team; anything else stays text. */
function mentions(text: string, members: ReadonlySet<string>): NoteSegment[] {
  const out: NoteSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const member = match[1].replace(/[._-]+$/, '');
    if (!members.has(member)) continue;
    const start = match.index ?? 0;
    if (start > last) out.push({ kind: 'text', text: text.slice(last, start) });
    out.push({ kind: 'mention', text: `@${member}`, member });
    last = start + member.length + 1;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

/** The `@query` being typed just before the caret, if any: what the autocomplete completes. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const match = /(?:^|[\s(])@([a-z0-9._-]{0,32})$/i.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - match[1].length - 1, query: match[1].toLowerCase() };
}
