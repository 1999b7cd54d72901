//! A small closed-loop HTTP load generator for the benchmark: `concurrency` threads, each with
//! its own keep-alive connection, take request numbers from a shared counter until `requests`
//! are done or the time limit passes. Each request is built when it is sent (so a TOTP code is
//! current) and its answer is checked; latencies are kept whole for exact percentiles.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How much load: a bounded count and a bounded time, whichever ends first.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub concurrency: usize,
    pub requests: usize,
    pub time_limit: Duration,
}

/// One request as the closure builds it.
pub struct Call {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    pub load: Load,
    pub elapsed: Duration,
    /// Sorted ascending.
    pub latencies: Vec<Duration>,
    /// Answers that were not the expected ones (or transport errors).
    pub unexpected: usize,
    pub first_unexpected: Option<String>,
}

impl Outcome {
    pub fn done(&self) -> usize {
        self.latencies.len()
    }

    pub fn per_second(&self) -> f64 {
        self.done() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Runs of one load taken one after another, as one: their requests and their times added.
    pub fn sum(runs: Vec<Outcome>) -> Outcome {
        let mut runs = runs.into_iter();
        let mut total = runs.next().expect("at least one run");
        for run in runs {
            total.load.requests += run.load.requests;
            total.elapsed += run.elapsed;
            total.latencies.extend(run.latencies);
            total.unexpected += run.unexpected;
            total.first_unexpected = total.first_unexpected.or(run.first_unexpected);
        }
        total.latencies.sort_unstable();
        total
    }

    /// The nearest-rank percentile, `p` in 0..=100.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections_per_host(1)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Runs `build(i)` for i in 0..requests over `load.concurrency` connections; `check` says whether
/// a `(status, body)` answer is the expected one.
pub fn drive(
    load: Load,
    build: impl Fn(usize) -> Call + Sync,
    check: impl Fn(u16, &str) -> bool + Sync,
) -> Outcome {
    eprintln!("[bench] {} requests at concurrency {}", load.requests, load.concurrency);
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(load.requests));
    let unexpected = AtomicUsize::new(0);
    let first_unexpected = Mutex::new(None);
    let started = Instant::now();
    let deadline = started + load.time_limit;
    std::thread::scope(|scope| {
        for _ in 0..load.concurrency {
            scope.spawn(|| {
                let agent = agent();
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= load.requests || Instant::now() >= deadline {
                        break;
                    }
                    let call = build(i);
                    let sent = Instant::now();
                    let answer = send(&agent, &call);
                    mine.push(sent.elapsed());
                    let fine = answer.as_ref().is_ok_and(|(status, body)| check(*status, body));
                    if !fine {
                        unexpected.fetch_add(1, Ordering::Relaxed);
                        let mut first = first_unexpected.lock().unwrap_or_else(|e| e.into_inner());
                        if first.is_none() {
                            let what = format!(
                                "{} {} {}",
                                call.method,
                                call.url,
                                String::from_utf8_lossy(&call.body)
                            );
                            *first = Some(match answer {
                                Ok((status, body)) => {
                                    format!(
                                        "{what} → {status} {}",
                                        body.chars().take(300).collect::<String>()
                                    )
                                }
                                Err(e) => format!("{what} → {e}"),
                            });
                        }
                    }
                }
                latencies.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
            });
        }
    });
    let elapsed = started.elapsed();
    let mut latencies = latencies.into_inner().unwrap_or_else(|e| e.into_inner());
    latencies.sort_unstable();
    Outcome {
        load,
        elapsed,
        latencies,
        unexpected: unexpected.into_inner(),
        first_unexpected: first_unexpected.into_inner().unwrap_or_else(|e| e.into_inner()),
    }
}

fn send(agent: &ureq::Agent, call: &Call) -> Result<(u16, String), String> {
    let mut request = ureq::http::Request::builder().method(call.method).uri(&call.url);
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    let request = request.body(call.body.as_slice()).map_err(|e| e.to_string())?;
    let mut response = agent.run(request).map_err(|e| format!("{} {}: {e}", call.method, call.url))?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(millis: &[u64]) -> Outcome {
        Outcome {
            load: Load { concurrency: 1, requests: millis.len(), time_limit: Duration::from_secs(1) },
            elapsed: Duration::from_secs(1),
            latencies: millis.iter().map(|m| Duration::from_millis(*m)).collect(),
            unexpected: 0,
            first_unexpected: None,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let o = outcome(&(1..=100).collect::<Vec<_>>());
        assert_eq!(o.percentile(50.0), Duration::from_millis(50));
        assert_eq!(o.percentile(99.0), Duration::from_millis(99));
        assert_eq!(o.percentile(100.0), Duration::from_millis(100));
        let one = outcome(&[7]);
        assert_eq!(one.percentile(50.0), Duration::from_millis(7));
        assert_eq!(one.percentile(99.0), Duration::from_millis(7));
        assert_eq!(outcome(&[]).percentile(50.0), Duration::ZERO);
        assert_eq!(o.per_second(), 100.0);
    }

    #[test]
    fn runs_add_up_to_one() {
        let mut second = outcome(&[1, 3]);
        second.unexpected = 1;
        second.first_unexpected = Some("second".to_owned());
        let total = Outcome::sum(vec![outcome(&[5, 2]), second, outcome(&[4])]);
        assert_eq!(total.load.requests, 5);
        assert_eq!(total.elapsed, Duration::from_secs(3));
        assert_eq!(total.latencies, [1, 2, 3, 4, 5].map(Duration::from_millis));
        assert_eq!((total.unexpected, total.first_unexpected.as_deref()), (1, Some("second")));
        assert_eq!(total.per_second(), 5.0 / 3.0);
        assert_eq!(total.percentile(50.0), Duration::from_millis(3));
    }
}
