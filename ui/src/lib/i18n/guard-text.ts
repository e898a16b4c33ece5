import type { GuardFinding } from '../bindings';
import { locale } from './locale.svelte';

/** One line for a guard finding: who, what and how long ago, in the current language. */
export function findingHeadline(finding: GuardFinding, now = Date.now()): string {
  const g = locale.m.guard;
  switch (finding.kind) {
    case 'colleague_replying':
      return g.colleagueReplying(finding.member);
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
      return null;
  }
}

/** Who the finding is about, for an avatar: a member id, a name, or nobody known. */
export function findingWho(finding: GuardFinding): string | null {
  switch (finding.kind) {
    case 'colleague_replying':
    case 'owned_by_other':
      return finding.member;
    case 'colleague_replied':
      return finding.by || null;
    case 'customer_wrote':
      return finding.from.name || finding.from.address;
  }
}
