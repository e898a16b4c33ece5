import type { TeamInvite } from '../bindings';

/**
 * An invitation to the team server as one line of text the host can paste into a chat
 * or a mail: `baton-invite:` and the invite as base64url JSON. One line survives mail
 * clients and chat apps that reflow text; the prefix says what it is and lets the join
 * form tell it from a stray paste.
 */
export const INVITATION_PREFIX = 'baton-invite:';

/** The same rule the engine applies to member and mailbox ids. */
export const MEMBER_ID = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** A SHA-256 fingerprint: 64 hex digits, with colons or spaces between pairs if wanted. */
export function isFingerprint(text: string): boolean {
  return /^[0-9a-f]{64}$/i.test(text.replace(/[:\s]/g, ''));
}

/** Addresses the engine accepts: wss:// anywhere, plain ws:// only on this computer. */
export function isServerAddress(url: string): boolean {
  if (/[\s\p{Cc}]/u.test(url) || url.length > 512) return false;
  if (/^wss:\/\/[^/]+/i.test(url)) return true;
  return /^ws:\/\/(127\.0\.0\.1|localhost|\[::1\]):/.test(url);
}

/** True when the address only reaches the computer it is used on. */
export function isLoopback(url: string): boolean {
  return /^wss?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:|\/|$)/i.test(url);
}

function toBase64Url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  try {
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

export function formatInvitation(invite: TeamInvite): string {
  // Field by field, so the text never carries more than a TeamInvite.
  const plain: TeamInvite = {
    settings: {
      url: invite.settings.url,
      fingerprint: invite.settings.fingerprint,
      mailbox: invite.settings.mailbox,
    },
    member: invite.member,
    code: invite.code,
  };
  return INVITATION_PREFIX + toBase64Url(JSON.stringify(plain));
}

function asInvite(value: unknown): TeamInvite | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const s = v.settings as Record<string, unknown> | null | undefined;
  if (typeof s !== 'object' || s === null) return null;
  const fingerprint = s.fingerprint ?? null;
  if (
    typeof s.url !== 'string' ||
    (fingerprint !== null && typeof fingerprint !== 'string') ||
    typeof s.mailbox !== 'string' ||
    typeof v.member !== 'string' ||
    typeof v.code !== 'string'
  ) {
    return null;
  }
  return { settings: { url: s.url, fingerprint, mailbox: s.mailbox }, member: v.member, code: v.code };
}

/**
 * Reads an invitation as the host gave it. Tolerates what copying does to text: spaces
 * and line breaks anywhere, quotes or angle brackets around it, text before the prefix
 * ("Here is your invite: baton-invite:…"). Plain JSON of a TeamInvite is accepted too.
 * Null when it is not an invitation.
 */
export function parseInvitation(text: string): TeamInvite | null {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      return asInvite(JSON.parse(trimmed));
    } catch {
      return null;
    }
  }
  const at = trimmed.toLowerCase().indexOf(INVITATION_PREFIX);
  if (at < 0) return null;
  const payload = trimmed
    .slice(at + INVITATION_PREFIX.length)
    .replace(/\s+/g, '')
    .replace(/[>"'`.)\]]+$/, '');
  const json = fromBase64Url(payload);
  if (json === null) return null;
  try {
    return asInvite(JSON.parse(json));
  } catch {
    return null;
  }
}
