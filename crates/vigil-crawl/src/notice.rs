//! Removal notices: findings grouped per hosting provider (from an operator's IP-range →
//! provider table) and per host, rendered as text from a template and as JSON.
//!
//! The provider table is a CSV file the operator maintains (`cidr,provider,contact`, one range
//! a line, `#` comments; the most specific range containing a finding's IP wins). Findings with
//! no IP (fetched through a proxy, e.g. onion services) or an IP in no range go to the provider
//! `unknown`.
//!
//! [`send_due`] sends the notices that are due ([`due`]: open findings never notified, and with
//! a re-send interval those whose last notice is older) through a [`Channel`] (SMTP or files)
//! and records each in the store, sent or failed with its error; a failed notice does not stop
//! the others and leaves its findings due. A notice for findings notified before is a reminder:
//! its subject and text say which notice it is. Removed findings are never notified again.
//!
//! A provider with no e-mail contact (none in the table, or a web form) cannot be mailed: such
//! a notice is recorded as *uncontactable* once, and not again while its contact and the
//! findings it would cover stay the same (every `--every` pass would otherwise add a row);
//! it is reported on every pass, so the operator adds a contact or sends with an override.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use vigil_store::{Finding, NewSentNotice, NoticeHistory, Store};

use crate::Error;
use crate::smtp::{Channel, SendError};

/// One IP range of the provider table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The network address.
    pub net: IpAddr,
    /// The prefix length.
    pub prefix: u8,
    /// The provider's name.
    pub provider: String,
    /// Where its abuse notices go (an address, a form URL).
    pub contact: String,
}

impl Range {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// The operator's IP-range → provider table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Providers {
    ranges: Vec<Range>,
}

impl Providers {
    /// Parses `cidr,provider,contact` lines (`name` names the input in errors). A first line
    /// starting with `cidr` is a header; blank lines and `#` comments are skipped.
    pub fn parse(text: &str, name: &str) -> Result<Providers, Error> {
        let mut ranges = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || (i == 0 && line.starts_with("cidr")) {
                continue;
            }
            let bad = |why: &str| Error::Settings(format!("{name}:{}: {why}", i + 1));
            let mut cols = line.splitn(3, ',').map(str::trim);
            let cidr = cols.next().unwrap_or("");
            let provider = cols
                .next()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| bad("no provider"))?;
            let contact = cols.next().unwrap_or("");
            let (addr, prefix) = cidr
                .split_once('/')
                .ok_or_else(|| bad("expected ADDRESS/PREFIX"))?;
            let net: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
            let prefix: u8 = prefix.parse().map_err(|_| bad("not a prefix length"))?;
            if prefix > if net.is_ipv4() { 32 } else { 128 } {
                return Err(bad("prefix too long"));
            }
            ranges.push(Range {
                net,
                prefix,
                provider: provider.to_string(),
                contact: contact.to_string(),
            });
        }
        Ok(Providers { ranges })
    }

    /// The most specific range containing `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Range> {
        self.ranges
            .iter()
            .filter(|r| r.contains(ip))
            .max_by_key(|r| r.prefix)
    }
}

/// The findings of one provider, per host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The provider (`unknown` when not found).
    pub provider: String,
    /// Its contact, if known.
    pub contact: String,
    /// Findings per host, hosts in order.
    pub hosts: BTreeMap<String, Vec<Finding>>,
}

impl Notice {
    /// Number of findings.
    pub fn count(&self) -> usize {
        self.hosts.values().map(Vec::len).sum()
    }
}

/// Groups the open findings (not recorded as removed) per provider (by their IP) and host. One
/// entry per URL: several bank items matched by one URL are one item to remove.
pub fn group(findings: &[Finding], providers: &Providers) -> Vec<Notice> {
    let mut by: BTreeMap<(String, String), BTreeMap<String, Vec<Finding>>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.removed_at.is_none()) {
        let range = f
            .finding
            .ip
            .as_deref()
            .and_then(|ip| ip.parse().ok())
            .and_then(|ip| providers.lookup(ip));
        let key = range.map_or(("unknown".to_string(), String::new()), |r| {
            (r.provider.clone(), r.contact.clone())
        });
        let list = by
            .entry(key)
            .or_default()
            .entry(f.finding.host.clone())
            .or_default();
        if !list.iter().any(|x| x.finding.url == f.finding.url) {
            list.push(f.clone());
        }
    }
    by.into_iter()
        .map(|((provider, contact), hosts)| Notice {
            provider,
            contact,
            hosts,
        })
        .collect()
}

/// The default notice template (see [`render_text`] for the placeholders).
pub const DEFAULT_TEMPLATE: &str = "\
To: {contact}
Subject: Removal request: {count} item(s) of known child sexual abuse material on your service

Dear {provider} abuse team,

The following {count} file(s), hosted on your network, match entries in hash lists of known
child sexual abuse material. Please remove them and preserve any related records as your law
requires. No copy of the material accompanies this notice; the hashes identify it.

{items}
This notice was generated by Vigil.
";

/// Renders a notice as text: `{provider}`, `{contact}`, `{count}` and `{items}` (one block per
/// URL: host, URL, page, IP, first seen, SHA-256, MD5, PDQ) are replaced in `template`.
pub fn render_text(notice: &Notice, template: &str) -> String {
    let mut items = String::new();
    for (host, findings) in &notice.hosts {
        items += &format!("Host: {host}\n");
        for f in findings {
            let n = &f.finding;
            items += &format!(
                "  - URL: {}\n    found on: {}\n    IP: {}\n    first seen (ms since epoch): {}\n    SHA-256: {}\n    MD5: {}\n",
                n.url,
                n.page_url.as_deref().unwrap_or("-"),
                n.ip.as_deref().unwrap_or("-"),
                f.found_at,
                hex::encode(n.sha256),
                n.md5,
            );
            if let Some(pdq) = &n.pdq {
                items += &format!("    PDQ: {pdq}\n");
            }
        }
    }
    template
        .replace("{provider}", &notice.provider)
        .replace("{contact}", &notice.contact)
        .replace("{count}", &notice.count().to_string())
        .replace("{items}", &items)
}

/// A notice as JSON: `{provider, contact, count, hosts: [{host, items: [{url, page_url, ip,
/// found_at_ms, sha256, md5, pdq}]}]}`.
pub fn render_json(notice: &Notice) -> serde_json::Value {
    let hosts: Vec<serde_json::Value> = notice
        .hosts
        .iter()
        .map(|(host, findings)| {
            let items: Vec<serde_json::Value> = findings
                .iter()
                .map(|f| {
                    let n = &f.finding;
                    serde_json::json!({
                        "url": n.url,
                        "page_url": n.page_url,
                        "ip": n.ip,
                        "found_at_ms": f.found_at,
                        "sha256": hex::encode(n.sha256),
                        "md5": n.md5,
                        "pdq": n.pdq,
                    })
                })
                .collect();
            serde_json::json!({ "host": host, "items": items })
        })
        .collect();
    serde_json::json!({
        "provider": notice.provider,
        "contact": notice.contact,
        "uncontactable": !has_mail_contact(&notice.contact),
        "count": notice.count(),
        "hosts": hosts,
    })
}

/// Whether a provider's contact is an e-mail address (optionally `mailto:…`); a notice to one
/// without can only be mailed with an override (else it is *uncontactable*).
pub fn has_mail_contact(contact: &str) -> bool {
    let c = contact.trim();
    let c = c.strip_prefix("mailto:").unwrap_or(c);
    !c.is_empty() && crate::smtp::mailbox("contact", c).is_ok()
}

/// The findings due a notice at `now` (ms since the Unix epoch): open (not removed) and either
/// never notified (no notice that went out) or, with `resend_after_ms`, last notified at least
/// that long before `now`.
pub fn due(
    findings: &[Finding],
    history: &HashMap<i64, NoticeHistory>,
    now: i64,
    resend_after_ms: Option<i64>,
) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.removed_at.is_none())
        .filter(|f| match history.get(&f.id) {
            None => true,
            Some(h) if h.sent == 0 => true,
            Some(h) => resend_after_ms
                .is_some_and(|d| h.last_at.is_some_and(|last| now.saturating_sub(last) >= d)),
        })
        .cloned()
        .collect()
}

/// Splits rendered notice text into its subject (a `Subject:` line in a leading block of
/// `Name: value` lines ended by a blank line) and the body after that block. Text with no such
/// block is all body, with no subject.
pub fn split_headers(text: &str) -> (Option<String>, &str) {
    let mut subject = None;
    let mut rest = text;
    loop {
        // Only a whole line (ended by a newline) counts, the blank one included.
        let Some((line, after)) = rest.split_once('\n') else {
            return (None, text);
        };
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            return (subject, after);
        }
        let Some((name, value)) = line.split_once(':') else {
            return (None, text);
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return (None, text);
        }
        if name.eq_ignore_ascii_case("subject") {
            subject = Some(value.trim().to_string());
        }
        if after.is_empty() {
            return (None, text);
        }
        rest = after;
    }
}

/// How [`send_due`] runs.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Only this crawl's findings (default: every crawl's).
    pub crawl: Option<String>,
    /// The text template (see [`render_text`]).
    pub template: String,
    /// Notify again findings still up whose last notice is at least this old (ms); without it,
    /// only findings never notified.
    pub resend_after_ms: Option<i64>,
    /// The time (ms since the Unix epoch) due-ness is judged at and notices are recorded at.
    pub now: i64,
}

/// One notice [`send_due`] sent or tried to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentReport {
    /// The provider.
    pub provider: String,
    /// Where it went (address or file), empty when there was none.
    pub recipient: String,
    /// Which notice of its findings (1 the first, more: a reminder).
    pub sequence: i64,
    /// URLs it listed.
    pub urls: usize,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// It failed because the provider has no e-mail contact.
    pub uncontactable: bool,
    /// Whether it was recorded in the store now (`false`: an uncontactable notice recorded
    /// before, unchanged since).
    pub recorded: bool,
}

/// Sends the notices due (see [`due`]), one per provider, through `channel`, recording each in
/// the store. Returns one entry per notice, failed ones included.
pub async fn send_due(
    store: &Store,
    providers: &Providers,
    channel: &Channel,
    options: &SendOptions,
) -> Result<Vec<SentReport>, Error> {
    let crawl = options.crawl.as_deref();
    let findings = store.crawl_findings(crawl).await?;
    let recorded = store.crawl_notices(crawl).await?;
    let history = vigil_store::notice_history(&recorded);
    let due = due(&findings, &history, options.now, options.resend_after_ms);
    let mut out = Vec::new();
    for (i, notice) in group(&due, providers).into_iter().enumerate() {
        // Every due row of a listed URL is covered (several bank items at one URL).
        let urls: std::collections::BTreeSet<&str> = notice
            .hosts
            .values()
            .flatten()
            .map(|f| f.finding.url.as_str())
            .collect();
        let covered: Vec<i64> = due
            .iter()
            .filter(|f| urls.contains(f.finding.url.as_str()))
            .map(|f| f.id)
            .collect();
        let sequence = 1 + covered
            .iter()
            .filter_map(|id| history.get(id).map(|h| h.sent))
            .max()
            .unwrap_or(0);
        let text = render_text(&notice, &options.template);
        let (subject, body) = split_headers(&text);
        let mut subject = subject.unwrap_or_else(|| {
            format!(
                "Removal request: {} item(s) on your service",
                notice.count()
            )
        });
        let mut body = body.to_string();
        if sequence > 1 {
            subject = format!("Reminder (notice {sequence}): {subject}");
            body = format!(
                "REMINDER: this is notice {sequence} about the items below; they were still \
                 online when last checked.\n\n{body}"
            );
        }
        let mut json = render_json(&notice);
        // Whether the table gives an e-mail contact is for the operator, not the provider.
        if let Some(o) = json.as_object_mut() {
            o.remove("uncontactable");
        }
        json["sequence"] = sequence.into();
        json["reminder"] = (sequence > 1).into();
        let json = serde_json::to_string_pretty(&json).unwrap_or_default();
        let mut uncontactable = false;
        let (recipient, message_id, result) = match channel {
            Channel::Smtp(mailer) => match mailer.recipient(&notice.contact) {
                Ok(to) => {
                    let r = mailer.send(&to, &subject, &body, &json).await;
                    match r {
                        Ok(id) => (to.to_string(), Some(id), Ok(())),
                        Err(e) => (to.to_string(), None, Err(e)),
                    }
                }
                Err(e) => {
                    uncontactable = true;
                    (notice.contact.clone(), None, Err(e))
                }
            },
            Channel::File(dir) => {
                let slug: String = notice
                    .provider
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .take(60)
                    .collect();
                let stem = dir.join(format!("notice-{}-{}-{slug}", options.now, i + 1));
                let txt = stem.with_extension("txt");
                let write = |path: &std::path::Path, content: &str| {
                    std::fs::write(path, content).map_err(|source| SendError::Write {
                        path: path.to_path_buf(),
                        source,
                    })
                };
                let full = format!("Subject: {subject}\nTo: {}\n\n{body}", notice.contact);
                let r =
                    write(&txt, &full).and_then(|()| write(&stem.with_extension("json"), &json));
                (txt.display().to_string(), None, r)
            }
        };
        let error = result.err().map(|e| e.to_string());
        // An uncontactable notice is recorded once while its contact and findings stay the
        // same: the provider's latest uncontactable record says whether it was already.
        let already = uncontactable
            && recorded
                .iter()
                .filter(|n| n.notice.uncontactable && n.notice.provider == notice.provider)
                .max_by_key(|n| (n.notice.sent_at, n.id))
                .is_some_and(|n| {
                    let mut was = n.notice.findings.clone();
                    was.sort_unstable();
                    let mut now = covered.clone();
                    now.sort_unstable();
                    now.dedup();
                    n.notice.contact == notice.contact && was == now
                });
        if let Some(e) = &error {
            if uncontactable {
                tracing::warn!(provider = %notice.provider, recorded_before = already, "notice uncontactable");
            } else {
                tracing::warn!(provider = %notice.provider, error = %e, "notice not sent");
            }
        }
        if already {
            out.push(SentReport {
                provider: notice.provider.clone(),
                recipient,
                sequence,
                urls: urls.len(),
                error,
                uncontactable,
                recorded: false,
            });
            continue;
        }
        store
            .crawl_notice_record(&NewSentNotice {
                crawl: options.crawl.clone(),
                provider: notice.provider.clone(),
                contact: notice.contact.clone(),
                hosts: notice.hosts.keys().cloned().collect(),
                channel: channel.name().to_string(),
                recipient: recipient.clone(),
                subject,
                sequence,
                message_id,
                sent_at: options.now,
                error: error.clone(),
                uncontactable,
                findings: covered,
            })
            .await?;
        out.push(SentReport {
            provider: notice.provider.clone(),
            recipient,
            sequence,
            urls: urls.len(),
            error,
            uncontactable,
            recorded: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::NewFinding;

    fn finding(url: &str, host: &str, ip: Option<&str>, bank: &str) -> Finding {
        Finding {
            id: 0,
            crawl: "c".into(),
            found_at: 1000,
            checked_at: None,
            removed_at: None,
            finding: NewFinding {
                url: url.into(),
                page_url: Some("http://p/".into()),
                host: host.into(),
                ip: ip.map(str::to_string),
                kind: "image".into(),
                sha256: [1; 32],
                md5: "m".into(),
                sha1: "s".into(),
                pdq: None,
                bank: bank.into(),
                content_id: 1,
                signal_kind: "md5".into(),
                distance: 0,
            },
        }
    }

    proptest::proptest! {
        /// What `split_headers` takes off is a block of `Name: value` lines and a blank line,
        /// the body is the rest, and a subject comes from that block (the fuzz target
        /// `notice_template` checks the same on arbitrary bytes).
        #[test]
        fn split_headers_takes_off_only_a_header_block(
            text in "((Subject|To|X-[a-z]{1,3}|[a-z ]{0,6}): ?[a-z{} ]{0,8}\n){0,3}\n?[a-z:\n ]{0,20}"
        ) {
            let (subject, body) = split_headers(&text);
            proptest::prop_assert!(text.ends_with(body));
            let head = &text[..text.len() - body.len()];
            if !head.is_empty() {
                proptest::prop_assert!(head.ends_with("\n\n") || head == "\n");
                for l in head.lines().filter(|l| !l.is_empty()) {
                    proptest::prop_assert!(l.contains(':'), "{:?}", l);
                }
            }
            let has_subject_line = head.lines().any(|l| l.starts_with("Subject:"));
            proptest::prop_assert_eq!(subject.is_some(), has_subject_line);
            if let Some(v) = subject {
                proptest::prop_assert!(!v.contains('\n') && head.contains(v.as_str()));
            }
        }
    }

    #[test]
    fn ranges_and_grouping() {
        let p = Providers::parse(
            "cidr,provider,contact\n# comment\n10.0.0.0/8,BigHost,abuse@big.example\n\
             10.1.0.0/16,SmallHost,abuse@small.example\n2001:db8::/32,V6Host,\n",
            "providers.csv",
        )
        .unwrap();
        let ip = |s: &str| s.parse().unwrap();
        assert_eq!(p.lookup(ip("10.2.3.4")).unwrap().provider, "BigHost");
        assert_eq!(p.lookup(ip("10.1.3.4")).unwrap().provider, "SmallHost");
        assert_eq!(p.lookup(ip("2001:db8::1")).unwrap().provider, "V6Host");
        assert!(p.lookup(ip("11.0.0.1")).is_none());
        assert!(Providers::parse("10.0.0.0/33,x,y", "f").is_err());
        assert!(Providers::parse("10.0.0.0,x,y", "f").is_err());
        assert!(Providers::parse("nonsense/8,x,y", "f").is_err());

        let findings = [
            finding("http://a/1", "a", Some("10.1.0.9"), "b1"),
            finding("http://a/1", "a", Some("10.1.0.9"), "b2"),
            finding("http://b/2", "b", Some("10.9.0.1"), "b1"),
            finding("http://x.onion/3", "x.onion", None, "b1"),
        ];
        let notices = group(&findings, &p);
        let names: Vec<_> = notices
            .iter()
            .map(|n| (n.provider.as_str(), n.count()))
            .collect();
        assert_eq!(names, [("BigHost", 1), ("SmallHost", 1), ("unknown", 1)]);
        let text = render_text(&notices[1], DEFAULT_TEMPLATE);
        assert!(text.starts_with("To: abuse@small.example\n"), "{text}");
        assert!(text.contains("Host: a\n  - URL: http://a/1\n"), "{text}");
        let json = render_json(&notices[1]);
        assert_eq!(json["count"], 1);
        assert_eq!(json["hosts"][0]["items"][0]["url"], "http://a/1");
    }
}
