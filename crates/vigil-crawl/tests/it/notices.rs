//! Removal notices sent by SMTP to a real SMTP peer on 127.0.0.1 (`vigil_testkit::smtp`):
//! the recipient, subject and exactly the open findings' URLs; each send recorded (a refused
//! one with its error, the others still sent); reminders only after the re-send interval and
//! never for removed findings, judged at times the test sets; files for the file channel.

use std::time::Duration;

use vigil_crawl::notice::{DEFAULT_TEMPLATE, Providers, SendOptions, send_due, split_headers};
use vigil_crawl::smtp::{Channel, Mailer};
use vigil_store::{Completion, NewFinding, NewFrontierEntry, Store};
use vigil_testkit::smtp::{Received, Sink, TlsMode};

const DAY: i64 = 86_400_000;

fn finding(url: &str, ip: &str, bank: &str) -> NewFinding {
    NewFinding {
        url: url.into(),
        page_url: Some("http://a.test/".into()),
        host: url.split('/').nth(2).unwrap().into(),
        ip: Some(ip.into()),
        kind: "image".into(),
        sha256: [5; 32],
        md5: "0".repeat(32),
        sha1: "1".repeat(40),
        pdq: None,
        bank: bank.into(),
        content_id: 1,
        signal_kind: "md5".into(),
        distance: 0,
    }
}

async fn store_with(findings: Vec<NewFinding>) -> Store {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let (c, _) = store.crawl_open("c", "{}").await.unwrap();
    store
        .crawl_push(
            c.id,
            &[NewFrontierEntry {
                url: "http://a.test/".into(),
                host: "a.test".into(),
                depth: 0,
                parent_url: None,
                media: false,
            }],
        )
        .await
        .unwrap();
    let e = store.crawl_take(c.id, 1).await.unwrap();
    store
        .crawl_complete(
            c.id,
            e[0].id,
            &Completion {
                kind: "page".into(),
                findings,
                ..Completion::default()
            },
        )
        .await
        .unwrap();
    store
}

/// The text part of a message (sent as 7bit: ASCII, short lines).
fn text_part(m: &Received) -> String {
    let start = m
        .data
        .find("Content-Type: text/plain")
        .expect("a text part");
    let part = &m.data[start..];
    let body = &part[part.find("\r\n\r\n").unwrap() + 4..];
    body[..body.find("\r\n--").unwrap()].replace("\r\n", "\n")
}

fn listed_urls(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- URL: "))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn providers() -> Providers {
    Providers::parse(
        "cidr,provider,contact\n127.0.0.0/8,Loopback Hosting,abuse@loopback.example\n\
         10.0.0.0/8,Refusing Hosting,reject@refusing.example\n",
        "providers.csv",
    )
    .unwrap()
}

#[tokio::test]
async fn notices_go_by_smtp_are_recorded_and_reminders_follow() {
    let sink = Sink::start();
    let store = store_with(vec![
        finding("http://a.test/1.jpg", "127.0.0.1", "known"),
        // The same URL matched a second bank item: listed once.
        finding("http://a.test/1.jpg", "127.0.0.1", "other"),
        finding("http://a.test/2.jpg", "127.0.0.1", "known"),
        finding("http://b.test/3.jpg", "127.0.0.2", "known"),
        finding("http://a.test/gone.jpg", "127.0.0.1", "known"),
        finding("http://r.test/4.jpg", "10.1.2.3", "known"),
    ])
    .await;
    store
        .crawl_recheck("http://a.test/gone.jpg", true)
        .await
        .unwrap();
    let mailer = Mailer::new(
        &sink.url(),
        "Hotline <reports@hotline.example>",
        None,
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    let channel = Channel::Smtp(Box::new(mailer));
    let t0 = 1_800_000_000_000;
    let opts = |now: i64, resend: Option<i64>| SendOptions {
        crawl: Some("c".into()),
        template: DEFAULT_TEMPLATE.to_string(),
        resend_after_ms: resend,
        now,
    };

    let sent = send_due(&store, &providers(), &channel, &opts(t0, Some(7 * DAY)))
        .await
        .unwrap();
    // Two providers: Loopback Hosting mailed, Refusing Hosting's recipient refused (550),
    // recorded with its error; the refusal did not stop the other.
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].provider, "Loopback Hosting");
    assert_eq!(sent[0].error, None);
    assert_eq!((sent[0].sequence, sent[0].urls), (1, 3));
    assert_eq!(sent[1].provider, "Refusing Hosting");
    let err = sent[1].error.as_deref().unwrap();
    assert!(err.contains("550"), "{err}");

    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.rcpt_to, ["abuse@loopback.example"]);
    assert_eq!(m.mail_from, "reports@hotline.example");
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("Removal request: 3 item(s) of known child sexual abuse material on your service")
    );
    assert_eq!(m.header("To").as_deref(), Some("abuse@loopback.example"));
    let text = text_part(m);
    assert!(
        text.starts_with("Dear Loopback Hosting abuse team,"),
        "{text}"
    );
    // Exactly the open findings' URLs of this provider: not the removed one, not the other
    // provider's.
    assert_eq!(
        listed_urls(&text),
        [
            "http://a.test/1.jpg",
            "http://a.test/2.jpg",
            "http://b.test/3.jpg"
        ]
    );
    assert!(m.data.contains("filename=\"notice.json\""), "{}", m.data);
    // The whole dialogue, and the refused recipient's: no DATA after the 550.
    let sessions = sink.sessions();
    assert_eq!(sessions[0], ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]);
    assert_eq!(sessions[1], ["EHLO", "MAIL", "RCPT", "QUIT"]);

    let recorded = store.crawl_notices(Some("c")).await.unwrap();
    assert_eq!(recorded.len(), 2);
    let n = &recorded[0].notice;
    assert_eq!(n.channel, "smtp");
    assert_eq!(n.recipient, "abuse@loopback.example");
    assert_eq!(n.hosts, ["a.test", "b.test"]);
    assert_eq!(n.sent_at, t0);
    assert_eq!(n.findings.len(), 4, "both rows of 1.jpg, 2.jpg, 3.jpg");
    assert_eq!(m.header("Message-ID"), n.message_id);
    assert!(recorded[1].notice.error.as_deref().unwrap().contains("550"));

    // Six days on: nothing due for Loopback Hosting; the refused notice is due again at once.
    let sent = send_due(
        &store,
        &providers(),
        &channel,
        &opts(t0 + 6 * DAY, Some(7 * DAY)),
    )
    .await
    .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].provider.as_str(), sent[0].sequence),
        ("Refusing Hosting", 1)
    );
    assert_eq!(sink.messages().len(), 1);

    // 2.jpg is taken down; eight days on, a reminder for what is still up.
    store
        .crawl_recheck("http://a.test/2.jpg", true)
        .await
        .unwrap();
    let sent = send_due(
        &store,
        &providers(),
        &channel,
        &opts(t0 + 8 * DAY, Some(7 * DAY)),
    )
    .await
    .unwrap();
    assert_eq!(sent[0].sequence, 2);
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 2);
    let m = &msgs[1];
    assert_eq!(
        m.header("Subject").as_deref(),
        Some(
            "Reminder (notice 2): Removal request: 2 item(s) of known child sexual abuse \
             material on your service"
        )
    );
    let text = text_part(m);
    assert!(text.starts_with("REMINDER: this is notice 2"), "{text}");
    assert_eq!(
        listed_urls(&text),
        ["http://a.test/1.jpg", "http://b.test/3.jpg"]
    );
    // Without a re-send interval nothing notified before is sent again.
    let sent = send_due(&store, &providers(), &channel, &opts(t0 + 30 * DAY, None))
        .await
        .unwrap();
    assert!(
        sent.iter().all(|s| s.provider == "Refusing Hosting"),
        "{sent:?}"
    );
    assert_eq!(sink.messages().len(), 2);

    // Everything taken down: nothing more, ever.
    for u in [
        "http://a.test/1.jpg",
        "http://b.test/3.jpg",
        "http://r.test/4.jpg",
    ] {
        store.crawl_recheck(u, true).await.unwrap();
    }
    let sent = send_due(
        &store,
        &providers(),
        &channel,
        &opts(t0 + 90 * DAY, Some(DAY)),
    )
    .await
    .unwrap();
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn overridden_recipient_and_file_channel() {
    let sink = Sink::start();
    let store = store_with(vec![finding("http://a.test/1.jpg", "192.0.2.1", "known")]).await;
    // No provider knows 192.0.2.1: `unknown`, no contact; only the override can mail it.
    let plain = Mailer::new(
        &sink.url(),
        "reports@hotline.example",
        None,
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    let opts = SendOptions {
        crawl: None,
        template: "Subject: Takedown {count}\n\n{items}".into(),
        resend_after_ms: None,
        now: 1_000,
    };
    let sent = send_due(&store, &providers(), &Channel::Smtp(Box::new(plain)), &opts)
        .await
        .unwrap();
    assert!(
        sent[0].error.as_deref().unwrap().contains("contact"),
        "{sent:?}"
    );
    let over = Mailer::new(
        &sink.url(),
        "reports@hotline.example",
        Some("desk@hotline.example"),
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    let sent = send_due(&store, &providers(), &Channel::Smtp(Box::new(over)), &opts)
        .await
        .unwrap();
    assert_eq!(sent[0].error, None);
    let m = &sink.messages()[0];
    assert_eq!(m.rcpt_to, ["desk@hotline.example"]);
    assert_eq!(m.header("Subject").as_deref(), Some("Takedown 1"));
    assert_eq!(listed_urls(&text_part(m)), ["http://a.test/1.jpg"]);

    // The file channel: a second store, the notice written as text and JSON.
    let store = store_with(vec![finding("http://a.test/1.jpg", "127.0.0.1", "known")]).await;
    let dir = tempfile::tempdir().unwrap();
    let sent = send_due(
        &store,
        &providers(),
        &Channel::File(dir.path().into()),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(sent[0].error, None);
    let txt = std::fs::read_to_string(&sent[0].recipient).unwrap();
    assert!(
        txt.starts_with("Subject: Takedown 1\nTo: abuse@loopback.example\n\n"),
        "{txt}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(&sent[0].recipient).with_extension("json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["hosts"][0]["items"][0]["url"], "http://a.test/1.jpg");
    assert_eq!(json["sequence"], 1);
    assert_eq!(
        store.crawl_notices(None).await.unwrap()[0].notice.channel,
        "file"
    );
}

/// A provider with no e-mail contact: three passes (as `recheck --every` makes) record one
/// uncontactable notice, reported on each pass; a new finding for it (its open findings
/// changed) and then a contact in the table (it changed) each end that. Nothing is mailed
/// until there is an address.
#[tokio::test]
async fn uncontactable_providers_are_recorded_once() {
    let sink = Sink::start();
    let store = store_with(vec![
        finding("http://a.test/1.jpg", "10.9.0.1", "known"),
        finding("http://a.test/2.jpg", "10.9.0.2", "known"),
    ])
    .await;
    let table = |contact: &str| {
        Providers::parse(
            &format!("10.9.0.0/16,Formonly Hosting,{contact}\n"),
            "p.csv",
        )
        .unwrap()
    };
    let mailer = || {
        Channel::Smtp(Box::new(
            Mailer::new(
                &sink.url(),
                "reports@hotline.example",
                None,
                None,
                Duration::from_secs(10),
            )
            .unwrap(),
        ))
    };
    let opts = |now: i64| SendOptions {
        crawl: Some("c".into()),
        template: DEFAULT_TEMPLATE.into(),
        resend_after_ms: Some(DAY),
        now,
    };
    let form = table("https://formonly.example/abuse");
    for pass in 0..3 {
        let sent = send_due(&store, &form, &mailer(), &opts(1_000 + pass * 2 * DAY))
            .await
            .unwrap();
        assert_eq!(sent.len(), 1, "pass {pass}: {sent:?}");
        assert!(sent[0].uncontactable && sent[0].error.is_some(), "{sent:?}");
        assert_eq!(sent[0].recorded, pass == 0, "pass {pass}");
        assert_eq!(sent[0].urls, 2);
    }
    let rows = store.crawl_notices(Some("c")).await.unwrap();
    assert_eq!(rows.len(), 1, "three passes, one row: {rows:?}");
    assert!(rows[0].notice.uncontactable && !rows[0].sent());
    assert_eq!(rows[0].notice.findings.len(), 2);
    assert_eq!(rows[0].notice.contact, "https://formonly.example/abuse");

    // Its open findings change (one more): recorded again, once.
    let (c, _) = store.crawl_open("c", "{}").await.unwrap();
    store
        .crawl_push(
            c.id,
            &[NewFrontierEntry {
                url: "http://a.test/more".into(),
                host: "a.test".into(),
                depth: 1,
                parent_url: None,
                media: false,
            }],
        )
        .await
        .unwrap();
    let e = store.crawl_take(c.id, 1).await.unwrap();
    store
        .crawl_complete(
            c.id,
            e[0].id,
            &Completion {
                kind: "page".into(),
                findings: vec![finding("http://a.test/3.jpg", "10.9.0.3", "known")],
                ..Completion::default()
            },
        )
        .await
        .unwrap();
    for pass in 0..2 {
        let sent = send_due(&store, &form, &mailer(), &opts(10 * DAY + pass))
            .await
            .unwrap();
        assert_eq!((sent[0].urls, sent[0].recorded), (3, pass == 0));
    }
    assert_eq!(store.crawl_notices(Some("c")).await.unwrap().len(), 2);
    // An empty contact is uncontactable too, and a changed contact: a new row.
    let none = table("");
    let sent = send_due(&store, &none, &mailer(), &opts(11 * DAY))
        .await
        .unwrap();
    assert!(sent[0].uncontactable && sent[0].recorded);
    assert_eq!(store.crawl_notices(Some("c")).await.unwrap().len(), 3);
    assert!(sink.messages().is_empty(), "nothing was mailed");

    // The takedown report counts the provider's open items as uncontactable.
    let t = vigil_store::takedown(
        &store.crawl_findings(Some("c")).await.unwrap(),
        &store.crawl_notices(Some("c")).await.unwrap(),
        &|_| None,
    );
    assert_eq!(t.providers.len(), 1);
    assert_eq!(
        (
            t.providers[0].name.as_str(),
            t.providers[0].open,
            t.providers[0].uncontactable
        ),
        ("Formonly Hosting", 3, 3)
    );

    // With an address, it is mailed, and the uncontactable rows stay as history.
    let mail = table("abuse@formonly.example");
    let sent = send_due(&store, &mail, &mailer(), &opts(12 * DAY))
        .await
        .unwrap();
    assert_eq!(sent[0].error, None, "{sent:?}");
    assert!(!sent[0].uncontactable);
    assert_eq!(sink.messages()[0].rcpt_to, ["abuse@formonly.example"]);
    let t = vigil_store::takedown(
        &store.crawl_findings(Some("c")).await.unwrap(),
        &store.crawl_notices(Some("c")).await.unwrap(),
        &|_| None,
    );
    assert_eq!(t.providers[0].uncontactable, 0);
}

/// SMTPS and STARTTLS against a TLS peer on 127.0.0.1 whose certificate a test CA signed
/// (`tls/README.md`): told to trust that CA, the mailer delivers, and the sink records that
/// the message came over TLS (after `STARTTLS`, for the second). Not told, it delivers nothing:
/// SMTPS refuses the unknown issuer, and plain SMTP to loopback is refused by a server that
/// requires STARTTLS; both failures are recorded and leave the finding due.
#[tokio::test]
async fn notices_go_over_smtps_and_starttls_to_a_trusted_ca() {
    const CA: &[u8] = include_bytes!("tls/smtp-ca.crt");
    const CERT: &[u8] = include_bytes!("tls/smtp.crt");
    const KEY: &[u8] = include_bytes!("tls/smtp.key");
    for mode in [TlsMode::Implicit, TlsMode::StartTls] {
        let sink = Sink::start_tls(mode, CERT, KEY);
        let url = match mode {
            TlsMode::Implicit => sink.smtps_url(),
            TlsMode::StartTls => sink.url(),
        };
        let store = store_with(vec![finding("http://a.test/1.jpg", "127.0.0.1", "known")]).await;
        let opts = SendOptions {
            crawl: None,
            template: DEFAULT_TEMPLATE.into(),
            resend_after_ms: None,
            now: 1_000,
        };
        let mailer = |ca: Option<&[u8]>| {
            Channel::Smtp(Box::new(
                Mailer::with_ca(
                    &url,
                    "reports@hotline.example",
                    None,
                    None,
                    Duration::from_secs(10),
                    ca,
                )
                .unwrap(),
            ))
        };
        let sent = send_due(&store, &providers(), &mailer(None), &opts)
            .await
            .unwrap();
        let e = sent[0].error.as_deref().unwrap_or_default().to_string();
        match mode {
            TlsMode::Implicit => assert!(
                e.contains("certificate") || e.contains("UnknownIssuer"),
                "{mode:?}: {e}"
            ),
            TlsMode::StartTls => assert!(e.contains("STARTTLS"), "{mode:?}: {e}"),
        }
        assert!(sink.messages().is_empty(), "{mode:?}");

        let sent = send_due(&store, &providers(), &mailer(Some(CA)), &opts)
            .await
            .unwrap();
        assert_eq!(sent.len(), 1, "{mode:?}: still due after the failure");
        assert_eq!(sent[0].error, None, "{mode:?}: {sent:?}");
        let m = &sink.messages()[0];
        assert!(m.tls, "{mode:?}: the message came over TLS");
        assert_eq!(m.rcpt_to, ["abuse@loopback.example"]);
        assert_eq!(listed_urls(&text_part(m)), ["http://a.test/1.jpg"]);
        if mode == TlsMode::StartTls {
            let c = &m.commands;
            let at = c
                .iter()
                .position(|v| v == "STARTTLS")
                .expect("STARTTLS used");
            assert!(
                c[at + 1..].starts_with(&["EHLO".to_string(), "MAIL".to_string()]),
                "{c:?}"
            );
        }
        let rows = store.crawl_notices(None).await.unwrap();
        assert_eq!(
            rows.iter().map(|n| n.sent()).collect::<Vec<_>>(),
            [false, true],
            "{mode:?}"
        );
    }
    // An unusable CA file is an error naming it.
    let e = Mailer::with_ca(
        "smtps://127.0.0.1:1",
        "reports@hotline.example",
        None,
        None,
        Duration::from_secs(1),
        Some(b"not a certificate"),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("CA certificate"), "{e}");
}

#[test]
fn smtp_urls_and_addresses() {
    let m = |url: &str, from: &str| {
        Mailer::new(url, from, None, None, Duration::from_secs(1))
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(m("smtp://127.0.0.1:2525", "a@b.example"), None);
    assert_eq!(m("smtp://[::1]:2525", "a@b.example"), None);
    assert_eq!(m("smtps://mail.example:465", "a@b.example"), None);
    assert_eq!(m("smtp://mail.example", "a@b.example"), None, "STARTTLS");
    assert!(
        m("smtp://user:pw@127.0.0.1", "a@b.example")
            .unwrap()
            .contains("VIGIL_SMTP_PASSWORD")
    );
    assert!(
        m("http://127.0.0.1", "a@b.example")
            .unwrap()
            .contains("scheme")
    );
    assert!(m("smtp://127.0.0.1/x", "a@b.example").is_some());
    assert!(
        m("smtp://127.0.0.1", "not an address")
            .unwrap()
            .contains("sender")
    );

    assert_eq!(
        split_headers("To: x\nSubject: Hello there\n\nBody\n"),
        (Some("Hello there".to_string()), "Body\n")
    );
    assert_eq!(
        split_headers("Dear team,\n\nBody"),
        (None, "Dear team,\n\nBody")
    );
    assert_eq!(split_headers("Subject: only"), (None, "Subject: only"));
    assert_eq!(split_headers("\r"), (None, "\r"));
    assert_eq!(split_headers("Subject: x\n\r"), (None, "Subject: x\n\r"));
    assert_eq!(
        split_headers("Subject: x\r\n\r\nBody"),
        (Some("x".to_string()), "Body")
    );
}
