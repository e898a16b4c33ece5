// Reply and forward prefixes in the languages our users' customers write in.
const PREFIXES = /^(?:\s*(?:re|fw|fwd|aw|wg|antw|doorst|sv|vs|tr|rif|r)\s*(?:\[\d+\])?\s*:\s*)+/i;

/** The subject without "Re:"/"Fwd:" chains, for comparing a message with its conversation. */
export function baseSubject(subject: string): string {
  return subject.replace(PREFIXES, '').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A message's subject is worth showing when it says something the conversation's does not. */
export function subjectDiffers(message: string, conversation: string): boolean {
  return baseSubject(message) !== baseSubject(conversation);
}
