import type { TeamInvite, TeamServerSettings } from '../bindings';
import { locale } from '../i18n/locale.svelte';
import { ipc } from '../ipc';
import { toProblem, type UiProblem } from '../problem';
import { formatInvitation, isFingerprint, isServerAddress, MEMBER_ID, parseInvitation } from '../text/invitation';
import type { Notices } from './notices.svelte';
import type { TeamState } from './team.svelte';

/** What this computer does with a team server. */
export type TeamServerMode = 'none' | 'hosting' | 'joined';

/** The command on its way; the dialog shows it and holds its buttons meanwhile. */
export type TeamServerTask = 'hosting' | 'stopping' | 'inviting' | 'joining' | 'leaving';

export type TeamServerField = 'port' | 'inviteMember' | 'shareAddress' | 'url' | 'fingerprint' | 'mailbox' | 'member' | 'code';
export type TeamServerFieldError = 'required' | 'memberId' | 'port' | 'address' | 'fingerprint';

export const DEFAULT_TEAM_PORT = 7467;

type Form = 'host' | 'invite' | 'join';

const FORM_FIELDS: Record<Form, TeamServerField[]> = {
  host: ['port'],
  invite: ['inviteMember', 'shareAddress'],
  join: ['url', 'fingerprint', 'mailbox', 'member', 'code'],
};

function checkMemberId(value: string): TeamServerFieldError | null {
  if (value === '') return 'required';
  return MEMBER_ID.test(value) ? null : 'memberId';
}

/**
 * The team server dialog: host it here, invite colleagues, join a colleague's, or leave.
 *
 * The engine does not say whether this computer hosts: its overview only tells whether
 * a team server is configured and how the link to it is. So `hosted` is what
 * host_team_server answered in this session; after a restart of the app a computer that
 * still hosts shows as joined (and can leave the server, not stop it) until the engine
 * reports hosting itself.
 */
export class TeamServerSetup {
  open = $state(false);
  hosted = $state.raw<TeamServerSettings | null>(null);
  task = $state<TeamServerTask | null>(null);
  /** What the engine answered to the last command, with which command it was. */
  problem = $state<UiProblem | null>(null);
  problemTask = $state<TeamServerTask | null>(null);

  /** Before anything is set up: which of the two ways the user looks at. */
  choice = $state<'host' | 'join'>('host');

  port = $state(String(DEFAULT_TEAM_PORT));
  openToNetwork = $state(true);

  inviteMember = $state('');
  /** The address written into invitations; the host may put a reachable name in. */
  shareAddress = $state('');
  invite = $state.raw<TeamInvite | null>(null);

  invitationText = $state('');
  url = $state('');
  fingerprint = $state('');
  mailbox = $state('');
  member = $state('');
  code = $state('');

  #attempted = $state<Record<Form, boolean>>({ host: false, invite: false, join: false });
  #team: TeamState;
  #notices: Notices;

  constructor(team: TeamState, notices: Notices) {
    this.#team = team;
    this.#notices = notices;
  }

  mode = $derived.by((): TeamServerMode => {
    if (this.hosted) return 'hosting';
    const server = this.#team.overview?.server;
    return server && server.state !== 'not_configured' ? 'joined' : 'none';
  });

  /** The pasted invitation, when the paste box holds one. */
  parsedInvitation = $derived(parseInvitation(this.invitationText));

  /** The text a colleague pastes, with the address the host wants them to use. */
  invitation = $derived.by((): string | null => {
    if (!this.invite) return null;
    const url = this.shareAddress.trim() || this.invite.settings.url;
    return formatInvitation({ ...this.invite, settings: { ...this.invite.settings, url } });
  });

  errors = $derived.by((): Partial<Record<TeamServerField, TeamServerFieldError>> => {
    const port = Number(this.port);
    const fingerprint = this.fingerprint.trim();
    const share = this.shareAddress.trim();
    const all: Record<TeamServerField, TeamServerFieldError | null> = {
      port: this.port.trim() === '' ? 'required' : /^\d+$/.test(this.port.trim()) && port >= 1 && port <= 65535 ? null : 'port',
      inviteMember: checkMemberId(this.inviteMember.trim()),
      shareAddress: share === '' || isServerAddress(share) ? null : 'address',
      url: this.url.trim() === '' ? 'required' : isServerAddress(this.url.trim()) ? null : 'address',
      fingerprint: fingerprint === '' || isFingerprint(fingerprint) ? null : 'fingerprint',
      mailbox: checkMemberId(this.mailbox.trim()),
      member: checkMemberId(this.member.trim()),
      code: this.code.trim() === '' ? 'required' : null,
    };
    return Object.fromEntries(Object.entries(all).filter(([, e]) => e)) as Partial<
      Record<TeamServerField, TeamServerFieldError>
    >;
  });

  /** Errors show once their form was submitted, so nobody is scolded while typing. */
  visibleError(field: TeamServerField): TeamServerFieldError | null {
    const form = (Object.keys(FORM_FIELDS) as Form[]).find((f) => FORM_FIELDS[f].includes(field));
    if (!form || !this.#attempted[form]) return null;
    return this.errors[field] ?? null;
  }

  /** The visible error in the member's words, for the field's Field. */
  errorText(field: TeamServerField): string | null {
    const error = this.visibleError(field);
    return error ? locale.m.teamServer.invalid[error] : null;
  }

  #validFor(form: Form): boolean {
    this.#attempted[form] = true;
    return FORM_FIELDS[form].every((field) => !this.errors[field]);
  }

  show() {
    if (this.member === '') this.member = this.#team.me ?? '';
    this.open = true;
  }

  close() {
    this.open = false;
  }

  /** The paste box changed: a readable invitation fills the fields below it. */
  setInvitationText(text: string) {
    this.invitationText = text;
    const invite = parseInvitation(text);
    if (!invite) return;
    this.url = invite.settings.url;
    this.fingerprint = invite.settings.fingerprint ?? '';
    this.mailbox = invite.settings.mailbox;
    this.member = invite.member;
    this.code = invite.code;
  }

  async host() {
    if (!this.#validFor('host')) return;
    const host = { port: Number(this.port.trim()), open_to_network: this.openToNetwork };
    await this.#run('hosting', async () => {
      const settings = await ipc.hostTeamServer(host);
      this.hosted = settings;
      this.shareAddress = settings.url;
      this.invite = null;
      await this.#team.load();
      this.#notices.show(locale.m.teamServer.notices.hosted);
    });
  }

  async stopHosting() {
    await this.#run('stopping', async () => {
      await ipc.stopHosting();
      await this.#team.load();
      this.hosted = null;
      this.invite = null;
      this.#attempted.invite = false;
      this.#notices.show(locale.m.teamServer.notices.stopped);
    });
  }

  async inviteColleague() {
    if (!this.#validFor('invite')) return;
    this.invite = null;
    await this.#run('inviting', async () => {
      this.invite = await ipc.inviteColleague(this.inviteMember.trim());
    });
  }

  /** The invite as the engine wants it, from the fields (filled by hand or from a paste). */
  joinInvite(): TeamInvite {
    const fingerprint = this.fingerprint.trim();
    return {
      settings: { url: this.url.trim(), fingerprint: fingerprint === '' ? null : fingerprint, mailbox: this.mailbox.trim() },
      member: this.member.trim(),
      code: this.code.trim(),
    };
  }

  async join() {
    if (!this.#validFor('join')) return;
    const invite = this.joinInvite();
    await this.#run('joining', async () => {
      await ipc.joinTeamServer(invite);
      await this.#team.load();
      // The code is spent; nothing of it should stay in the form.
      this.invitationText = '';
      this.code = '';
      this.#attempted.join = false;
      this.#notices.show(locale.m.teamServer.notices.joined);
    });
  }

  async leave() {
    await this.#run('leaving', async () => {
      await ipc.leaveTeamServer();
      await this.#team.load();
      this.#notices.show(locale.m.teamServer.notices.left);
    });
  }

  async #run(task: TeamServerTask, work: () => Promise<void>) {
    if (this.task !== null) return;
    this.task = task;
    this.problem = null;
    this.problemTask = null;
    try {
      await work();
    } catch (error) {
      this.problem = toProblem(error);
      this.problemTask = task;
    } finally {
      this.task = null;
    }
  }
}
