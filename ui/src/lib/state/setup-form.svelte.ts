import type { AccountSettings, RecoveredAccount, Security } from '../bindings';
import type { ServerRef } from '../i18n/en';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';

/** The well-known ports; switching the security moves a port that still has the old default. */
const DEFAULT_PORTS = {
  imap: { tls: 993, start_tls: 143 },
  smtp: { tls: 465, start_tls: 587 },
} as const satisfies Record<'imap' | 'smtp', Record<Security, number>>;

export type FieldName =
  | 'memberId'
  | 'displayName'
  | 'sharedAddress'
  | 'imapHost'
  | 'imapPort'
  | 'smtpHost'
  | 'smtpPort'
  | 'username'
  | 'password'
  | 'extraCaFile';

/** Which message the form shows under a field; the component turns it into words. */
export type FieldError = 'required' | 'memberId' | 'controlChars' | 'address' | 'host' | 'port' | 'tooLong';

// The same rules as the engine's `AccountSettings::validate`, so the user hears about a
// typo before a slow login attempt, not after.
const MEMBER_ID = /^[a-z0-9][a-z0-9._-]{0,31}$/;
const HOST = /^[A-Za-z0-9.\-:[\]]{1,253}$/;
const ADDRESS_LOCAL = /^[!#-'*+\-./0-9=?A-Z^-~]{1,64}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkRequired(value: string): FieldError | null {
  if (value.trim() === '') return 'required';
  return CONTROL.test(value) ? 'controlChars' : null;
}

function checkHost(value: string): FieldError | null {
  const host = value.trim();
  if (host === '') return 'required';
  return HOST.test(host) ? null : 'host';
}

function checkPort(value: string): FieldError | null {
  if (value.trim() === '') return 'required';
  const port = Number(value);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? null : 'port';
}

function checkAddress(value: string): FieldError | null {
  const address = value.trim();
  if (address === '') return 'required';
  const at = address.lastIndexOf('@');
  if (at <= 0) return 'address';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const ok = ADDRESS_LOCAL.test(local) && HOST.test(domain) && domain.includes('.');
  return ok ? null : 'address';
}

export class SetupForm {
  memberId = $state('');
  displayName = $state('');
  sharedAddress = $state('');
  imapHost = $state('');
  imapPort = $state(String(DEFAULT_PORTS.imap.tls));
  imapSecurity = $state<Security>('tls');
  smtpHost = $state('');
  smtpPort = $state(String(DEFAULT_PORTS.smtp.tls));
  smtpSecurity = $state<Security>('tls');
  username = $state('');
  password = $state('');
  extraCaFile = $state('');

  /** Fields the user has left at least once; errors show only for those (or after submit). */
  touched = $state<Partial<Record<FieldName, boolean>>>({});
  attempted = $state(false);
  submitting = $state(false);
  /** What the engine answered to the last attempt. */
  problem = $state<UiProblem | null>(null);
  /** The server the last attempt talked to, so the error can name it. */
  problemServer = $state<ServerRef>(null);

  /** Starts empty, or with what could be read of damaged saved settings. */
  constructor(recovered: RecoveredAccount | null = null) {
    if (!recovered) return;
    this.memberId = recovered.member_id ?? '';
    this.displayName = recovered.display_name ?? '';
    this.sharedAddress = recovered.shared_address ?? '';
    this.imapHost = recovered.imap_host ?? '';
    if (recovered.imap_port) this.imapPort = String(recovered.imap_port);
    this.smtpHost = recovered.smtp_host ?? '';
    if (recovered.smtp_port) this.smtpPort = String(recovered.smtp_port);
    this.username = recovered.username ?? '';
    this.extraCaFile = recovered.extra_ca_file ?? '';
  }

  errors = $derived.by((): Partial<Record<FieldName, FieldError>> => {
    const errors: Partial<Record<FieldName, FieldError | null>> = {
      memberId: this.memberId === '' ? 'required' : MEMBER_ID.test(this.memberId) ? null : 'memberId',
      displayName: checkRequired(this.displayName),
      sharedAddress: checkAddress(this.sharedAddress),
      imapHost: checkHost(this.imapHost),
      imapPort: checkPort(this.imapPort),
      smtpHost: checkHost(this.smtpHost),
      smtpPort: checkPort(this.smtpPort),
      username:
        this.username.length > 256 ? 'tooLong' : this.username === '' ? 'required' : CONTROL.test(this.username) ? 'controlChars' : null,
      password: this.password === '' ? 'required' : null,
      extraCaFile: CONTROL.test(this.extraCaFile) ? 'controlChars' : null,
    };
    return Object.fromEntries(Object.entries(errors).filter(([, e]) => e)) as Partial<Record<FieldName, FieldError>>;
  });

  valid = $derived(Object.keys(this.errors).length === 0);

  /** The error to show for a field right now. */
  visibleError(field: FieldName): FieldError | null {
    if (!this.attempted && !this.touched[field]) return null;
    return this.errors[field] ?? null;
  }

  touch(field: FieldName) {
    this.touched[field] = true;
  }

  setSecurity(server: 'imap' | 'smtp', security: Security) {
    const defaults = DEFAULT_PORTS[server];
    const current = server === 'imap' ? this.imapPort : this.smtpPort;
    const other: Security = security === 'tls' ? 'start_tls' : 'tls';
    const port = current === String(defaults[other]) ? String(defaults[security]) : current;
    if (server === 'imap') {
      this.imapSecurity = security;
      this.imapPort = port;
    } else {
      this.smtpSecurity = security;
      this.smtpPort = port;
    }
  }

  settings(): AccountSettings {
    const extra = this.extraCaFile.trim();
    return {
      member_id: this.memberId,
      display_name: this.displayName.trim(),
      shared_address: this.sharedAddress.trim(),
      imap: { host: this.imapHost.trim(), port: Number(this.imapPort), security: this.imapSecurity },
      smtp: { host: this.smtpHost.trim(), port: Number(this.smtpPort), security: this.smtpSecurity },
      username: this.username,
      extra_ca_file: extra === '' ? null : extra,
    };
  }

  /** Tests the login and saves; resolves true when the account is set up. */
  async submit(): Promise<boolean> {
    this.attempted = true;
    if (!this.valid || this.submitting) return false;
    const settings = this.settings();
    this.submitting = true;
    this.problem = null;
    try {
      await ipc.saveAccount(settings, this.password);
      return true;
    } catch (error) {
      this.problem = toProblem(error);
      // A Problem does not say which server it came from. The login is tested against
      // IMAP first, so that is the endpoint a connection problem names.
      this.problemServer = { host: settings.imap.host, port: settings.imap.port };
      return false;
    } finally {
      this.submitting = false;
    }
  }
}
