//! [`Generator`]: one synthetic request-log event at a time, formatted
//! straight into a caller's buffer.
//!
//! Each event draws a fixed number of random words, whatever it turns out to
//! be, so an incident changes only the events inside it: the same seed with
//! and without `--incident` gives the same traffic outside the incident.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail};

use super::catalog::{MIX_5XX, REGIONS, SERVICES, USER_AGENTS};
use super::incident::{Incident, IncidentKind};
use super::rng::{self, Rng};
use super::GenArgs;
use crate::time::{format_rfc3339, parse_rfc3339_str, NANOS_PER_SEC};

/// 2026-01-01T00:00:00Z, the default start, in nanoseconds since the epoch.
pub const DEFAULT_START_NS: i64 = 1_767_225_600 * NANOS_PER_SEC;

/// Share of events moved back in time, and how far at most.
const DISORDER_SHARE: f64 = 0.05;
const DISORDER_MAX_NS: f64 = 2e9;
/// Share of requests in the slow tail, and the tail's latency multiplier range.
const TAIL_SHARE: f64 = 0.01;
const TAIL_MIN: f64 = 2.0;
const TAIL_SPAN: f64 = 6.0;
/// Random words drawn per event.
const DRAWS: usize = 10;
const NANOS_PER_MS: i64 = 1_000_000;

/// Items picked by weight from 32 random bits.
#[derive(Debug, Clone)]
struct Weighted<T> {
    /// Cumulative upper bounds in 0..=2^32; the last is 2^32.
    bounds: Vec<u64>,
    items: Vec<T>,
}

impl<T> Weighted<T> {
    fn new(pairs: impl IntoIterator<Item = (T, u64)>) -> Self {
        let (items, weights): (Vec<T>, Vec<u64>) = pairs.into_iter().unzip();
        let total: u64 = weights.iter().sum::<u64>().max(1);
        let mut acc = 0;
        let bounds = weights
            .iter()
            .map(|w| {
                acc += w;
                ((u128::from(acc) << 32) / u128::from(total)) as u64
            })
            .collect();
        Weighted { bounds, items }
    }

    #[inline]
    fn pick(&self, bits: u32) -> &T {
        let x = u64::from(bits);
        let i = self
            .bounds
            .iter()
            .position(|&b| x < b)
            .unwrap_or(self.items.len() - 1);
        &self.items[i]
    }
}

/// A route with everything an event needs precomputed.
#[derive(Debug, Clone)]
struct RouteSlot {
    /// From the `Z` that closes the timestamp up to `"status":`.
    prefix: Vec<u8>,
    ln_median: f64,
    sigma: f64,
    bytes: u32,
    ok_status: u16,
    /// Thresholds for [`rng::hi_below`]: below `err_5xx` a 5xx, below
    /// `err_any` a 4xx.
    err_5xx: u64,
    err_any: u64,
    mix_4xx: Weighted<u16>,
}

/// An incident resolved against the generator's start and routes.
#[derive(Debug, Clone)]
struct Active {
    from: i64,
    to: i64,
    /// Bit `i` set when route slot `i` is affected.
    routes: u64,
    kind: IncidentKind,
}

/// Deterministic synthetic request logs; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Rng,
    remaining: u64,
    start_ns: i64,
    /// Offset of the next event's undisturbed time from `start_ns`, in ns.
    next_offset: f64,
    mean_gap_ns: f64,
    routes: Vec<RouteSlot>,
    pick_route: Weighted<usize>,
    /// `,"region":"…","bytes_sent":` per region.
    regions: Weighted<Vec<u8>>,
    /// `","user_agent":"…"}` per user agent.
    agents: Weighted<Vec<u8>>,
    mix_5xx: Weighted<u16>,
    incidents: Vec<Incident>,
    active: Vec<Active>,
    disorder: u64,
    tail: u64,
    /// Recently formatted seconds: `YYYY-MM-DDTHH:MM:SS` by second, direct
    /// mapped on the low two bits (disorder reaches back two seconds).
    seconds: [(i64, String); 4],
    /// Wait for each event's time on the wall clock.
    realtime: bool,
}

impl Generator {
    pub fn new(args: &GenArgs) -> anyhow::Result<Self> {
        if !(args.rate.is_finite() && args.rate > 0.0) {
            bail!(
                "--rate: expected a positive number of events per second, got {}",
                args.rate
            );
        }
        let start = match (&args.start, args.realtime) {
            (None, true) => Some("now"),
            (start, _) => start.as_deref(),
        };
        let start_ns = parse_start(start)?;
        let incidents = args
            .incidents
            .iter()
            .map(|s| s.parse::<Incident>())
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut routes = Vec::new();
        let mut weights = Vec::new();
        let mut owners = Vec::new();
        for (si, service) in SERVICES.iter().enumerate() {
            for route in service.routes {
                let prefix = format!(
                    "Z\",\"service\":\"{}\",\"method\":\"{}\",\"http\":{{\"route\":\"{}\",\"host\":\"{}\"}},\"status\":",
                    service.name, route.method, route.path, service.host
                );
                let err_5xx = f64::from(service.err_5xx_ppm) / 1e6;
                let err_4xx = f64::from(service.err_4xx_ppm) / 1e6;
                let mix = [400u16, 404, 429]
                    .into_iter()
                    .zip(service.mix_4xx.map(u64::from));
                routes.push(RouteSlot {
                    prefix: prefix.into_bytes(),
                    ln_median: rng::ln(route.median_ms),
                    sigma: route.sigma,
                    bytes: route.bytes,
                    ok_status: route.ok_status,
                    err_5xx: rng::threshold(err_5xx),
                    err_any: rng::threshold(err_5xx + err_4xx),
                    mix_4xx: Weighted::new(mix),
                });
                weights.push((routes.len() - 1, u64::from(service.share * route.share)));
                owners.push((si, route.path));
            }
        }
        debug_assert!(routes.len() <= 64, "route masks are u64");
        let active = incidents
            .iter()
            .map(|inc| {
                let (from, to) = inc.interval(start_ns);
                let routes = owners
                    .iter()
                    .enumerate()
                    .filter(|(_, (si, path))| inc.matches(*si, path))
                    .fold(0u64, |mask, (i, _)| mask | 1 << i);
                Active {
                    from,
                    to,
                    routes,
                    kind: inc.kind(),
                }
            })
            .collect();
        let regions = REGIONS.iter().map(|(name, w)| {
            (
                format!(",\"region\":\"{name}\",\"bytes_sent\":").into_bytes(),
                u64::from(*w),
            )
        });
        let agents = USER_AGENTS.iter().map(|(ua, w)| {
            (
                format!("\",\"user_agent\":\"{ua}\"}}").into_bytes(),
                u64::from(*w),
            )
        });
        Ok(Generator {
            rng: Rng::new(args.seed),
            remaining: if args.count == 0 {
                u64::MAX
            } else {
                args.count
            },
            start_ns,
            next_offset: 0.0,
            mean_gap_ns: 1e9 / args.rate,
            routes,
            pick_route: Weighted::new(weights),
            regions: Weighted::new(regions),
            agents: Weighted::new(agents),
            mix_5xx: Weighted::new([500u16, 502, 503].into_iter().zip(MIX_5XX.map(u64::from))),
            incidents,
            active,
            disorder: rng::threshold(DISORDER_SHARE),
            tail: rng::threshold(TAIL_SHARE),
            seconds: std::array::from_fn(|_| (i64::MIN, String::new())),
            realtime: args.realtime,
        })
    }

    /// The start of event time (whole milliseconds), in ns since the epoch.
    pub fn start_ns(&self) -> i64 {
        self.start_ns
    }

    /// The incidents, as parsed; [`Incident::interval`] with
    /// [`Self::start_ns`] gives when each is active.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// Whether events are paced to the wall clock.
    pub fn realtime(&self) -> bool {
        self.realtime
    }

    /// Events still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Appends the next event as one JSON object, without a newline, to
    /// `buf` and returns its event time in ns; `None` once `count` events
    /// were made.
    pub fn next_event(&mut self, buf: &mut Vec<u8>) -> Option<i64> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let r: [u64; DRAWS] = std::array::from_fn(|_| self.rng.next_u64());

        let t = self.event_time(r[0], r[1]);
        if self.realtime {
            // Wait until the event's time comes, so event time follows the clock.
            let now_ns = crate::time::now_ns();
            if t > now_ns {
                std::thread::sleep(std::time::Duration::from_nanos((t - now_ns) as u64));
            }
        }
        let ri = *self.pick_route.pick(r[2] as u32);
        let route = &self.routes[ri];

        let mut ok_share = 1.0;
        let mut factor = 1.0;
        for a in &self.active {
            if t >= a.from && t < a.to && a.routes & (1 << ri) != 0 {
                match a.kind {
                    IncidentKind::Errors { rate } => ok_share *= 1.0 - rate,
                    IncidentKind::Latency { factor: f } => factor *= f,
                }
            }
        }

        let mut status = if rng::hi_below(r[3], route.err_5xx) {
            *self.mix_5xx.pick(r[3] as u32)
        } else if rng::hi_below(r[3], route.err_any) {
            *route.mix_4xx.pick(r[3] as u32)
        } else {
            route.ok_status
        };
        if status < 500 && ok_share < 1.0 && rng::open01(r[4]) >= ok_share {
            status = *self.mix_5xx.pick(r[4] as u32);
        }

        let mut latency = rng::exp(route.ln_median + route.sigma * rng::normal(r[5]));
        if rng::hi_below(r[6], self.tail) {
            latency *= TAIL_MIN + TAIL_SPAN * rng::lo01(r[6]);
        }
        latency *= match status {
            503 => 0.15,
            400..=499 => 0.6,
            _ => 1.0,
        } * factor;
        let micros = ((latency * 1000.0).round() as u64).max(1);

        let bytes = if status >= 400 {
            120 + (r[8] >> 32) % 400
        } else {
            (f64::from(route.bytes) * (0.5 + rng::lo01(r[8] >> 32))) as u64
        };

        buf.extend_from_slice(b"{\"timestamp\":\"");
        self.push_time(buf, t);
        let route = &self.routes[ri];
        buf.extend_from_slice(&route.prefix);
        push_u64(buf, u64::from(status));
        buf.extend_from_slice(b",\"latency_ms\":");
        push_u64(buf, micros / 1000);
        let frac = micros % 1000;
        buf.extend_from_slice(&[
            b'.',
            DIGITS[(frac / 100) as usize],
            DIGITS[(frac / 10 % 10) as usize],
            DIGITS[(frac % 10) as usize],
        ]);
        buf.extend_from_slice(self.regions.pick((r[7] >> 32) as u32));
        push_u64(buf, bytes);
        buf.extend_from_slice(b",\"client_ip\":\"10.");
        push_u64(buf, r[8] & 0xFF);
        buf.push(b'.');
        push_u64(buf, (r[8] >> 8) & 0xFF);
        buf.push(b'.');
        push_u64(buf, 1 + ((r[8] >> 16) & 0xFF) % 254);
        buf.extend_from_slice(b"\",\"request_id\":\"");
        for shift in (0..16).rev() {
            buf.push(HEX[((r[9] >> (shift * 4)) & 0xF) as usize]);
        }
        buf.extend_from_slice(self.agents.pick(r[7] as u32));
        Some(t)
    }

    /// The time of the next event (whole milliseconds): exponential gaps,
    /// and a few events moved back a little, never before the start.
    fn event_time(&mut self, gap: u64, disorder: u64) -> i64 {
        let mut t = self.start_ns.saturating_add(self.next_offset as i64);
        self.next_offset += self.mean_gap_ns * rng::exponential(gap);
        if rng::hi_below(disorder, self.disorder) {
            t = (t - (rng::lo01(disorder) * DISORDER_MAX_NS) as i64).max(self.start_ns);
        }
        t - t.rem_euclid(NANOS_PER_MS)
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.mmm` (without the `Z`).
    fn push_time(&mut self, buf: &mut Vec<u8>, t: i64) {
        let sec = t.div_euclid(NANOS_PER_SEC);
        let slot = &mut self.seconds[(sec & 3) as usize];
        if slot.0 != sec {
            let s = format_rfc3339(sec * NANOS_PER_SEC);
            slot.1.clear();
            slot.1.push_str(s.strip_suffix('Z').unwrap_or(&s));
            slot.0 = sec;
        }
        buf.extend_from_slice(slot.1.as_bytes());
        let ms = (t.rem_euclid(NANOS_PER_SEC) / NANOS_PER_MS) as usize;
        buf.extend_from_slice(&[
            b'.',
            DIGITS[ms / 100],
            DIGITS[ms / 10 % 10],
            DIGITS[ms % 10],
        ]);
    }
}

const DIGITS: [u8; 10] = *b"0123456789";
const HEX: [u8; 16] = *b"0123456789abcdef";

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = DIGITS[(v % 10) as usize];
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// `--start`: absent for the default, `now`, or RFC 3339; truncated to whole
/// milliseconds so every event time is one.
fn parse_start(start: Option<&str>) -> anyhow::Result<i64> {
    let ns = match start.map(str::trim) {
        None => DEFAULT_START_NS,
        Some("now") => {
            let d = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|_| anyhow!("--start now: the system clock is before 1970"))?;
            i64::try_from(d.as_nanos()).map_err(|_| anyhow!("--start now: the system clock is past 2262"))?
        }
        Some(s) => parse_rfc3339_str(s).ok_or_else(|| {
            anyhow!("--start: expected an RFC 3339 time such as `2026-01-01T00:00:00Z` or `now`, got `{s}`")
        })?,
    };
    Ok(ns - ns.rem_euclid(NANOS_PER_MS))
}
