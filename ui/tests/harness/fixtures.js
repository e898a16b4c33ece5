// Deterministic fixture data for the mocked engine. Plain ES module with no DOM use, so
// the browser harness serves it and the Node tests import it to compute expectations.

export const SHARED_ADDRESS = 'support@example.com';

export const ACCOUNT = {
  member_id: 'anna',
  display_name: 'Anna de Vries',
  shared_address: SHARED_ADDRESS,
  imap: { host: 'mail.example.com', port: 993, security: 'tls' },
  smtp: { host: 'mail.example.com', port: 465, security: 'tls' },
  username: SHARED_ADDRESS,
  extra_ca_file: null,
};

const NAMES = [
  ['Marieke Bakker', 'marieke@bakkerij-bakker.nl'],
  ['Tom Hendriks', 'tom.hendriks@example.org'],
  ['', 'orders@shop-noord.example'],
  ['Sophie Laurent', 'sophie.laurent@example.fr'],
  ['Jan Visser', 'j.visser@visser-bouw.example'],
  ['Priya Raman', 'priya@raman.example'],
  ['Lotte de Jong', 'lotte.dejong@example.nl'],
  ['Karim El Amrani', 'karim@example.com'],
];

const TOPICS = [
  'Delivery has not arrived yet',
  'Invoice address needs to change',
  'Question about the warranty',
  'Return request for damaged item',
  'Can I change my order?',
  'Bulk discount for our office',
  'Payment failed twice',
];

const PREVIEWS = [
  'Hi, I ordered last week and the tracking page still says the parcel is at the depot. Could you check?',
  'Hello, our company moved last month. Please send future invoices to the new address below.',
  'Good morning, the kettle stopped working after eight months. Is this covered by the warranty?',
  'The box was crushed when it arrived and two of the mugs are broken. Photos attached.',
];

const MINUTE = 60_000;

/** The conversation id for row `index` of `view`. */
export function conversationId(view, index) {
  return `${view}-${index}`;
}

export const VIEW_IDS = ['unassigned', 'mine', 'team', 'waiting', 'done', 'all', 'sent'];

export function parseConversationId(id) {
  const match = /^(unassigned|mine|team|waiting|done|all|sent)-(\d+)$/.exec(id);
  return match ? { view: match[1], index: Number(match[2]) } : null;
}

export function subjectFor(index) {
  return `Order ${100000 + index}: ${TOPICS[index % TOPICS.length]}`;
}

export function customerFor(index) {
  const [name, address] = NAMES[index % NAMES.length];
  return { name, address };
}

export function messageCountFor(index) {
  return 1 + (index % 4);
}

export const ME = 'anna';
/** What the mocked engine's hosted team server looks like from this computer. */
export const HOST_FINGERPRINT =
  '3F:A9:1C:7E:22:B4:90:5D:E1:6A:0F:C3:88:14:7B:D2:49:E6:A5:03:BC:71:2E:9F:D8:56:1A:C4:7F:30:8B:E2';
export const INVITE_CODE = 'K7Q2-MX9P-4TZD';
export const MEMBERS = ['anna', 'bram', 'chris', 'dana'];
/** The Team view is sorted by holder: rows 0–3 are bram's, 4–7 chris's, the rest dana's. */
export function teamOwnerFor(index) {
  return index < 4 ? 'bram' : index < 8 ? 'chris' : 'dana';
}

/** Holder and status as each view's rules give them. */
export function teamStateFor(view, index) {
  switch (view) {
    case 'mine':
      return { owner: ME, status: 'open' };
    case 'team':
      return { owner: teamOwnerFor(index), status: index % 5 === 2 ? 'waiting' : 'open' };
    case 'waiting':
      return { owner: [ME, 'bram', null][index % 3], status: 'waiting' };
    case 'done':
      return { owner: index % 2 === 0 ? ME : 'chris', status: 'done' };
    case 'all':
      return [
        { owner: null, status: 'open' },
        { owner: 'bram', status: 'open' },
        { owner: ME, status: 'waiting' },
        { owner: null, status: 'open' },
        { owner: 'chris', status: 'done' },
        { owner: 'dana', status: 'open' },
      ][index % 6];
    default:
      return { owner: null, status: 'open' };
  }
}

/** The list row for `index`; `now` anchors the dates so the newest row is from a few minutes ago. */
export function summaryFor(view, index, now) {
  return {
    id: conversationId(view, index),
    subject: subjectFor(index),
    customer: customerFor(index),
    latest_at: now - (index * 7 + 3) * MINUTE,
    message_count: messageCountFor(index),
    preview: PREVIEWS[index % PREVIEWS.length],
    has_attachments: index % 3 === 0,
    awaiting_reply: index % 2 === 0,
    ...teamStateFor(view, index),
    has_notes: index % 7 === 3,
  };
}

export function page(view, total, offset, limit, now) {
  const rows = [];
  for (let i = offset; i < Math.min(total, offset + limit); i++) rows.push(summaryFor(view, i, now));
  return { view, total, offset, rows };
}

const TEAM = { name: 'Support (Anna)', address: SHARED_ADDRESS };

/** uid = index * 10 + position, so a body request tells which message it is for. */
export function detailFor(view, index, now) {
  const count = messageCountFor(index);
  const customer = customerFor(index);
  const latest = now - (index * 7 + 3) * MINUTE;
  const messages = [];
  for (let k = 0; k < count; k++) {
    // Alternate customer and team, ending with the customer (awaiting reply).
    const fromTeam = (count - 1 - k) % 2 === 1;
    messages.push({
      key: { folder: fromTeam ? 'Sent' : 'INBOX', uid_validity: 7, uid: index * 10 + k },
      role: fromTeam ? 'sent' : 'inbox',
      from_team: fromTeam,
      from: fromTeam ? TEAM : customer,
      to: fromTeam ? [customer] : [{ name: 'Support', address: SHARED_ADDRESS }],
      cc: k === 0 && index % 5 === 0 ? [{ name: 'Finance', address: 'finance@example.com' }] : [],
      subject: k === 0 ? subjectFor(index) : `Re: ${subjectFor(index)}`,
      date: latest - (count - 1 - k) * 95 * MINUTE,
      size: 4200 + k * 310,
      preview: k % 2 === 0 ? PREVIEWS[(index + k) % PREVIEWS.length] : 'Thanks for your message, we are looking into it.',
      answered: !fromTeam && k < count - 1,
      flagged: false,
      problem: null,
    });
  }
  const { owner, status } = teamStateFor(view, index);
  return {
    id: conversationId(view, index),
    subject: subjectFor(index),
    messages,
    owner,
    status,
    held_since: owner === null ? null : latest - 30 * MINUTE,
  };
}

export function keyParts(key) {
  return { index: Math.floor(key.uid / 10), position: key.uid % 10 };
}

/** Text that exercises body, nested quotes, a signature and a link. */
export function plainTextFor(index, position) {
  return [
    {
      kind: 'body',
      depth: 0,
      text:
        `Hello,\n\nThis is message ${position + 1} about order ${100000 + index}. ` +
        'The tracking page is https://track.example.com/parcel/AB-123?lang=en (see there).\n' +
        'Manual (https://docs.example.com/kettle_(v2)), not www.example.com, nor javascript:alert(1).\n' +
        'A very long line follows to check wrapping: ' +
        'lorem-ipsum-dolor-sit-amet-consectetur-adipiscing-elit-sed-do-eiusmod-tempor-incididunt-ut-labore-et-dolore-magna-aliqua.\n\nKind regards,',
    },
    { kind: 'quote', depth: 1, text: 'On Monday, Support wrote:\nWe shipped your order today.' },
    { kind: 'quote', depth: 2, text: 'On Sunday, you wrote:\nWhere is my order?' },
    { kind: 'signature', depth: 0, text: '-- \nMarieke Bakker\nBakkerij Bakker · 020 123 4567' },
  ];
}

const PIXEL = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/**
 * A friendly newsletter-style HTML part with a remote image, before and after "Load
 * images". The "remote" image is served by the test server itself: tests never reach
 * past loopback.
 */
export function friendlyHtml(allowImages, imageOrigin) {
  const img = allowImages ? `${imageOrigin}/__harness__/remote-banner.svg` : PIXEL;
  return `<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data: ${allowImages ? imageOrigin : ''}">
<style>body{font-family:system-ui,sans-serif;font-size:14px;line-height:1.5;color:#222;margin:0;padding:4px 2px}
.card{border:1px solid #e3e3e3;border-radius:8px;padding:12px 16px;max-width:560px}h3{margin:0 0 8px;color:#3b5b2b}</style></head>
<body><div class="card"><h3>Your order is on its way</h3>
<img src="${img}" alt="Banner" width="240" height="60" style="display:block;background:#eef3ea">
<p>Dear customer, parcel <b>AB-123</b> left our warehouse. Follow it on
<a id="track" href="https://track.example.com/parcel/AB-123">the tracking page</a>.</p>
<p>Questions? Just reply to this e-mail.</p></div></body></html>`;
}

/**
 * Hostile HTML, deliberately NOT sanitized: the test proves the sandbox alone stops it.
 * Every payload sets `__pwned` on its own window or on the parent. Anything that could
 * be fetched points at a closed loopback port.
 */
export const HOSTILE_HTML = `<!doctype html><html><head>
<meta http-equiv="refresh" content="0;url=javascript:parent.__pwned='meta-js'">
<meta http-equiv="refresh" content="1;url=http://127.0.0.1:9/refresh">
<script>window.__pwned='script'; parent.__pwned='script'; alert('script');</script>
</head>
<body onload="parent.__pwned='onload'; alert('onload')">
<h3 id="hostile-title">Totally normal invoice</h3>
<img src="x" onerror="parent.__pwned='onerror'; alert('onerror')">
<svg><script>parent.__pwned='svg'</script></svg>
<a id="js-link" href="javascript:parent.__pwned='js-link';alert('js-link')">Click for your invoice</a>
<a id="evil-link" href="https://evil.example/login?next=%2Fsteal&amp;token=abc">https://bank.example/login</a>
<div id="hover" onmouseover="parent.__pwned='mouseover'" onclick="parent.__pwned='onclick'">Hover or click me</div>
<iframe id="inner" srcdoc="&lt;script&gt;parent.parent.__pwned='inner-frame'&lt;/script&gt;"></iframe>
<iframe src="javascript:parent.__pwned='iframe-js'"></iframe>
<form action="http://127.0.0.1:9/collect"><input id="frame-input" name="q" value=""><button id="frame-submit">Go</button></form>
<object data="javascript:parent.__pwned='object'"></object>
</body></html>`;

/** The team's templates: two canned replies and the mailbox's shared signature. */
export const TEMPLATES = [
  {
    id: 'tpl-tracking',
    kind: 'canned_reply',
    name: 'Where is my parcel',
    body: 'Hi {customer_first},\n\nYour parcel is on its way; the tracking link follows in a separate mail.\n\n{me}',
  },
  {
    id: 'tpl-refund',
    kind: 'canned_reply',
    name: 'Refund approved',
    body: 'Dear {customer},\n\nWe approved your refund for “{subject}”. It reaches your account within five working days.',
  },
  { id: 'tpl-signature', kind: 'mailbox_signature', name: 'Signature', body: 'Acme Support · +31 20 123 4567' },
];
