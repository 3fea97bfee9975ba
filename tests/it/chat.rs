//! The chat form against the emulator: SNS delivers the `https` form of the message to an HTTP
//! subscription (moto POSTs it to the endpoint), so a listener on 127.0.0.1 receives what Amazon
//! Q Developer would, and it is checked against the custom-notification schema.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_autopsy::app::Handled;
use ecs_autopsy::deliver::Outcome;
use serde_json::Value;

use crate::reporting::{Target, storm_stop, target};
use crate::sandbox::sandbox;

/// Bodies POSTed to a local HTTP endpoint, in arrival order.
struct Listener {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn listen() -> Listener {
    let socket = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/chat", socket.local_addr().expect("addr"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for stream in socket.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                sink.lock()
                    .expect("lock")
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    Listener { url, bodies }
}

impl Listener {
    /// The `Message` of every SNS notification received, parsed.
    fn chat_forms(&self) -> Vec<Value> {
        self.bodies
            .lock()
            .expect("lock")
            .iter()
            .map(|b| {
                let envelope: Value = serde_json::from_str(b).expect("SNS HTTP body is JSON");
                assert_eq!(envelope["Type"], "Notification");
                serde_json::from_str(envelope["Message"].as_str().expect("Message"))
                    .expect("the https form is JSON")
            })
            .collect()
    }
}

async fn subscribed(t: &Target) -> Listener {
    let l = listen();
    t.app
        .notifier
        .client
        .subscribe()
        .topic_arn(&t.app.config.topic_arn)
        .protocol("https")
        .endpoint(&l.url)
        .send()
        .await
        .expect("subscribe the chat endpoint");
    l
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(usize::MAX, |s| s.chars().count())
}

/// The custom-notification schema as documented, checked field by field on the JSON itself.
fn assert_custom_notification(n: &Value) {
    let top: Vec<&str> = n
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in &top {
        assert!(
            ["version", "source", "id", "content", "metadata"].contains(key),
            "unknown field {key}"
        );
    }
    assert_eq!(n["version"], "1.0", "version is required and must be 1.0");
    assert_eq!(
        n["source"], "custom",
        "source is required and must be custom"
    );
    let c = &n["content"];
    assert_eq!(c["textType"], "client-markdown");
    assert!(chars(&c["title"]) <= 250, "title ≤ 250");
    assert!(
        (1..=8000).contains(&chars(&c["description"])),
        "description ≤ 8000"
    );
    for step in c["nextSteps"].as_array().expect("nextSteps") {
        assert!(chars(step) <= 350, "next step ≤ 350: {step}");
    }
    for k in c["keywords"].as_array().expect("keywords") {
        assert!(chars(k) <= 75, "keyword ≤ 75: {k}");
    }
    let m = &n["metadata"];
    assert!((1..=128).contains(&chars(&m["threadId"])));
    assert!(m["summary"].is_string() && m["eventType"].is_string());
    assert!(
        m["relatedResources"]
            .as_array()
            .expect("relatedResources")
            .iter()
            .all(Value::is_string)
    );
    let context = m["additionalContext"]
        .as_object()
        .expect("additionalContext");
    assert!(context.values().all(Value::is_string));
}

fn payload(scenario: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(sandbox().event_path(scenario)).expect("event"))
        .expect("json")
}

async fn wait_for(l: &Listener, n: usize) -> Vec<Value> {
    for _ in 0..50 {
        if l.bodies.lock().expect("lock").len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    l.chat_forms()
}

#[tokio::test]
async fn chat_subscription_receives_a_custom_notification_with_the_record_key() {
    let t = target(false).await;
    let l = subscribed(&t).await;

    let handled = t
        .app
        .handle(payload("oom-leak"), Duration::from_secs(30))
        .await
        .expect("handled");

    let Handled::Done(Outcome::Archived { key, .. }) = handled else {
        panic!("not archived: {handled:?}");
    };
    let forms = wait_for(&l, 1).await;
    assert_eq!(forms.len(), 1);
    let n = &forms[0];
    assert_custom_notification(n);
    let title = n["content"]["title"].as_str().unwrap_or_default();
    assert!(title.starts_with("[CRIT] oom-leak/"), "{title}");
    assert!(title.contains("OOM-killed"), "{title}");
    assert_eq!(n["metadata"]["additionalContext"]["record"], key.as_str());
    let report = n["metadata"]["additionalContext"]["report"]
        .as_str()
        .unwrap_or_default();
    assert!(report.contains(".html"), "{report}");
    let keywords = &n["content"]["keywords"];
    assert!(
        keywords
            .as_array()
            .is_some_and(|k| k.contains(&"oom_killed".into()))
    );
    // The queue subscription still gets the JSON record, not the chat form.
    let queued = t.messages().await;
    let record: Value =
        serde_json::from_str(queued[0]["Message"].as_str().expect("Message")).expect("record");
    assert_eq!(record["diagnosis"]["cause"], "oom_killed");
}

#[tokio::test]
async fn every_message_of_a_storm_shares_one_thread() {
    let mut t = target(false).await;
    // A one-minute window with stops 40 s apart notifies every other stop.
    t.app.archive.storm_window = chrono::Duration::minutes(1);
    let l = subscribed(&t).await;
    let base = payload("oom-leak");

    for i in 0..6 {
        let p = storm_stop(&base, "chat", i);
        t.app
            .handle(p, Duration::from_secs(30))
            .await
            .expect("handled");
    }

    let forms = wait_for(&l, 3).await;
    assert!(forms.len() >= 2, "{} chat messages", forms.len());
    forms.iter().for_each(assert_custom_notification);
    let threads: std::collections::BTreeSet<&str> = forms
        .iter()
        .filter_map(|n| n["metadata"]["threadId"].as_str())
        .collect();
    assert_eq!(threads.len(), 1, "{threads:?}");
    let later = forms[1]["content"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(later.contains("archived without a notification"), "{later}");
}
