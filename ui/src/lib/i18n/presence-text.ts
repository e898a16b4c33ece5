import type { Presence } from '../bindings';
import { locale } from './locale.svelte';

const MINUTE_S = 60;
const HOUR_S = 3600;

/**
 * When a colleague's reply on its way leaves, as a phrase to finish a sentence: “leaves
 * in 8 s”, “leaves in 3 min”, beyond the hour the clock time (“leaves at 14:30”), another
 * day the date. Null once the moment is past or unknown: it is being sent now.
 */
export function leavesPhrase(leavesAt: number | null, now: number): string | null {
  const wait = leavesWait(leavesAt, now);
  if (wait === null) return null;
  const t = locale.m.team;
  if (wait.kind === 'in') return t.leavesIn(wait.text);
  return wait.kind === 'at' ? t.leavesAt(wait.text) : t.leavesOn(wait.text);
}

/** The same, as short as a list row needs it: “8 s”, “3 min”, “14:30”; null while being sent. */
export function leavesShort(leavesAt: number | null, now: number): string | null {
  return leavesWait(leavesAt, now)?.text ?? null;
}

function leavesWait(leavesAt: number | null, now: number): { kind: 'in' | 'at' | 'on'; text: string } | null {
  if (leavesAt === null || leavesAt <= now) return null;
  const d = locale.m.dates;
  // Rounded up, so a countdown never says 0 s while the reply is still waiting.
  const secs = Math.ceil((leavesAt - now) / 1000);
  if (secs < MINUTE_S) return { kind: 'in', text: d.seconds(locale.number(secs)) };
  if (secs < HOUR_S) return { kind: 'in', text: d.minutes(locale.number(Math.max(1, Math.round(secs / MINUTE_S)))) };
  if (locale.sameDay(leavesAt, now)) return { kind: 'at', text: locale.time(leavesAt) };
  return { kind: 'on', text: locale.mediumDate(leavesAt) };
}

/** A countdown that moves: the text changes with the clock. */
export function counts(p: Presence): boolean {
  return p.activity === 'sending' && p.leaves_at !== null;
}

/** What a colleague is doing with a conversation, as one line. */
export function presenceText(p: Presence, now: number): string {
  const t = locale.m.team;
  switch (p.activity) {
    case 'viewing':
      return t.viewing(p.member);
    case 'replying':
      return t.replying(p.member);
    case 'sending': {
      const leaves = leavesPhrase(p.leaves_at, now);
      return leaves === null ? t.sending(p.member) : t.replyLeaves(p.member, leaves);
    }
  }
}
