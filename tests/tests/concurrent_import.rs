//! Imports run off the request runtime (issue 16): two large address imports posted at once, while
//! three phones push their knocks and a monitor polls `/healthz`. Before imports moved to the
//! blocking pool, two concurrent imports stalled every request for 15–25 s. The bounds below are
//! a stall detector, far above normal latencies (milliseconds) — the figures themselves are
//! printed and recorded in docs/benchmarks.md, not asserted.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ROWS: usize = 30_000;

/// A synthetic CSV in the Nantes file's layout: `ROWS` addresses on 300 streets of one commune,
/// spread over a few kilometres (every row distinct: nothing is merged away).
fn addresses(tag: &str) -> String {
    let mut out = String::from("id,street,housenumber,postcode,city,lat,lon\n");
    for i in 0..ROWS {
        let (street, n) = (i / 100, i % 100 + 1);
        let lat = 47.20 + (street as f64) * 0.0002 + (n as f64) * 0.00001;
        let lon = -1.58 + (street as f64 % 17.0) * 0.001 + (n as f64) * 0.00002;
        out.push_str(&format!("{tag}-{i},Rue {tag} {street},{n},44000,NANTES,{lat:.6},{lon:.6}\n"));
    }
    out
}

/// POSTs JSON (with a bearer token when given) and reads the JSON answer.
async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut rb = http.post(url).json(&body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb.send().await.unwrap().json().await.unwrap()
}

fn max_ms(v: &[Duration]) -> f64 {
    v.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn p50_ms(v: &mut [Duration]) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_large_imports_do_not_stall_healthz_or_pushes() {
    let d = doorstep_tests::demo_server(Default::default()).await;
    let http = reqwest::Client::new();
    let base = d.base.clone();
    let coordinator = d.seeded.coordinator_token.clone();

    // Three phones join and pull their turf before the imports start.
    let mut phones = Vec::new();
    for i in 0..3 {
        let device = format!("import-phone-{i}");
        let j = post(
            &http,
            &format!("{base}/api/v1/join"),
            None,
            json!({"protocol": 1, "code": d.seeded.volunteers[i].1, "device_id": device}),
        )
        .await;
        let token = j["token"].as_str().unwrap().to_string();
        let pull = post(&http, &format!("{base}/api/v1/sync/pull"), Some(&token), json!({"protocol": 1})).await;
        let pkg = &pull["buckets"][0]["package"];
        let doors: Vec<String> =
            pkg["doors"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect();
        phones.push((token, device, j["volunteer_id"].as_str().unwrap().to_string(), pkg["turf"]["id"].clone(), doors));
    }

    let started = Instant::now();
    let imports: Vec<_> = ["alpha", "beta"]
        .into_iter()
        .map(|tag| {
            let (http, base, token, body) = (http.clone(), base.clone(), coordinator.clone(), addresses(tag));
            tokio::spawn(async move {
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/api/v1/import/addresses.csv"))
                    .bearer_auth(token)
                    .header("content-type", "text/csv")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let answer: Value = r.json().await.unwrap();
                assert!(status.is_success(), "import {tag}: {status} {answer}");
                (t.elapsed(), answer)
            })
        })
        .collect();

    // While they run: /healthz every 50 ms, and each phone pushes a knock every 100 ms.
    let monitor = {
        let (http, base) = (http.clone(), base.clone());
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while started.elapsed() < Duration::from_secs(600) {
                let t = Instant::now();
                let r = http.get(format!("{base}/healthz")).send().await.unwrap();
                assert!(r.status().is_success());
                lat.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
                if lat.len() > 20 && IMPORTS_DONE.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
            }
            lat
        })
    };
    let pushers: Vec<_> = phones
        .into_iter()
        .map(|(token, device, volunteer, turf, doors)| {
            let (http, base, clock) = (http.clone(), base.clone(), d.clock.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut accepted = 0;
                for (n, door) in doors.iter().cycle().enumerate() {
                    if n > 10 && IMPORTS_DONE.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let now = clock.load(std::sync::atomic::Ordering::SeqCst);
                    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
                        uuid::NoContext,
                        (now / 1000) as u64,
                        ((now % 1000) * 1_000_000) as u32 + n as u32,
                    ));
                    let report = json!({
                        "id": id.to_string(), "campaign_id": "demo-nantes", "turf_id": turf,
                        "target": {"kind": "door", "id": {"id": door}}, "result_code": "not_home",
                        "answers": [], "note": null, "safety_flags": [], "supersedes": null, "survey_version": 1,
                        "device_time_ms": now, "hlc": {"millis": now, "counter": n}, "monotonic_ms": n,
                        "position": null, "plausibility": [], "volunteer_id": volunteer, "device_id": device,
                    });
                    let t = Instant::now();
                    let body = json!({"protocol": 1, "device_id": device, "reports": [report]});
                    let r = post(&http, &format!("{base}/api/v1/sync/push"), Some(&token), body).await;
                    lat.push(t.elapsed());
                    if r["results"][0]["status"] == "accepted" {
                        accepted += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (lat, accepted)
            })
        })
        .collect();

    let mut import_times = Vec::new();
    for i in imports {
        let (t, answer) = i.await.unwrap();
        assert!(answer["imported"]["buildings"].as_u64().unwrap() >= ROWS as u64 - 1, "{answer}");
        import_times.push(t);
    }
    IMPORTS_DONE.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut health = monitor.await.unwrap();
    let mut pushes = Vec::new();
    let mut accepted = 0;
    for p in pushers {
        let (lat, ok) = p.await.unwrap();
        pushes.extend(lat);
        accepted += ok;
    }
    println!(
        "two imports of {ROWS} rows: {:.1} s and {:.1} s; /healthz p50 {:.1} ms max {:.1} ms over {} probes; \
         push p50 {:.1} ms max {:.1} ms over {} pushes ({accepted} accepted)",
        import_times[0].as_secs_f64(),
        import_times[1].as_secs_f64(),
        p50_ms(&mut health),
        max_ms(&health),
        health.len(),
        p50_ms(&mut pushes),
        max_ms(&pushes),
        pushes.len(),
    );
    assert!(accepted == pushes.len(), "every push during the imports was accepted ({accepted}/{})", pushes.len());
    assert!(health.len() > 20 && pushes.len() > 30, "the probes ran while the imports did");
    // Stall detectors (normal: milliseconds; the old behaviour: 15–25 s).
    assert!(max_ms(&health) < 2_000.0, "/healthz stalled: {:.0} ms", max_ms(&health));
    assert!(max_ms(&pushes) < 5_000.0, "a push stalled: {:.0} ms", max_ms(&pushes));
}

static IMPORTS_DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
