import { en, type Messages } from './en';
import { nl } from './nl';

export type Language = 'en' | 'nl';
/** What the user picked; `system` follows `navigator.language`. */
export type LanguageChoice = 'system' | Language;

const CATALOGS: Record<Language, Messages> = { en, nl };
const STORAGE_KEY = 'baton.language';

function systemLanguage(): Language {
  const tag = typeof navigator === 'undefined' ? '' : navigator.language || '';
  return tag.toLowerCase().startsWith('nl') ? 'nl' : 'en';
}

function storedChoice(): LanguageChoice {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    if (value === 'en' || value === 'nl' || value === 'system') return value;
  } catch {
    // Storage can be unavailable (private mode, a locked profile); the system language
    // is a fine answer then.
  }
  return 'system';
}

/**
 * The active language and everything derived from it. Components read `locale.m` for
 * strings and the formatters for dates and numbers, so switching language re-renders
 * every text without a reload.
 */
export class Locale {
  choice = $state<LanguageChoice>(storedChoice());
  language = $derived<Language>(this.choice === 'system' ? systemLanguage() : this.choice);
  m = $derived<Messages>(CATALOGS[this.language]);

  /** BCP 47 tag for Intl: Dutch as spoken in the Netherlands, English without a region. */
  tag = $derived(this.language === 'nl' ? 'nl-NL' : 'en');

  #time = $derived(new Intl.DateTimeFormat(this.tag, { hour: 'numeric', minute: '2-digit' }));
  #weekday = $derived(new Intl.DateTimeFormat(this.tag, { weekday: 'short' }));
  #dayMonth = $derived(new Intl.DateTimeFormat(this.tag, { day: 'numeric', month: 'short' }));
  #dayMonthYear = $derived(
    new Intl.DateTimeFormat(this.tag, { day: 'numeric', month: 'short', year: 'numeric' }),
  );
  #full = $derived(new Intl.DateTimeFormat(this.tag, { dateStyle: 'full', timeStyle: 'short' }));
  #medium = $derived(new Intl.DateTimeFormat(this.tag, { dateStyle: 'medium', timeStyle: 'short' }));
  #number = $derived(new Intl.NumberFormat(this.tag));
  #decimal = $derived(new Intl.NumberFormat(this.tag, { maximumFractionDigits: 1 }));

  setChoice(choice: LanguageChoice) {
    this.choice = choice;
    try {
      localStorage.setItem(STORAGE_KEY, choice);
    } catch {
      // Not remembered across restarts, but the switch still applies now.
    }
  }

  number(n: number): string {
    return this.#number.format(n);
  }

  /**
   * A list date that stays short: the time today, "Yesterday", the weekday within a
   * week, day and month this year, and the year only when it differs.
   */
  shortDate(ms: number, now = Date.now()): string {
    const date = new Date(ms);
    const today = new Date(now);
    const startOfToday = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime();
    const day = 24 * 60 * 60 * 1000;
    if (ms >= startOfToday && ms < startOfToday + day) return this.#time.format(date);
    if (ms >= startOfToday - day && ms < startOfToday) return this.m.dates.yesterday;
    if (ms >= startOfToday - 6 * day && ms < startOfToday) return this.#weekday.format(date);
    if (date.getFullYear() === today.getFullYear()) return this.#dayMonth.format(date);
    return this.#dayMonthYear.format(date);
  }

  /** The time of day alone ("14:30", "2:30 PM"). */
  time(ms: number): string {
    return this.#time.format(new Date(ms));
  }

  /** Same calendar day, on this computer's clock. */
  sameDay(a: number, b: number): boolean {
    return new Date(a).toDateString() === new Date(b).toDateString();
  }

  /** Date and time for message headers. */
  mediumDate(ms: number): string {
    return this.#medium.format(new Date(ms));
  }

  /** The longest form, for tooltips. */
  fullDate(ms: number): string {
    return this.#full.format(new Date(ms));
  }

  /** How long ago `ms` was, short: “3 s”, “5 min”, “2 h”, “4 d”; never negative. */
  elapsed(ms: number, now = Date.now()): string {
    const d = this.m.dates;
    const secs = Math.max(0, Math.floor((now - ms) / 1000));
    if (secs < 60) return d.seconds(this.number(secs));
    if (secs < 3600) return d.minutes(this.number(Math.floor(secs / 60)));
    if (secs < 86400) return d.hours(this.number(Math.floor(secs / 3600)));
    return d.days(this.number(Math.floor(secs / 86400)));
  }

  /** 1000-based units, the way file managers on all three systems show sizes today. */
  size(bytes: number): string {
    const s = this.m.sizes;
    if (bytes < 1000) return s.bytes(this.number(bytes));
    if (bytes < 1000 ** 2) return s.kb(this.#decimal.format(bytes / 1000));
    if (bytes < 1000 ** 3) return s.mb(this.#decimal.format(bytes / 1000 ** 2));
    return s.gb(this.#decimal.format(bytes / 1000 ** 3));
  }
}

export const locale = new Locale();
