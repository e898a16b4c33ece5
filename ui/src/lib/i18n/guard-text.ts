import type { GuardFinding, OutboxItem } from '../bindings';
import { locale } from './locale.svelte';
import { leavesPhrase } from './presence-text';

/** One line for a guard finding: who, what and how long ago, in the current language. */
export function findingHeadline(finding: GuardFinding, now = Date.now()): string {
  const g = locale.m.guard;
  switch (finding.kind) {
    case 'colleague_replying':
      return g.colleagueReplying(finding.member);
    case 'colleague_sending':
      return g.colleagueSending(finding.member, leavesPhrase(finding.leaves_at, now) ?? locale.m.team.beingSent);
    case 'customer_wrote':
      return g.customerWrote(locale.elapsed(finding.at, now));
    case 'owned_by_other':
      return finding.since !== null
        ? `${g.ownedByOther(finding.member)}, ${g.ownedSince(locale.elapsed(finding.since, now))}`
        : g.ownedByOther(finding.member);
    case 'colleague_replied':
      if (!finding.by) return g.answeredElsewhere;
      return finding.at !== null ? g.colleagueReplied(finding.by, locale.elapsed(finding.at, now)) : g.colleagueRepliedUndated(finding.by);
  }
}

/** A claim seen this long after it was made no longer reads as "at the same moment". */
const SAME_MOMENT_MS = 60_000;

/**
 * The line for a finding that held a message already queued: it happened while the
 * reply waited, so the words say what came first ("Bram’s reply went out 5 s ago").
 */
export function heldHeadline(finding: GuardFinding, now = Date.now()): string {
  const h = locale.m.held;
  switch (finding.kind) {
    case 'colleague_replied':
      return finding.by && finding.at !== null ? h.replied(finding.by, locale.elapsed(finding.at, now)) : findingHeadline(finding, now);
    case 'owned_by_other':
      return finding.since !== null && now - finding.since > SAME_MOMENT_MS
        ? h.tookItAgo(finding.member, locale.elapsed(finding.since, now))
        : h.tookIt(finding.member);
    case 'colleague_sending':
    case 'colleague_replying':
    case 'customer_wrote':
      return findingHeadline(finding, now);
  }
}

/** Which finding says most about why a message was held: a reply given first outweighs the rest. */
const WEIGHT: Record<GuardFinding['kind'], number> = {
  colleague_replied: 0,
  colleague_sending: 1,
  owned_by_other: 2,
  customer_wrote: 3,
  colleague_replying: 4,
};

/** Why a message is held, in a few words ("Bram replied first"), for its row and the notification. */
export function heldReason(findings: readonly GuardFinding[]): string {
  const r = locale.m.held.reason;
  const first = [...findings].sort((a, b) => WEIGHT[a.kind] - WEIGHT[b.kind])[0];
  if (!first) return r.customer;
  switch (first.kind) {
    case 'colleague_replied':
      return first.by ? r.replied(first.by) : r.answeredElsewhere;
    case 'colleague_sending':
      return r.sending(first.member);
    case 'owned_by_other':
      return r.owned(first.member);
    case 'customer_wrote':
      return r.customer;
    case 'colleague_replying':
      return r.replying(first.member);
  }
}

/** The findings a held item is held for; empty for any other item. */
export function heldFindings(item: OutboxItem): GuardFinding[] {
  return item.status.state === 'held' ? item.status.findings : [];
}

/** "Your reply to “…” is held: Bram replied first", for a notice or the desktop. */
export function heldNotice(item: OutboxItem): string {
  const h = locale.m.held;
  const reason = heldReason(heldFindings(item));
  return item.subject ? h.notice(item.subject, reason) : h.noticeNoSubject(reason);
}

/** The start of the mail a finding is about, when there is one. */
export function findingPreview(finding: GuardFinding): string {
  return finding.kind === 'customer_wrote' || finding.kind === 'colleague_replied' ? finding.preview : '';
}

/** When the finding happened, for a tooltip with the full date. */
export function findingTime(finding: GuardFinding): number | null {
  switch (finding.kind) {
    case 'customer_wrote':
      return finding.at;
    case 'colleague_replied':
      return finding.at;
    case 'owned_by_other':
      return finding.since;
    case 'colleague_replying':
    case 'colleague_sending':
      // Sending is about what comes, and says when in its headline.
      return null;
  }
}

/** Who the finding is about, for an avatar: a member id, a name, or nobody known. */
export function findingWho(finding: GuardFinding): string | null {
  switch (finding.kind) {
    case 'colleague_replying':
    case 'colleague_sending':
    case 'owned_by_other':
      return finding.member;
    case 'colleague_replied':
      return finding.by || null;
    case 'customer_wrote':
      return finding.from.name || finding.from.address;
  }
}

/** The headline moves with the clock (a countdown): worth a tick every second. */
export function findingCounts(finding: GuardFinding): boolean {
  return finding.kind === 'colleague_sending' && finding.leaves_at !== null;
}
